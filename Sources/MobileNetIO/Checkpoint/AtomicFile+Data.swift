#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension AtomicFile {
    /// Writes `data` to `url` so that readers, and a crash at any moment, see either the old
    /// file or the whole new one: the bytes go to a temporary file beside `url`, are flushed to
    /// disk, and the temporary file is renamed into place. For the small files that sit beside
    /// a checkpoint (training state, metrics, plots).
    ///
    /// - Throws: ``CheckpointError/fileSystem(path:operation:reason:)`` naming `url`, or
    ///   ``CheckpointError/fileExists(path:)`` when `overwrite` is false and the file exists.
    public static func write(_ data: Data, to url: URL, overwrite: Bool = true) throws {
        try write(to: url, overwrite: overwrite) { temporary in
            let descriptor = try create(temporary, destination: url.path)
            defer { close(descriptor) }
            try data.withUnsafeBytes { try append($0, to: descriptor, path: url.path) }
        }
    }
}
