import CSPNG
import Foundation

/// Class maps stored as PNG, the way Pascal VOC's `SegmentationClass/` holds them: 8-bit
/// palette PNGs whose pixel values are the class indices (the palette only colours them; 255 is
/// the "ignore" border), or plain 8-bit gray PNGs of indices. Read as indices, not colours
/// (Pillow's `Image.open(mask)` in mode `P` or `L`, as torchvision's VOC dataset reads them);
/// written as palette PNGs with VOC's colours.
public enum LabelMapPNG {
    /// Pixel values of the PNG at `url`, row by row: `width * height` of them.
    ///
    /// - Throws: ``ImageError`` naming the file: missing, unreadable, not a PNG, corrupt, or not
    ///   an 8-bit palette or gray picture (an RGB mask holds colours, not classes).
    public static func read(contentsOf url: URL) throws -> (width: Int, height: Int, labels: [UInt8]) {
        let data: Data
        do {
            data = try RegularFile.read(url.path)
        } catch .notFound {
            throw ImageError.fileNotFound(path: url.path)
        } catch {
            throw ImageError.unreadableFile(path: url.path, reason: error.reason)
        }
        return try decode(data, source: url.path)
    }

    /// The same for PNG bytes in memory; `source` names them in errors.
    public static func decode(_ data: Data, source: String) throws -> (width: Int, height: Int, labels: [UInt8]) {
        guard !data.isEmpty else { throw ImageError.empty(source: source) }
        guard ImageFormat(detecting: data) == .png else {
            throw ImageError.unsupportedFormat(source: source, format: "not a PNG (a class map is an 8-bit palette or gray PNG)")
        }
        return try data.withUnsafeBytes { bytes in
            guard let context = spng_ctx_new(0) else {
                throw ImageError.corrupt(source: source, format: .png, message: "could not create a libspng context")
            }
            defer { spng_ctx_free(context) }
            func check(_ status: Int32) throws {
                guard status != 0 else { return }
                let message = String(cString: spng_strerror(status))
                if status == SPNG_IO_EOF.rawValue || status == Int32(SPNG_EOF.rawValue) {
                    throw ImageError.truncated(source: source, format: .png, message: message)
                }
                throw ImageError.corrupt(source: source, format: .png, message: message)
            }
            try check(spng_set_chunk_limits(context, PNGDecoder.chunkLimit, PNGDecoder.chunkLimit))
            try check(spng_set_png_buffer(context, bytes.baseAddress, bytes.count))
            var header = spng_ihdr()
            try check(spng_get_ihdr(context, &header))
            let (width, height) = (Int(header.width), Int(header.height))
            try ImageDecoder.checkDimensions(width: width, height: height, fileSize: bytes.count, source: source)
            let indexed = header.color_type == UInt8(SPNG_COLOR_TYPE_INDEXED.rawValue)
            let gray = header.color_type == UInt8(SPNG_COLOR_TYPE_GRAYSCALE.rawValue)
            guard (indexed || gray), header.bit_depth == 8 else {
                throw ImageError.unsupportedFormat(
                    source: source,
                    format: "a PNG of color type \(header.color_type) at \(header.bit_depth) bits; a class map is an 8-bit palette or gray PNG")
            }
            // SPNG_FMT_PNG: the samples as stored, so palette indices stay indices.
            let format = Int32(SPNG_FMT_PNG.rawValue)
            var byteCount = 0
            try check(spng_decoded_image_size(context, format, &byteCount))
            guard byteCount == width * height else {
                throw ImageError.corrupt(source: source, format: .png, message: "libspng wants \(byteCount) bytes for a \(width)x\(height) class map")
            }
            var labels = [UInt8](repeating: 0, count: byteCount)
            try check(labels.withUnsafeMutableBytes { spng_decode_image(context, $0.baseAddress, $0.count, format, 0) })
            return (width, height, labels)
        }
    }

    /// Pascal VOC's colour of class `index` (its `color_map`: the index's bits spread over the
    /// high bits of red, green and blue); 255 comes out near white, as in VOC's masks.
    public static func vocColor(_ index: UInt8) -> (UInt8, UInt8, UInt8) {
        var (r, g, b) = (UInt8(0), UInt8(0), UInt8(0))
        var c = index
        for shift in stride(from: 7, through: 0, by: -1) {
            r |= ((c >> 0) & 1) << UInt8(shift)
            g |= ((c >> 1) & 1) << UInt8(shift)
            b |= ((c >> 2) & 1) << UInt8(shift)
            c >>= 3
        }
        return (r, g, b)
    }

    /// The palette PNG bytes of a class map, coloured with ``vocColor(_:)``.
    public static func encode(width: Int, height: Int, labels: [UInt8]) throws -> Data {
        guard width >= 1, height >= 1, labels.count == width * height, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw ImageError.malformedImage(source: "class map", width: width, height: height, byteCount: labels.count)
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
        header.width = UInt32(width)
        header.height = UInt32(height)
        header.bit_depth = 8
        header.color_type = UInt8(SPNG_COLOR_TYPE_INDEXED.rawValue)
        try check(spng_set_ihdr(context, &header))
        var palette = spng_plte()
        palette.n_entries = 256
        withUnsafeMutableBytes(of: &palette.entries) { raw in
            let entries = raw.bindMemory(to: spng_plte_entry.self)
            for index in 0..<256 {
                let (r, g, b) = vocColor(UInt8(index))
                entries[index] = spng_plte_entry(red: r, green: g, blue: b, alpha: 255)
            }
        }
        try check(spng_set_plte(context, &palette))
        try check(labels.withUnsafeBytes {
            spng_encode_image(context, $0.baseAddress, $0.count, Int32(SPNG_FMT_PNG.rawValue), Int32(SPNG_ENCODE_FINALIZE.rawValue))
        })
        var length = 0
        var error: Int32 = 0
        guard let buffer = spng_get_png_buffer(context, &length, &error), error == 0 else {
            throw ImageError.encodingFailed(format: .png, message: String(cString: spng_strerror(error)))
        }
        defer { free(buffer) }
        return Data(bytes: buffer, count: length)
    }
}
