import Foundation

// Text for error messages that must stay one readable line.

/// A readable one-line reason for an error thrown by Foundation or a library, for a message that
/// names the path itself.
///
/// Foundation's file errors print as `Error Domain=NSCocoaErrorDomain Code=4 "…" UserInfo={…}`,
/// naming the path again, sometimes over several lines. This gives the C library's text for the
/// POSIX error underneath where there is one ("No such file or directory", "Is a directory"),
/// a phrase for the common Cocoa file errors, and otherwise the error's own description, up to
/// its first line.
package func readableReason(_ error: any Error) -> String {
    let nsError = error as NSError
    if nsError.domain == NSPOSIXErrorDomain {
        return systemErrorDescription(Int32(nsError.code))
    }
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return systemErrorDescription(Int32(underlying.code))
    }
    if nsError.domain == NSCocoaErrorDomain, let code = cocoaFileErrorCodes[nsError.code] {
        return systemErrorDescription(code)
    }
    let description = "\(error)"
    return String(description.prefix { !$0.isNewline })
}

/// The `errno` values that Foundation's file error codes stand for.
private let cocoaFileErrorCodes: [Int: Int32] = [
    CocoaError.fileNoSuchFile.rawValue: ENOENT,
    CocoaError.fileReadNoSuchFile.rawValue: ENOENT,
    CocoaError.fileReadNoPermission.rawValue: EACCES,
    CocoaError.fileWriteNoPermission.rawValue: EACCES,
    CocoaError.fileWriteFileExists.rawValue: EEXIST,
    CocoaError.fileWriteOutOfSpace.rawValue: ENOSPC,
    CocoaError.fileWriteVolumeReadOnly.rawValue: EROFS,
    CocoaError.fileReadTooLarge.rawValue: EFBIG,
]

/// How errors name what a JSON document got wrong, for `DecodingError`s in one line.
package enum JSONErrorText {
    /// A coding path as JSON spells it: `state.history[2].epoch`.
    package static func path(_ keys: [any CodingKey]) -> String {
        let joined = keys.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
        return String(joined.drop { $0 == "." })
    }

    /// What JSON value a Swift type decodes from: "an object", "a list", "an integer", ...
    package static func kind(_ type: Any.Type) -> String {
        switch String(describing: type) {
        case let name where name.hasPrefix("Dictionary") || name.hasPrefix("KeyedDecodingContainer"): "an object"
        case let name where name.hasPrefix("Array") || name.hasPrefix("UnkeyedDecodingContainer"): "a list"
        case "String": "a string"
        case "Bool": "true or false"
        case "Double", "Float": "a number"
        case let name where name.hasPrefix("Int") || name.hasPrefix("UInt"): "an integer"
        case let name: name
        }
    }
}

extension String {
    /// The string with newlines, tabs and other control characters written as escapes (`\n`,
    /// `\u{1B}`), so that a key or name read from a file cannot break an error message's line.
    package var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: \.properties.generalCategory.isControl) else { return self }
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.properties.generalCategory.isControl:
                escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}

private extension Unicode.GeneralCategory {
    var isControl: Bool { self == .control }
}
