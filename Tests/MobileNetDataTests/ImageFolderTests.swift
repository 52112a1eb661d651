import Foundation
import MobileNetIO
import MobileNetTestSupport
import XCTest

@testable import MobileNetData

/// Listing a folder of class folders as torchvision's `ImageFolder` does, and its errors.
final class ImageFolderTests: XCTestCase {
    func testClassesAndSamplesInTorchvisionOrder() throws {
        let folder = try TemporaryFolder()
        // "Zebra" sorts before "ant" by code point, as in Python.
        try ImageFolderFixture.write(in: folder.url, [
            "ant/b.png": .png(red: 1), "ant/a.PNG": .png(red: 2), "ant/deeper/c.jpg": .jpeg(red: 200),
            "ant/notes.txt": .text, "ant/.hidden.png": .png(red: 9),
            "Zebra/z.jpeg": .jpeg(red: 50), ".git/x.png": .png(red: 9),
        ])
        let dataset = try ImageFolder(root: folder.url)
        XCTAssertEqual(dataset.classNames, ["Zebra", "ant"])
        let root = dataset.root.path
        XCTAssertEqual(dataset.paths, [root + "/Zebra/z.jpeg", root + "/ant/a.PNG", root + "/ant/b.png", root + "/ant/deeper/c.jpg"])
        XCTAssertEqual(dataset.labels, [0, 1, 1, 1])
        XCTAssertEqual(dataset.samplesPerClass, [1, 3])
        XCTAssertEqual(try dataset.image(at: 2).pixels[0], 1)
        XCTAssertEqual([try dataset.image(at: 0).width, try dataset.image(at: 0).height], [6, 4])
    }

    func testNestedFoldersFollowSortedWalkOrder() throws {
        // Python's sorted(os.walk(...)) orders folders by their whole path: "c/a b" < "c/a/x"
        // because a space sorts before a slash.
        let folder = try TemporaryFolder()
        try ImageFolderFixture.write(in: folder.url, [
            "c/a/x/1.png": .png(red: 1), "c/a b/2.png": .png(red: 2), "c/a/3.png": .png(red: 3), "c/0.png": .png(red: 4),
        ])
        let dataset = try ImageFolder(root: folder.url)
        let names = dataset.paths.map { String($0.dropFirst(dataset.root.path.count + 1)) }
        XCTAssertEqual(names, ["c/0.png", "c/a/3.png", "c/a b/2.png", "c/a/x/1.png"])
    }

    func testEmptyMissingAndUnreadableFolders() throws {
        let empty = try TemporaryFolder()
        XCTAssertThrowsError(try ImageFolder(root: empty.url)) { error in
            XCTAssertEqual(error as? DatasetError, .emptyFolder(path: empty.url.path))
            XCTAssertEqual(String(describing: error), "\(empty.url.path): expected one sub-folder per class, found none")
        }
        let missing = empty.url.appendingPathComponent("nothing")
        XCTAssertThrowsError(try ImageFolder(root: missing)) { error in
            XCTAssertEqual(error as? DatasetError, .notFound(path: missing.path))
        }
        let file = empty.url.appendingPathComponent("file.png")
        try Data([1]).write(to: file)
        XCTAssertThrowsError(try ImageFolder(root: file)) { error in
            XCTAssertEqual(error as? DatasetError, .unreadable(path: file.path, reason: "it is a file, expected a folder of class folders"))
        }
    }

    func testClassFolderWithoutImages() throws {
        let folder = try TemporaryFolder()
        try ImageFolderFixture.write(in: folder.url, ["cat/1.png": .png(red: 1), "dog/readme.txt": .text])
        XCTAssertThrowsError(try ImageFolder(root: folder.url)) { error in
            let path = folder.url.standardizedFileURL.path + "/dog"
            XCTAssertEqual(error as? DatasetError, .classWithoutImages(className: "dog", path: path))
            XCTAssertEqual(String(describing: error), "\(path): class 'dog' has no JPEG or PNG files; expected at least one")
        }
    }

    func testCorruptPictureThrowsWhenRead() throws {
        let folder = try TemporaryFolder()
        try ImageFolderFixture.write(in: folder.url, ["a/good.png": .png(red: 1), "a/broken.jpg": .corrupt])
        let dataset = try ImageFolder(root: folder.url)
        XCTAssertThrowsError(try dataset.image(at: 0)) { error in
            XCTAssertTrue(error is ImageError, "\(error)")
        }
        XCTAssertNoThrow(try dataset.image(at: 1))
    }

    func testStratifiedSplitIsReproducibleAndKeepsEveryClass() throws {
        let dataset = LabelledDataset(labels: Array(repeating: 0, count: 30) + Array(repeating: 1, count: 10) + [2, 2])
        let (train, validation) = try dataset.split(ValidationSplit(fraction: 0.2, seed: 11))
        // 6 of 30, 2 of 10, 1 of 2 (at least one held out, at least one kept).
        XCTAssertEqual(validation.samplesPerClass, [6, 2, 1])
        XCTAssertEqual(train.samplesPerClass, [24, 8, 1])
        XCTAssertEqual(Set(train.indices).union(validation.indices), Set(0..<42))
        XCTAssertTrue(Set(train.indices).isDisjoint(with: validation.indices))
        XCTAssertEqual(train.indices, train.indices.sorted())

        let again = try dataset.split(ValidationSplit(fraction: 0.2, seed: 11))
        XCTAssertEqual(again.validation.indices, validation.indices)
        let other = try dataset.split(ValidationSplit(fraction: 0.2, seed: 12))
        XCTAssertNotEqual(other.validation.indices, validation.indices)

        let simple = try dataset.split(ValidationSplit(fraction: 0.25, seed: 11, stratified: false))
        XCTAssertEqual(simple.validation.count, 11)
    }

    func testSplitErrors() {
        let dataset = LabelledDataset(labels: [0, 1])
        XCTAssertThrowsError(try dataset.split(ValidationSplit(fraction: 1, seed: 1))) { error in
            XCTAssertEqual(error as? DatasetError, .invalidSplit(reason: "the validation fraction must lie between 0 and 1, got 1.0"))
        }
        // One sample per class: nothing can be held out without emptying a class.
        XCTAssertThrowsError(try dataset.split(ValidationSplit(fraction: 0.5, seed: 1))) { error in
            guard case .invalidSplit? = error as? DatasetError else { return XCTFail("unexpected \(error)") }
        }
    }
}

/// Files for an image-folder test.
enum ImageFolderFixture {
    enum Content {
        case png(red: UInt8)
        case jpeg(red: UInt8)
        case text
        case corrupt
    }

    static func write(in root: URL, _ files: [String: Content]) throws {
        for (path, content) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let data: Data
            switch content {
            case let .png(red):
                data = try PNGEncoder.encode(RGBImage(width: 6, height: 4, red: red, green: 20, blue: 30))
            case let .jpeg(red):
                // No JPEG encoder here: a PNG under a .jpg name decodes all the same (the format
                // is detected from the bytes).
                data = try PNGEncoder.encode(RGBImage(width: 6, height: 4, red: red, green: 20, blue: 30))
            case .text:
                data = Data("not a picture".utf8)
            case .corrupt:
                data = Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 1, 2, 3])
            }
            try data.write(to: url)
        }
    }
}

/// A dataset of labels and generated pictures, for split and loader tests: picture `i` is 4x4
/// with every byte `i % 256`, and indices in `failing` throw as a corrupt file would.
struct LabelledDataset: ImageDataset {
    var labelList: [Int]
    var classCount_: Int
    var failing: Set<Int> = []
    var side = 4

    init(labels: [Int], failing: Set<Int> = [], side: Int = 4) {
        labelList = labels
        classCount_ = (labels.max() ?? 0) + 1
        self.failing = failing
        self.side = side
    }

    var count: Int { labelList.count }
    var classNames: [String] { (0..<classCount_).map { "class \($0)" } }
    func label(at index: Int) -> Int { labelList[index] }
    func sourceName(at index: Int) -> String { "generated #\(index)" }
    func image(at index: Int) throws -> RGBImage {
        if failing.contains(index) {
            throw ImageError.corrupt(source: "generated #\(index)", format: .jpeg, message: "made to fail")
        }
        return RGBImage(width: side, height: side, pixels: [UInt8](repeating: UInt8(index % 256), count: side * side * 3))
    }
}
