#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A whole file mapped into memory, unmapped when the last reference goes.
///
/// Tensors read from a safetensors file view their bytes here without copying
/// (``TensorStorage/init(borrowing:count:owner:)`` keeps this object alive). The mapping is
/// private and writable, so a tensor that holds its storage alone may still write in place: the
/// kernel copies the touched pages, and the file itself never changes.
final class MappedFile: @unchecked Sendable {
    let path: String
    /// The first byte, or `nil` for an empty file (an empty mapping is not allowed).
    let base: UnsafeMutableRawPointer?
    let count: Int

    /// Maps the file at `url`; a missing file is ``CheckpointError/fileNotFound(path:)``.
    init(url: URL) throws {
        path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw code == ENOENT || code == ENOTDIR
                ? CheckpointError.fileNotFound(path: path)
                : CheckpointError.fileSystem(path: path, operation: "open", reason: systemErrorDescription(code))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw CheckpointError.fileSystem(path: path, operation: "stat", reason: systemErrorDescription(errno))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw CheckpointError.fileSystem(path: path, operation: "read", reason: "not a regular file")
        }
        count = Int(status.st_size)
        guard count > 0 else {
            base = nil
            return
        }
        let mapping = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE, descriptor, 0)
        guard let mapping, mapping != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw CheckpointError.fileSystem(path: path, operation: "map", reason: systemErrorDescription(errno))
        }
        base = mapping
    }

    /// The file's bytes; valid while this object lives.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    deinit {
        if let base {
            munmap(base, count)
        }
    }
}

/// The C library's text for an `errno` value.
func systemErrorDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}
