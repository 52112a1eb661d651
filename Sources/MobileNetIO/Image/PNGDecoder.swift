import CSPNG

/// Decodes PNG through libspng straight to 8-bit RGB, which is what Pillow's `convert("RGB")`
/// gives for every PNG kind but one:
///
/// - gray (1, 2, 4, 8 bits) is scaled to 0…255 and replicated; palette entries are looked up;
/// - alpha and `tRNS` transparency are dropped, not composited onto a background;
/// - 16-bit samples keep their high byte, as Pillow's `RGB;16B`, `RGBA;16B` and `LA;16B` modes do;
/// - **16-bit gray differs from Pillow on purpose.** Pillow opens it as mode `I;16`, whose
///   conversion to RGB clips each sample at 255, so nearly every pixel turns white. Here it keeps
///   the high byte like every other 16-bit kind, which shows the picture. (`ImageDecoderTests`
///   pins both behaviours.)
///
/// Gamma, ICC profiles and `sBIT` are ignored, as Pillow ignores them.
enum PNGDecoder {
    /// A decoded picture and the `eXIf` payload (a TIFF structure), if the file has one.
    struct Result {
        var image: RGBImage
        var exif: [UInt8]?
    }

    static let chunkLimit = 1 << 26

    static func decode(_ bytes: UnsafeRawBufferPointer, source: String) throws -> Result {
        guard let context = spng_ctx_new(0) else {
            throw ImageError.corrupt(source: source, format: .png, message: "could not create a libspng context")
        }
        defer { spng_ctx_free(context) }

        func check(_ status: Int32) throws {
            guard status != 0 else { return }
            let message = String(cString: spng_strerror(status))
            // libspng reports running out of input as SPNG_IO_EOF or SPNG_EOF.
            if status == SPNG_IO_EOF.rawValue || status == Int32(SPNG_EOF.rawValue) {
                throw ImageError.truncated(source: source, format: .png, message: message)
            }
            throw ImageError.corrupt(source: source, format: .png, message: message)
        }

        // Metadata chunks (text, ICC, EXIF) get 64 MiB, so a compressed-text bomb cannot
        // exhaust memory; pixel data is bounded by the size check below instead.
        try check(spng_set_chunk_limits(context, Self.chunkLimit, Self.chunkLimit))
        // libspng keeps this pointer: every call below stays inside the caller's borrow of `bytes`.
        try check(spng_set_png_buffer(context, bytes.baseAddress, bytes.count))
        var header = spng_ihdr()
        try check(spng_get_ihdr(context, &header))
        let (width, height) = (Int(header.width), Int(header.height))
        try ImageDecoder.checkDimensions(width: width, height: height, fileSize: bytes.count, source: source)

        let format = Int32(SPNG_FMT_RGB8.rawValue)
        var byteCount = 0
        try check(spng_decoded_image_size(context, format, &byteCount))
        guard byteCount == width * height * 3 else {
            throw ImageError.corrupt(
                source: source, format: .png,
                message: "libspng wants \(byteCount) bytes for a \(width)x\(height) RGB picture")
        }
        var pixels = [UInt8](repeating: 0, count: byteCount)
        let status = pixels.withUnsafeMutableBytes { buffer in
            spng_decode_image(context, buffer.baseAddress, buffer.count, format, 0)
        }
        try check(status)

        var exif = spng_exif()
        var payload: [UInt8]?
        if spng_get_exif(context, &exif) == 0, let data = exif.data, exif.length > 0 {
            payload = Array(UnsafeRawBufferPointer(start: data, count: exif.length))
        }
        return Result(image: RGBImage(width: width, height: height, pixels: pixels), exif: payload)
    }
}
