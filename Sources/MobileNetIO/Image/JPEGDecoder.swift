import CTurboJPEG

/// Decodes JPEG through libjpeg-turbo's TurboJPEG API, the library Pillow decodes with, so the
/// pixels match Pillow's byte for byte (default accurate integer IDCT, fancy upsampling).
enum JPEGDecoder {
    /// A decoded picture and the EXIF payload (the TIFF structure), if the file has one.
    struct Result {
        var image: RGBImage
        var exif: [UInt8]?
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, source: String) throws -> Result {
        guard let handle = tjInitDecompress() else {
            throw ImageError.corrupt(source: source, format: .jpeg, message: "could not create a TurboJPEG decompressor")
        }
        defer { tjDestroy(handle) }
        let jpeg = bytes.assumingMemoryBound(to: UInt8.self)
        let size = UInt(jpeg.count)

        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        if tjDecompressHeader3(handle, jpeg.baseAddress, size, &width, &height, &subsampling, &colorspace) != 0 {
            try throwFailure(handle, jpeg: jpeg, source: source)
        }
        // libjpeg reads headers cut short before the frame header as an empty picture.
        if (width == 0 || height == 0) && !endsWithEndOfImage(jpeg) {
            throw ImageError.truncated(source: source, format: .jpeg, message: "the data ends before the frame header")
        }
        try ImageDecoder.checkDimensions(width: Int(width), height: Int(height), fileSize: bytes.count, source: source)

        // Pillow reads every 4-component JPEG as Adobe-style inverted CMYK (YCCK is turned into
        // CMYK by libjpeg first) and converts that to RGB with its own formula, reproduced below.
        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = isCMYK ? 4 : 3
        let format = isCMYK ? TJPF_CMYK : TJPF_RGB
        // TJFLAG_LIMITSCANS refuses progressive files with more than 500 scans, a denial-of-service
        // pattern; real pictures use about ten.
        let flags = TJFLAG_LIMITSCANS
        let pixelCount = Int(width) * Int(height)
        // Zero-initialized, so whatever libjpeg leaves unwritten on a failure is still defined.
        var decoded = [UInt8](repeating: 0, count: pixelCount * channels)
        let status = decoded.withUnsafeMutableBufferPointer { buffer in
            tjDecompress2(
                handle, jpeg.baseAddress, size, buffer.baseAddress, width, 0, height, Int32(format.rawValue), flags)
        }
        if status != 0 {
            try throwFailure(handle, jpeg: jpeg, source: source)
        }
        if isCMYK {
            decoded = invertedCMYKToRGB(decoded)
        }
        let image = RGBImage(width: Int(width), height: Int(height), pixels: decoded)
        return Result(image: image, exif: exifPayload(in: jpeg))
    }

    /// Turns a TurboJPEG failure into a typed error, unless it is only a warning that Pillow
    /// would also let through (e.g. "extraneous bytes before marker"). Running out of data is the
    /// one warning Pillow refuses ("image file is truncated"), so it is an error here too.
    private static func throwFailure(_ handle: tjhandle, jpeg: UnsafeBufferPointer<UInt8>, source: String) throws {
        let message = tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown TurboJPEG error"
        let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
        if message.contains("Premature end") {
            throw ImageError.truncated(source: source, format: .jpeg, message: message)
        }
        if isWarning {
            return
        }
        // A fatal error in a file that also lacks its end-of-image marker was most likely cut
        // short (e.g. inside the headers, where libjpeg reports "no image" instead).
        if !endsWithEndOfImage(jpeg) {
            throw ImageError.truncated(source: source, format: .jpeg, message: message)
        }
        throw ImageError.corrupt(source: source, format: .jpeg, message: message)
    }

    /// Whether the last two bytes are the EOI marker; a file cut short usually is not.
    private static func endsWithEndOfImage(_ jpeg: UnsafeBufferPointer<UInt8>) -> Bool {
        jpeg.count >= 4 && jpeg[jpeg.count - 2] == 0xFF && jpeg[jpeg.count - 1] == 0xD9
    }

    /// Pillow's `convert("RGB")` of a JPEG's CMYK: it stores the samples inverted (rawmode
    /// `CMYK;I`), so with `c = 255 - stored`, `k = 255 - storedK` each channel is
    /// `(255 - k) - round(c * (255 - k) / 255)`, the division done as `(t + (t >> 8)) >> 8` with
    /// `t = c * (255 - k) + 128`.
    static func invertedCMYKToRGB(_ cmyk: [UInt8]) -> [UInt8] {
        let pixelCount = cmyk.count / 4
        return [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { rgb, initialized in
            cmyk.withUnsafeBufferPointer { cmyk in
                for pixel in 0..<pixelCount {
                    let notKey = Int(cmyk[pixel * 4 + 3])  // 255 - k
                    for channel in 0..<3 {
                        let ink = 255 - Int(cmyk[pixel * 4 + channel])
                        let product = ink * notKey + 128
                        let scaled = ((product >> 8) + product) >> 8
                        rgb[pixel * 3 + channel] = UInt8(clamping: notKey - scaled)
                    }
                }
            }
            initialized = pixelCount * 3
        }
    }

    /// The TIFF structure of the `Exif\0\0` APP1 segments, found by walking the markers up to the
    /// first scan. Like Pillow, several Exif segments are concatenated (the first holds IFD0).
    static func exifPayload(in jpeg: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]
        var payload: [UInt8]?
        var offset = 2  // after SOI
        while offset + 1 < jpeg.count {
            guard jpeg[offset] == 0xFF else { return payload }
            let marker = jpeg[offset + 1]
            offset += 2
            switch marker {
            case 0xFF:
                offset -= 1  // a fill byte; the marker starts one byte later
                continue
            case 0xD8, 0x01, 0xD0...0xD7:
                continue  // markers without a length
            case 0xD9, 0xDA:
                return payload  // end of image, start of scan: no metadata beyond
            default:
                break
            }
            guard offset + 2 <= jpeg.count else { return payload }
            let length = Int(jpeg[offset]) << 8 | Int(jpeg[offset + 1])
            guard length >= 2, offset + length <= jpeg.count else { return payload }
            let segment = UnsafeBufferPointer(rebasing: jpeg[(offset + 2)..<(offset + length)])
            if marker == 0xE1, segment.starts(with: exifHeader) {
                payload = (payload ?? []) + segment.dropFirst(exifHeader.count)
            }
            offset += length
        }
        return payload
    }
}
