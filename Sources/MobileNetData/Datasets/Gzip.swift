import CMobileNetZlib
import Foundation
import MobileNetIO

/// Decompression of gzip (and zlib) streams through the system's zlib.
enum Gzip {
    /// How many times its own size a gzip file may decompress to.
    ///
    /// The IDX files of MNIST and Fashion-MNIST decompress to 2 to 5 times their size, but
    /// deflate can expand a thousandfold: a few kilobytes of zeros would become gigabytes.
    static let maximumExpansion = 64

    /// The decompressed bytes of `data`, or only the first `limit` of them; `path` names the
    /// source in errors.
    ///
    /// Inflating stops at `limit` bytes, so the output never takes more memory than that, however
    /// much the stream would expand to.
    ///
    /// Concatenated gzip members (what `cat a.gz b.gz` makes, and what `gzip -d` accepts) are
    /// decompressed one after another. Data that is not compressed at all is an error rather than
    /// passed through, so that an uncompressed file saved under a `.gz` name is reported, not
    /// parsed as garbage.
    static func decompress(_ data: Data, path: String, upTo limit: Int = .max) throws -> [UInt8] {
        guard !data.isEmpty else {
            throw DatasetError.corruptCompression(path: path, message: "the file is empty")
        }
        var stream = z_stream()
        guard czlib_inflate_init_auto(&stream) == Z_OK else {
            throw DatasetError.corruptCompression(path: path, message: "zlib could not start a decompressor")
        }
        defer { inflateEnd(&stream) }

        // IDX files compress about 4:1; start there and grow geometrically, up to the limit.
        var output = [UInt8](repeating: 0, count: min(limit, max(data.count * 4, 1 << 16)))
        var produced = 0
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            let base = input.bindMemory(to: Bytef.self).baseAddress!
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = uInt(input.count)
            while true {
                if produced == output.count {
                    if produced == limit { return }
                    output.append(contentsOf: repeatElement(0, count: min(output.count, limit - output.count)))
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

    /// The bytes of the file at `url`, with the dataset's typed errors; anything but a regular
    /// file (a FIFO, a folder) is refused unopened.
    static func readFile(_ url: URL) throws -> Data {
        do {
            return try RegularFile.read(url.path)
        } catch .notFound {
            throw DatasetError.notFound(path: url.path)
        } catch {
            throw DatasetError.unreadable(path: url.path, reason: error.reason)
        }
    }
}
