import CMobileNetZlib
import Foundation

/// Decompression of gzip (and zlib) streams through the system's zlib.
enum Gzip {
    /// The decompressed bytes of `data`; `path` names the source in errors.
    ///
    /// Concatenated gzip members (what `cat a.gz b.gz` makes, and what `gzip -d` accepts) are
    /// decompressed one after another. Data that is not compressed at all is an error rather than
    /// passed through, so that an uncompressed file saved under a `.gz` name is reported, not
    /// parsed as garbage.
    static func decompress(_ data: Data, path: String) throws -> [UInt8] {
        guard !data.isEmpty else {
            throw DatasetError.corruptCompression(path: path, message: "the file is empty")
        }
        var stream = z_stream()
        guard czlib_inflate_init_auto(&stream) == Z_OK else {
            throw DatasetError.corruptCompression(path: path, message: "zlib could not start a decompressor")
        }
        defer { inflateEnd(&stream) }

        // IDX files compress about 4:1; start there and grow geometrically.
        var output = [UInt8](repeating: 0, count: max(data.count * 4, 1 << 16))
        var produced = 0
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            let base = input.bindMemory(to: Bytef.self).baseAddress!
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = uInt(input.count)
            while true {
                if produced == output.count {
                    output.append(contentsOf: repeatElement(0, count: output.count))
                }
                let status = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    stream.next_out = buffer.baseAddress! + produced
                    stream.avail_out = uInt(buffer.count - produced)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    produced = buffer.count - Int(stream.avail_out)
                    return status
                }
                switch status {
                case Z_STREAM_END:
                    // Another member may follow; a fresh header starts it.
                    if stream.avail_in == 0 { return }
                    guard inflateReset(&stream) == Z_OK else {
                        throw DatasetError.corruptCompression(path: path, message: "cannot restart after a gzip member")
                    }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw DatasetError.corruptCompression(
                        path: path, message: "the data ends before the compressed stream does (truncated file)")
                case Z_BUF_ERROR:
                    continue
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw DatasetError.corruptCompression(path: path, message: message)
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Reads the file at `url` and decompresses it.
    static func decompress(contentsOf url: URL) throws -> [UInt8] {
        try decompress(readFile(url), path: url.path)
    }

    /// The bytes of the file at `url`, with the dataset's typed errors.
    static func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw DatasetError.notFound(path: url.path)
            }
            throw DatasetError.unreadable(
                path: url.path, reason: isDirectory.boolValue ? "it is a folder" : error.localizedDescription)
        }
    }
}
