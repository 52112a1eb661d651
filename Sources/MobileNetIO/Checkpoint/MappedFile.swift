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

    /// Maps the file at `url`; a missing file is ``CheckpointError/fileNotFound(path:)``, and
    /// anything but a regular file (a FIFO, a directory) is refused before a byte is read.
    init(url: URL) throws {
        path = url.path
        let descriptor: Int32
        do {
            (descriptor, count) = try RegularFile.openForReading(path)
        } catch {
            throw CheckpointError(error, path: path)
        }
        defer { close(descriptor) }
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

extension CheckpointError {
    /// The error for a checkpoint that could not be opened.
    init(_ failure: RegularFile.Failure, path: String) {
        self = switch failure {
        case .notFound: .fileNotFound(path: path)
        case .notRegular: .fileSystem(path: path, operation: "read", reason: failure.reason)
        case let .system(operation, reason): .fileSystem(path: path, operation: operation, reason: reason)
        }
    }
}

/// The C library's text for an `errno` value.
func systemErrorDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}
