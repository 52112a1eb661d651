#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Opening a file the user named, for reading, only if it is a regular file.
///
/// `open(2)` of a FIFO blocks until some process opens it for writing, so
/// `mobilenet convert FIFO out.safetensors` used to hang forever; a directory, socket or device is
/// no checkpoint or picture either. The file is opened with `O_NONBLOCK`, which makes opening a
/// FIFO return at once and changes nothing for a regular file, and its type is then checked with
/// `fstat` on the open descriptor, so no other file can be swapped in between the check and the
/// read. Each reader turns a ``Failure`` into its own error type, naming the path.
package enum RegularFile {
    /// Why a file could not be opened or read.
    package enum Failure: Error, Hashable, Sendable {
        /// Nothing exists at the path (or a folder on the way is missing or not a folder).
        case notFound
        /// Something exists there, but not a regular file: `kind` says what ("a directory", "a FIFO").
        case notRegular(kind: String)
        /// The system call `operation` failed with `reason`, the C library's text for `errno`
        /// (a symbolic link loop is "Too many levels of symbolic links").
        case system(operation: String, reason: String)

        /// A short phrase for error messages.
        package var reason: String {
            switch self {
            case .notFound: "no such file"
            case let .notRegular(kind): "not a regular file (\(kind))"
            case let .system(operation, reason): "could not \(operation) it: \(reason)"
            }
        }
    }

    /// Opens `path` read-only; the caller closes the descriptor.
    ///
    /// - Returns: the descriptor and the file's size in bytes.
    package static func openForReading(_ path: String) throws(Failure) -> (descriptor: Int32, size: Int) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            throw code == ENOENT || code == ENOTDIR ? .notFound : .system(operation: "open", reason: systemErrorDescription(code))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw .system(operation: "stat", reason: systemErrorDescription(code))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw .notRegular(kind: kind(of: status.st_mode))
        }
        return (descriptor, Int(status.st_size))
    }

    /// The whole file at `path`, read (not mapped: a mapped file that shrinks while it is used
    /// would crash the process).
    package static func read(_ path: String) throws(Failure) -> Data {
        let (descriptor, size) = try openForReading(path)
        defer { close(descriptor) }
        var data = Data(count: size)
        var filled = 0
        // Up to the size `fstat` gave: a file that grows meanwhile is read as it was.
        let failure: Int32? = data.withUnsafeMutableBytes { buffer in
            while filled < size {
                let count = systemRead(descriptor, buffer.baseAddress! + filled, size - filled)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if count == 0 { break }  // it shrank
                filled += count
            }
            return nil
        }
        if let failure {
            throw .system(operation: "read", reason: systemErrorDescription(failure))
        }
        data.count = filled
        return data
    }

    private static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "of file type 0o\(String(mode & S_IFMT, radix: 8))"
        }
    }
}

/// The C library's `read(2)`, which `RegularFile.read` would shadow inside the type.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
