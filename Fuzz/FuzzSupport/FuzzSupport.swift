import CFuzzSupport
import CMobileNetZlib
import Foundation
import MobileNetIO
#if canImport(Glibc)
import Glibc
#endif

/// What the libFuzzer harnesses share: a scratch folder on tmpfs for the readers that take a
/// path, and the two encoders (a stored zip, gzip) with which a harness wraps its input so that
/// the fuzzer's bytes reach the parser behind a checksum.
public enum FuzzScratch {
    /// A folder of this process, on tmpfs when there is one (`/dev/shm`), made on first use.
    public static let folder: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("mobilenet-fuzz-\(getpid())")
        try? FileManager.default.removeItem(at: url)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        // Left behind only if the process dies (libFuzzer's exit paths run atexit handlers), or
        // when MOBILENET_FUZZ_KEEP is set, to look at what a harness wrote.
        if ProcessInfo.processInfo.environment["MOBILENET_FUZZ_KEEP"] == nil {
            atexit { try? FileManager.default.removeItem(at: FuzzScratch.folder) }
        }
        return url
    }()

    /// Writes `bytes` to `name` in ``folder``, replacing it, and returns its URL.
    @discardableResult
    public static func write(_ bytes: UnsafeRawBufferPointer, name: String) -> URL {
        let url = folder.appendingPathComponent(name)
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(descriptor >= 0, "cannot create \(url.path): errno \(errno)")
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            precondition(written > 0, "cannot write \(url.path): errno \(errno)")
            offset += written
        }
        return url
    }

    @discardableResult
    public static func write(_ bytes: [UInt8], name: String) -> URL {
        bytes.withUnsafeBytes { write($0, name: name) }
    }
}

/// A zip archive of stored (uncompressed) entries, with correct CRC-32s, sizes and directory.
public enum StoredZip {
    public static func archive(_ entries: [(name: String, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var directory: [UInt8] = []
        func le16(_ value: Int, into buffer: inout [UInt8]) {
            buffer += [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)]
        }
        func le32(_ value: UInt32, into buffer: inout [UInt8]) {
            buffer += (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) }
        }
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = entry.bytes.withUnsafeBufferPointer {
                UInt32(crc32(0, $0.baseAddress, uInt($0.count)))
            }
            let offset = UInt32(out.count)
            let size = UInt32(entry.bytes.count)
            // Local header: version 2.0, no flags, stored, 1980-01-01 00:00.
            le32(0x0403_4B50, into: &out)
            le16(20, into: &out); le16(0, into: &out); le16(0, into: &out)
            le16(0, into: &out); le16(0x21, into: &out)
            le32(crc, into: &out); le32(size, into: &out); le32(size, into: &out)
            le16(name.count, into: &out); le16(0, into: &out)
            out += name
            out += entry.bytes
            // Central directory entry.
            le32(0x0201_4B50, into: &directory)
            le16(20, into: &directory); le16(20, into: &directory); le16(0, into: &directory)
            le16(0, into: &directory); le16(0, into: &directory); le16(0x21, into: &directory)
            le32(crc, into: &directory); le32(size, into: &directory); le32(size, into: &directory)
            le16(name.count, into: &directory); le16(0, into: &directory); le16(0, into: &directory)
            le16(0, into: &directory); le16(0, into: &directory); le32(0, into: &directory)
            le32(offset, into: &directory)
            directory += name
        }
        let directoryOffset = UInt32(out.count)
        out += directory
        le32(0x0605_4B50, into: &out)
        le16(0, into: &out); le16(0, into: &out)
        le16(entries.count, into: &out); le16(entries.count, into: &out)
        le32(UInt32(directory.count), into: &out); le32(directoryOffset, into: &out)
        le16(0, into: &out)
        return out
    }
}

/// gzip compression through zlib, so that a harness can feed the fuzzer's bytes to a reader of
/// `.gz` files past the stream's CRC-32.
public enum GzipEncoder {
    public static func compress(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer.
        let status = deflateInit2_(
            &stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        let produced = output.withUnsafeMutableBufferPointer { buffer -> Int in
            stream.next_in = UnsafeMutablePointer(mutating: bytes.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(bytes.count)
            stream.next_out = buffer.baseAddress
            stream.avail_out = uInt(buffer.count)
            let result = deflate(&stream, Z_FINISH)
            precondition(result == Z_STREAM_END, "deflate did not finish: \(result)")
            return buffer.count - Int(stream.avail_out)
        }
        output.removeSubrange(produced...)
        return output
    }

    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { compress($0) }
    }
}

/// The fuzzer's input as a buffer (libFuzzer passes a null pointer for an empty input).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size)
}

/// Runs libFuzzer over `test` with the process's arguments (libFuzzer's flags, corpus folders or
/// files to replay) and exits with its status.
public func runLibFuzzer(_ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}

/// A cap on the pictures the image harnesses decode, for speed.
///
/// `ImageDecoder` refuses a header that claims more RGB bytes than 1024x its file beyond 64 MiB
/// (`maximumExpansion`, `pixelBudgetFloor`), so a fuzzer input of a few kilobytes may still
/// make it allocate and zero-fill up to 64 MiB, and instrumented per-pixel loops (CMYK
/// conversion, orientation) run a few hundred such pictures a second. The harnesses skip a
/// header above `MOBILENET_FUZZ_MAX_PIXELS` (default 2^18, 512 x 512) that the decoder would
/// still accept; headers it refuses are fuzzed, since refusing them costs nothing. 0 turns the
/// cap off. Fuzz/README.md has the finding that led to the decoder's limit.
public enum ImageSizeCap {
    public static let maximumPixels: Int = {
        ProcessInfo.processInfo.environment["MOBILENET_FUZZ_MAX_PIXELS"].flatMap { Int($0) } ?? 1 << 18
    }()

    /// Whether to skip `bytes`: its PNG `IHDR` or JPEG frame header declares a size above the cap
    /// that the decoder would still allocate for.
    public static func skips(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard maximumPixels > 0, let (width, height) = declaredSize(bytes) else { return false }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        let budget = max(ImageDecoder.pixelBudgetFloor, bytes.count * ImageDecoder.maximumExpansion)
        return !overflow && pixels > maximumPixels && pixels <= ImageDecoder.maximumPixelCount && pixels * 3 <= budget
    }

    static func declaredSize(_ bytes: UnsafeRawBufferPointer) -> (Int, Int)? {
        func big(_ offset: Int, _ count: Int) -> Int? {
            guard offset >= 0, offset + count <= bytes.count else { return nil }
            return (offset..<offset + count).reduce(0) { $0 << 8 | Int(bytes[$1]) }
        }
        if bytes.count >= 24, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 {
            guard let width = big(16, 4), let height = big(20, 4) else { return nil }
            return (width, height)
        }
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        // The largest frame header (SOF0...SOF15 but DHT, JPG, DAC) anywhere: libjpeg takes
        // the first, and a skipped input costs nothing.
        var largest: (Int, Int)?
        var offset = 2
        while offset + 9 <= bytes.count {
            if bytes[offset] == 0xFF, (0xC0...0xCF).contains(bytes[offset + 1]), ![0xC4, 0xC8, 0xCC].contains(bytes[offset + 1]),
               let height = big(offset + 5, 2), let width = big(offset + 7, 2),
               width * height > (largest.map { $0.0 * $0.1 } ?? -1) {
                largest = (width, height)
            }
            offset += 1
        }
        return largest
    }
}

/// The image harnesses' body: `ImageDecoder.decode(_:source:)` on the input held in memory, EXIF
/// orientation applied, as `classify` and the image-folder loader decode a picture; a decoded
/// picture must hold width x height x 3 bytes. The format is chosen by the leading bytes, so
/// each harness's seeds steer it to its decoder.
public func fuzzImageDecoder(_ input: UnsafeRawBufferPointer, source: String) {
    if ImageSizeCap.skips(input) { return }
    if let image = try? ImageDecoder.decode(Data(input), source: source) {
        precondition(image.isWellFormed && image.width > 0 && image.height > 0, "decoded \(image) is malformed")
    }
}
