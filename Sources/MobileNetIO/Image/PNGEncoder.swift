import CSPNG
import Foundation

/// Writes ``RGBImage``s as 8-bit RGB PNG files (through libspng), for the pictures the project
/// draws: plots, confusion matrices, sample grids.
public enum PNGEncoder {
    /// The PNG file bytes of `image`.
    public static func encode(_ image: RGBImage) throws -> Data {
        guard image.isWellFormed, image.width <= Int(UInt32.max), image.height <= Int(UInt32.max) else {
            throw ImageError.malformedImage(
                source: "PNG encoder input", width: image.width, height: image.height, byteCount: image.pixels.count)
        }
        guard let context = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else {
            throw ImageError.encodingFailed(format: .png, message: "could not create a libspng encoder")
        }
        defer { spng_ctx_free(context) }

        func check(_ status: Int32) throws {
            guard status != 0 else { return }
            throw ImageError.encodingFailed(format: .png, message: String(cString: spng_strerror(status)))
        }

        try check(spng_set_option(context, SPNG_ENCODE_TO_BUFFER, 1))
        var header = spng_ihdr()
        header.width = UInt32(image.width)
        header.height = UInt32(image.height)
        header.bit_depth = 8
        header.color_type = UInt8(SPNG_COLOR_TYPE_TRUECOLOR.rawValue)
        try check(spng_set_ihdr(context, &header))
        let status = image.pixels.withUnsafeBytes { pixels in
            spng_encode_image(
                context, pixels.baseAddress, pixels.count, Int32(SPNG_FMT_PNG.rawValue),
                Int32(SPNG_ENCODE_FINALIZE.rawValue))
        }
        try check(status)

        var length = 0
        var error: Int32 = 0
        guard let buffer = spng_get_png_buffer(context, &length, &error), error == 0 else {
            throw ImageError.encodingFailed(format: .png, message: String(cString: spng_strerror(error)))
        }
        // The buffer is malloc'ed by libspng and handed to us.
        defer { free(buffer) }
        return Data(bytes: buffer, count: length)
    }

    /// Encodes `image` and writes it to `url` atomically (a reader never sees half a file).
    public static func write(_ image: RGBImage, to url: URL) throws {
        let data = try encode(image)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw ImageError.unwritableFile(path: url.path, reason: readableReason(error))
        }
    }
}
