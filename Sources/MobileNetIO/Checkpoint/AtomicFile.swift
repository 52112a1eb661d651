#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes files so that a reader (or a crash) never sees half of one: the content goes to a
/// temporary file beside the destination, is flushed to disk, and is then renamed into place,
/// which the file system does atomically within one directory.
public enum AtomicFile {
    /// Creates or replaces the file at `url` with what `write` puts into the temporary file whose
    /// URL it is given (the file does not exist yet).
    ///
    /// - Parameter overwrite: whether an existing file at `url` may be replaced; if not, it is
    ///   ``CheckpointError/fileExists(path:)``, checked before writing and again, atomically, when
    ///   the file is put in place.
    static func write(to url: URL, overwrite: Bool, _ write: (URL) throws -> Void) throws {
        let path = url.path
        // Checked first so that a refused write costs nothing; the link below decides for certain.
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw CheckpointError.fileExists(path: path)
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).partial")
        // After a successful rename the temporary name no longer exists and this does nothing.
        defer { unlink(temporary.path) }
        try write(temporary)
        try synchronize(temporary.path, destination: path)
        if overwrite {
            guard rename(temporary.path, path) == 0 else {
                throw CheckpointError.fileSystem(path: path, operation: "rename into place", reason: systemErrorDescription(errno))
            }
            return
        }
        // link(2) fails with EEXIST if the destination appeared meanwhile: no file is ever replaced.
        if link(temporary.path, path) == 0 {
            return
        }
        let code = errno
        if code == EEXIST {
            throw CheckpointError.fileExists(path: path)
        }
        // File systems without hard links: fall back to the earlier check and a rename.
        guard !FileManager.default.fileExists(atPath: path), rename(temporary.path, path) == 0 else {
            throw CheckpointError.fileSystem(path: path, operation: "move into place", reason: systemErrorDescription(code))
        }
    }

    /// Creates `url` (which must not exist) for writing with ``append(_:to:path:)``.
    static func create(_ url: URL, destination: String) throws -> Int32 {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CheckpointError.fileSystem(path: destination, operation: "create", reason: systemErrorDescription(errno))
        }
        return descriptor
    }

    /// Writes all of `bytes`, resuming after partial writes.
    static func append(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws {
        var written = 0
        while written < bytes.count {
            let result = systemWrite(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw CheckpointError.fileSystem(path: path, operation: "write", reason: systemErrorDescription(errno))
            }
            written += result
        }
    }

    /// Flushes the written file to disk, so that the rename never exposes an empty file after a crash.
    private static func synchronize(_ temporary: String, destination: String) throws {
        let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CheckpointError.fileSystem(path: destination, operation: "reopen to flush", reason: systemErrorDescription(errno))
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw CheckpointError.fileSystem(path: destination, operation: "flush to disk", reason: systemErrorDescription(errno))
        }
    }
}

/// The C library's `write(2)`, which `AtomicFile.write` would shadow inside the type.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
