import Foundation

/// One readable line for the errors Foundation throws from file operations, which describe
/// themselves as `Error Domain=NSCocoaErrorDomain Code=516 "…" UserInfo={…}`: the path and the
/// reason in words (`/tmp/run: a file or folder of that name already exists`). Errors of other
/// kinds give nil and are reported as they describe themselves.
enum FileErrorMessage {
    static func line(for error: any Error) -> String? {
        let error = error as NSError
        switch error.domain {
        case NSCocoaErrorDomain:
            // The POSIX error underneath, when there is one, is the more precise reason: a
            // "could not be written" (512) is often "a part of the path is not a folder".
            // (On Linux it may be stored as a Swift `POSIXError`, which `as? NSError` misses.)
            let underlying = (error.userInfo[NSUnderlyingErrorKey] as? any Error)
                .map { $0 as NSError }
                .flatMap { $0.domain == NSPOSIXErrorDomain ? reason(errno: Int32($0.code)) : nil }
            return located(underlying ?? reason(cocoaCode: error.code), error)
        case NSPOSIXErrorDomain:
            return located(reason(errno: Int32(error.code)), error)
        default:
            return nil
        }
    }

    /// `PATH: reason` with the path the error names, or the reason alone.
    private static func located(_ reason: String, _ error: NSError) -> String {
        if let path = error.userInfo[NSFilePathErrorKey] as? String { return "\(path): \(reason)" }
        if let url = error.userInfo[NSURLErrorKey] as? URL { return "\(url.path): \(reason)" }
        return reason
    }

    /// The reasons file operations most often fail for, in words; others as the C library says them.
    static func reason(errno code: Int32) -> String {
        switch code {
        case EEXIST: "a file or folder of that name already exists"
        case ENOENT: "no such file or folder"
        case ENOTDIR: "a part of the path is a file, not a folder"
        case EISDIR: "is a folder, not a file"
        case EACCES, EPERM: "no permission"
        case ENOSPC: "no space left on the device"
        case EROFS: "the file system is read-only"
        case ELOOP: "too many symbolic links (a loop?)"
        case ENAMETOOLONG: "the name is too long"
        case ENOTEMPTY: "the folder is not empty"
        default: String(cString: strerror(code)).lowercased()
        }
    }

    static func reason(cocoaCode code: Int) -> String {
        switch CocoaError.Code(rawValue: code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: reason(errno: ENOENT)
        case .fileWriteFileExists: reason(errno: EEXIST)
        case .fileReadNoPermission, .fileWriteNoPermission: reason(errno: EACCES)
        case .fileWriteOutOfSpace: reason(errno: ENOSPC)
        case .fileWriteVolumeReadOnly: reason(errno: EROFS)
        case .fileWriteInvalidFileName, .fileReadInvalidFileName: "not a valid file name"
        case .fileReadTooLarge: "too large to read"
        case .fileReadCorruptFile: "could not be read: the contents are damaged"
        case .fileReadInapplicableStringEncoding: "could not be read as text"
        case .fileLocking: "could not be locked"
        case .fileReadUnknown: "could not be read"
        case .fileWriteUnknown: "could not be written"
        default: "file operation failed (Foundation error \(code))"
        }
    }
}
