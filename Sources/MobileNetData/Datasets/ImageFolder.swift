import Foundation
import MobileNetIO

/// Pictures sorted into one sub-folder per class, as torchvision's `ImageFolder` reads them:
///
/// ```text
/// flowers/daisy/0001.jpg        class 0
/// flowers/daisy/more/0002.png   class 0 (nested folders belong to their class)
/// flowers/rose/a.jpg            class 1
/// ```
///
/// Class names are the sub-folder names sorted by Unicode code point (Python's `sorted`), and a
/// class's index is its position in that order. Files are found recursively, folders visited in
/// sorted path order and files sorted within each, so the sample order matches torchvision's.
/// Only JPEG and PNG files are taken (by extension, case-insensitively); other files are ignored.
/// Entries whose names start with a dot (`.DS_Store`, `.git`) are skipped, where torchvision
/// would take a hidden folder as a class.
///
/// Listing happens once, in the initializer; pictures are decoded when asked for, so a corrupt
/// file surfaces only when its sample is drawn (a ``BatchLoader`` skips it with a warning).
public struct ImageFolder: ImageDataset {
    /// The extensions taken, lowercased.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    public let root: URL
    public let classNames: [String]
    /// Every picture's path, in sample order.
    public let paths: [String]
    /// Every picture's class index, in sample order.
    public let fileLabels: [Int]
    /// Whether pictures are turned upright by their EXIF orientation. torchvision's loader does
    /// not (it opens files with `Image.open(f).convert("RGB")`), so the default is `false`.
    public let appliesExifOrientation: Bool

    /// Lists the dataset under `root`.
    ///
    /// - Throws: ``DatasetError``: `root` missing (``DatasetError/notFound(path:)``), not a folder
    ///   or unreadable (``DatasetError/unreadable(path:reason:)``), without class folders
    ///   (``DatasetError/emptyFolder(path:)``), or with a class folder that holds no picture
    ///   (``DatasetError/classWithoutImages(className:path:)``).
    public init(root: URL, appliesExifOrientation: Bool = false) throws {
        let rootPath = root.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: rootPath, isDirectory: &isDirectory) else {
            throw DatasetError.notFound(path: rootPath)
        }
        guard isDirectory.boolValue else {
            throw DatasetError.unreadable(path: rootPath, reason: "it is a file, expected a folder of class folders")
        }
        let classNames = try Self.visibleEntries(of: rootPath).filter { Self.isFolder(rootPath + "/" + $0) }
        guard !classNames.isEmpty else { throw DatasetError.emptyFolder(path: rootPath) }

        var paths: [String] = []
        var labels: [Int] = []
        for (label, name) in classNames.enumerated() {
            let classPath = rootPath + "/" + name
            let files = try Self.pictures(under: classPath)
            guard !files.isEmpty else { throw DatasetError.classWithoutImages(className: name, path: classPath) }
            paths += files
            labels += repeatElement(label, count: files.count)
        }
        self.root = URL(fileURLWithPath: rootPath)
        self.classNames = classNames
        self.paths = paths
        fileLabels = labels
        self.appliesExifOrientation = appliesExifOrientation
    }

    public var count: Int { paths.count }
    public func label(at index: Int) -> Int { fileLabels[index] }
    public func sourceName(at index: Int) -> String { paths[index] }

    /// Decodes picture `index`.
    ///
    /// - Throws: ``ImageError`` naming the file when it is unreadable, not a JPEG or PNG, or corrupt.
    public func image(at index: Int) throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: paths[index]), applyingExifOrientation: appliesExifOrientation)
    }

    /// The picture files under `folder`, recursively: folders in sorted path order (as Python's
    /// `sorted(os.walk(folder))`), files sorted within each. Symbolic links are followed, each
    /// real folder visited once, so a link loop ends.
    private static func pictures(under folder: String) throws -> [String] {
        var folders: [String] = []
        var visited: Set<String> = []
        var pending = [folder]
        while let current = pending.popLast() {
            let real = URL(fileURLWithPath: current).resolvingSymlinksInPath().path
            guard visited.insert(real).inserted else { continue }
            folders.append(current)
            for name in try visibleEntries(of: current) where isFolder(current + "/" + name) {
                pending.append(current + "/" + name)
            }
        }
        folders.sort(by: codePointOrder)
        var files: [String] = []
        for current in folders {
            for name in try visibleEntries(of: current) {
                let path = current + "/" + name
                let fileExtension = (name as NSString).pathExtension.lowercased()
                if imageExtensions.contains(fileExtension), !isFolder(path) { files.append(path) }
            }
        }
        return files
    }

    /// The names in `folder` that do not start with a dot, in code-point order.
    private static func visibleEntries(of folder: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder)
                .filter { !$0.hasPrefix(".") }
                .sorted(by: codePointOrder)
        } catch {
            throw DatasetError.unreadable(path: folder, reason: readableReason(error))
        }
    }

    private static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Python's string order: by Unicode code point. Swift's `<` compares canonically equivalent
    /// strings as equal, which could reorder classes named with combining characters.
    static func codePointOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.unicodeScalars.lexicographicallyPrecedes(rhs.unicodeScalars) { $0.value < $1.value }
    }
}
