/// A dataset could not be read: a missing or unreadable file or folder, a file whose contents are
/// not what its format promises, or a folder that holds no usable images.
///
/// Every case names the file or folder at fault and says what was expected and what was found,
/// so one line is enough to act on it.
public enum DatasetError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No file or folder exists at the path.
    case notFound(path: String)
    /// The file or folder exists but could not be read (no permission, not a folder, an I/O error).
    case unreadable(path: String, reason: String)
    /// The gzip stream is damaged or ends early; `message` is zlib's.
    case corruptCompression(path: String, message: String)
    /// An IDX header that does not fit the file: wrong magic number, element type, rank,
    /// dimensions or length.
    case malformedIDX(path: String, expected: String, found: String)
    /// A label outside the dataset's classes.
    case labelOutOfRange(path: String, index: Int, label: Int, classCount: Int)
    /// The image file and the label file of one split disagree on how many samples there are.
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    /// A dataset folder without any class sub-folder.
    case emptyFolder(path: String)
    /// A class sub-folder without a single JPEG or PNG file.
    case classWithoutImages(className: String, path: String)
    /// A split or subset request that the dataset cannot satisfy.
    case invalidSplit(reason: String)

    public var description: String {
        switch self {
        case let .notFound(path):
            "\(path): no such file or folder"
        case let .unreadable(path, reason):
            "\(path): cannot read it: \(reason)"
        case let .corruptCompression(path, message):
            "\(path): corrupt gzip data: \(message)"
        case let .malformedIDX(path, expected, found):
            "\(path): expected \(expected), found \(found)"
        case let .labelOutOfRange(path, index, label, classCount):
            "\(path): label \(index) is \(label), expected a class index below \(classCount)"
        case let .countMismatch(images, imageCount, labels, labelCount):
            "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels; expected the same count"
        case let .emptyFolder(path):
            "\(path): expected one sub-folder per class, found none"
        case let .classWithoutImages(className, path):
            "\(path): class '\(className)' has no JPEG or PNG files; expected at least one"
        case let .invalidSplit(reason):
            "cannot split the dataset: \(reason)"
        }
    }
}
