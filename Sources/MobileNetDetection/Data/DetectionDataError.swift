import MobileNetIO

/// A detection dataset could not be read or written: a missing or oversized annotation file, one
/// that is not JSON or not COCO's layout, an entry missing a field or holding a wrong value, two
/// entries with one id, a picture whose size is not the one its annotation states.
///
/// Every case names the file, the entry (`annotations[17]`) and the field where there is one, and
/// says what was expected and what was found, so one line is enough to act on it.
public enum DetectionDataError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No file or folder exists at the path.
    case notFound(path: String)
    /// The file or folder exists but could not be read.
    case unreadable(path: String, reason: String)
    /// The file or folder could not be written (a missing folder, no permission, a full disk).
    case unwritable(path: String, reason: String)
    /// The annotation file is larger than the reader accepts; refused before reading it.
    case fileTooLarge(path: String, size: Int, limit: Int)
    /// The file is not JSON at all; `reason` is the parser's.
    case notJSON(path: String, reason: String)
    /// An entry (`""` for the top level) lacks a field it needs.
    case missingField(path: String, entry: String, field: String, expected: String)
    /// A field holds a value of the wrong kind or outside what is allowed.
    case invalidField(path: String, entry: String, field: String, expected: String, found: String)
    /// Two entries of one list share an id.
    case duplicateID(path: String, entry: String, id: Int, firstEntry: String)
    /// A decoded picture's size differs from the one its annotation states.
    case imageSizeMismatch(path: String, expectedWidth: Int, expectedHeight: Int, width: Int, height: Int)
    /// A generator or writer asked for something it cannot do.
    case invalidConfiguration(reason: String)

    /// One line: control characters in paths or names from the file are escaped.
    public var description: String {
        text.escapingControlCharacters
    }

    private var text: String {
        switch self {
        case let .notFound(path):
            "\(path): no such file or folder"
        case let .unreadable(path, reason):
            "\(path): cannot read it: \(reason)"
        case let .unwritable(path, reason):
            "\(path): cannot write it: \(reason)"
        case let .fileTooLarge(path, size, limit):
            "\(path): the file is \(size) bytes, more than the limit of \(limit) for an annotation file"
        case let .notJSON(path, reason):
            "\(path): expected a COCO annotation file in JSON, found something else: \(reason)"
        case let .missingField(path, entry, field, expected):
            "\(path): \(Self.place(entry)) has no '\(field)', expected \(expected)"
        case let .invalidField(path, entry, field, expected, found):
            "\(path): \(Self.place(entry, field)) is \(found), expected \(expected)"
        case let .duplicateID(path, entry, id, firstEntry):
            "\(path): \(entry) has id \(id), which \(firstEntry) already has; expected unique ids"
        case let .imageSizeMismatch(path, expectedWidth, expectedHeight, width, height):
            "\(path): the picture is \(width)x\(height), expected \(expectedWidth)x\(expectedHeight) as its annotation says"
        case let .invalidConfiguration(reason):
            reason
        }
    }

    /// "annotations[17]", or "the top level" for a field outside every list.
    private static func place(_ entry: String) -> String {
        entry.isEmpty ? "the top level" : entry
    }

    /// "annotations[17] 'bbox'", "the top level 'images'", or "the document" when the whole file
    /// is at fault (`entry` and `field` both empty).
    private static func place(_ entry: String, _ field: String) -> String {
        entry.isEmpty && field.isEmpty ? "the document" : "\(place(entry)) '\(field)'"
    }
}
