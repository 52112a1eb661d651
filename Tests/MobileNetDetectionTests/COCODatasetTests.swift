import Foundation
import MobileNetIO
import MobileNetTestSupport
import XCTest

@testable import MobileNetDetection

/// Reading COCO's `instances.json`: the label map, clipping, crowds, what is skipped and counted,
/// and an error naming the file, entry and field for each kind of bad input.
final class COCODatasetTests: XCTestCase {
    /// `Fixtures/coco-instances.json` beside its pictures `images/a.png` (8x6) and `images/b.png`
    /// (5x4), each filled with one color; `images/gone.png` is left missing.
    private func fixtureFolder() throws -> (TemporaryFolder, URL) {
        let folder = try TemporaryFolder()
        let source = try XCTUnwrap(Bundle.module.url(forResource: "coco-instances", withExtension: "json", subdirectory: "Fixtures"))
        let file = folder.url.appendingPathComponent("instances.json")
        try FileManager.default.copyItem(at: source, to: file)
        try writePicture(RGBImage(width: 8, height: 6, red: 200, green: 10, blue: 10), "images/a.png", in: folder.url)
        try writePicture(RGBImage(width: 5, height: 4, red: 10, green: 200, blue: 10), "images/b.png", in: folder.url)
        return (folder, file)
    }

    private func writePicture(_ image: RGBImage, _ name: String, in folder: URL) throws {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PNGEncoder.encode(image).write(to: url)
    }

    func testLabelsFollowAscendingCategoryIDsBothWays() throws {
        let (folder, file) = try fixtureFolder()
        let coco = try COCODetectionDataset(annotationsFile: file, imageFolder: folder.url)
        XCTAssertEqual(coco.classNames, ["background", "person", "dog", "toothbrush"])
        XCTAssertEqual(coco.labelCount, 4)
        XCTAssertEqual(coco.categoryIDs, [1, 18, 90])
        XCTAssertEqual((1...3).map(coco.categoryID(forLabel:)), [1, 18, 90])
        XCTAssertEqual([1, 18, 90, 55].map(coco.label(forCategoryID:)), [1, 2, 3, nil])
    }

    func testBoxesClippedCrowdsFlaggedAndSkipsCounted() throws {
        let (folder, file) = try fixtureFolder()
        let coco = try COCODetectionDataset(annotationsFile: file, imageFolder: folder.url)
        XCTAssertEqual(coco.count, 2)
        XCTAssertEqual(coco.images.map(\.id), [42, 7])
        XCTAssertEqual(coco.sourceName(at: 1), folder.url.standardizedFileURL.path + "/images/b.png")

        let first = coco.annotation(at: 0)
        XCTAssertEqual(first.imageID, 42)
        XCTAssertEqual([first.width, first.height], [8, 6])
        XCTAssertEqual(first.boxes, [BoundingBox(x1: 1, y1: 1, x2: 4, y2: 3), BoundingBox(x1: 6.5, y1: 0, x2: 8, y2: 2)])
        XCTAssertEqual(first.labels, [2, 1])
        XCTAssertEqual(first.isCrowd, [false, true])
        XCTAssertEqual(first.areas, [5.5, 3], "the file's area where it gives one, else the clipped box's")

        let second = coco.annotation(at: 1)
        XCTAssertEqual(second.boxes, [BoundingBox(x1: 0, y1: 0, x2: 5, y2: 4)])
        XCTAssertEqual(second.labels, [3])

        XCTAssertEqual(coco.skipped.annotations, [.zeroSize: 1, .outsideImage: 1, .unknownCategory: 1, .unknownImage: 1, .skippedImage: 1])
        XCTAssertEqual(coco.skipped.images, [.missingFile: 1])
        XCTAssertEqual(
            coco.skipped.description,
            "skipped 5 annotations (1 zero-size, 1 outside the image, 1 unknown category, 1 unknown image, 1 of a skipped image), "
                + "1 image (missing file)")
        XCTAssertEqual(coco.missingImagePaths, [folder.url.standardizedFileURL.path + "/images/gone.png"])
        XCTAssertEqual(COCODetectionDataset.SkipCounts().description, "skipped nothing")

        let sample = try coco.sample(at: 0)
        XCTAssertEqual(sample.image, RGBImage(width: 8, height: 6, red: 200, green: 10, blue: 10))
        XCTAssertEqual(sample.annotation, first)
    }

    // MARK: - Bad input

    /// A minimal valid file, with `edit` applied to its parsed form before it is written.
    private func read(
        _ edit: (inout [String: Any]) -> Void, pictures: [String: RGBImage] = ["p.png": RGBImage(width: 10, height: 10, red: 1, green: 2, blue: 3)],
        maximumFileSize: Int = COCODetectionDataset.maximumAnnotationFileSize
    ) throws -> (COCODetectionDataset, folder: TemporaryFolder) {
        var document: [String: Any] = [
            "images": [["id": 1, "file_name": "p.png", "width": 10, "height": 10]],
            "annotations": [
                ["id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]],
                ["id": 2, "image_id": 1, "category_id": 3, "bbox": [2, 2, 3, 3], "iscrowd": 0, "area": 9],
            ],
            "categories": [["id": 3, "name": "cat"]],
        ]
        edit(&document)
        return try read(JSONSerialization.data(withJSONObject: document), pictures: pictures, maximumFileSize: maximumFileSize)
    }

    private func read(
        _ data: Data, pictures: [String: RGBImage] = [:], maximumFileSize: Int = COCODetectionDataset.maximumAnnotationFileSize
    ) throws -> (COCODetectionDataset, folder: TemporaryFolder) {
        let folder = try TemporaryFolder()
        for (name, image) in pictures { try writePicture(image, name, in: folder.url) }
        let file = folder.url.appendingPathComponent("instances.json")
        try data.write(to: file)
        do {
            return (try COCODetectionDataset(annotationsFile: file, imageFolder: folder.url, maximumFileSize: maximumFileSize), folder)
        } catch let error as DetectionDataError {
            throw Failure(error: error, path: file.path, size: data.count)
        }
    }

    /// The reader's error with the path and size of the file it read, which the expected messages name.
    private struct Failure: Error {
        var error: DetectionDataError
        var path: String
        var size: Int
    }

    /// Asserts that `body` fails with a one-line message `expected(path)`.
    private func assertFails(
        _ expected: (String) -> String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any
    ) {
        assertFails({ path, _ in expected(path) }, file: file, line: line, body)
    }

    /// Asserts that `body` fails with a one-line message `expected(path, size)`.
    private func assertFails(
        _ expected: (String, Int) -> String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any
    ) {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let failure as Failure {
            XCTAssertEqual(failure.error.description, expected(failure.path, failure.size), file: file, line: line)
            XCTAssertFalse(failure.error.description.contains("\n"), file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testTheMinimalFileReads() throws {
        let (coco, _) = try read { _ in }
        XCTAssertEqual(coco.annotation(at: 0).boxes, [BoundingBox(x1: 1, y1: 2, x2: 4, y2: 6), BoundingBox(x1: 2, y1: 2, x2: 5, y2: 5)])
        XCTAssertEqual(coco.annotation(at: 0).labels, [1, 1])
        XCTAssertTrue(coco.skipped.isEmpty)
    }

    func testNotJSON() {
        assertFails({ "\($0): expected a COCO annotation file in JSON, found something else: Invalid value around character 1." }) {
            try read(Data("this is not JSON".utf8))
        }
        assertFails({ "\($0): expected a COCO annotation file in JSON, found something else: Unexpected end of file during JSON parse." }) {
            try read(Data(#"{"images": [{"id": 1"#.utf8))
        }
        assertFails({ "\($0): the document is an array, expected an object with images, annotations and categories" }) {
            try read(Data("[1, 2]".utf8))
        }
    }

    func testMissingTopLevelLists() {
        assertFails({ "\($0): the top level has no 'images', expected a list of images" }) {
            try read { $0["images"] = nil }
        }
        assertFails({ "\($0): the top level has no 'annotations', expected a list of annotations" }) {
            try read { $0["annotations"] = nil }
        }
        assertFails({ "\($0): the top level has no 'categories', expected a list of categories" }) {
            try read { $0["categories"] = nil }
        }
        assertFails({ "\($0): the top level 'annotations' is a dictionary, expected a list of annotations" }) {
            try read { $0["annotations"] = ["id": 1] }
        }
    }

    func testEntryMissingARequiredField() {
        assertFails({ "\($0): annotations[1] has no 'bbox', expected a list of 4 numbers [x, y, width, height]" }) {
            try read { $0["annotations"] = [["id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]], ["id": 2, "image_id": 1, "category_id": 3]] }
        }
        assertFails({ "\($0): images[0] has no 'file_name', expected a file name" }) {
            try read { $0["images"] = [["id": 1, "width": 10, "height": 10]] }
        }
        assertFails({ "\($0): categories[0] has no 'name', expected a string" }) {
            try read { $0["categories"] = [["id": 3]] }
        }
        assertFails({ "\($0): annotations[0] has no 'image_id', expected an integer" }) {
            try read { $0["annotations"] = [["id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]]] }
        }
    }

    func testFieldOfTheWrongKind() {
        assertFails({ "\($0): images[0] 'width' is a string, expected a positive integer" }) {
            try read { $0["images"] = [["id": 1, "file_name": "p.png", "width": "10", "height": 10]] }
        }
        assertFails({ "\($0): annotations[0] 'id' is 1.5, expected an integer" }) {
            try read { $0["annotations"] = [["id": 1.5, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]]] }
        }
        assertFails({ "\($0): annotations[0] 'bbox' is a list of 3 numbers, expected a list of 4 numbers [x, y, width, height]" }) {
            try read { $0["annotations"] = [["id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3]]] }
        }
        assertFails({ "\($0): annotations[0] 'bbox[1]' is a string, expected a number" }) {
            try read { $0["annotations"] = [["id": 1, "image_id": 1, "category_id": 3, "bbox": [1, "2", 3, 4]]] }
        }
        assertFails({ "\($0): annotations[0] 'iscrowd' is 2, expected 0 or 1" }) {
            try read { $0["annotations"] = [["id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "iscrowd": 2]] }
        }
        assertFails({ "\($0): categories[0] 'name' is null, expected a string" }) {
            try read { $0["categories"] = [["id": 3, "name": NSNull()]] }
        }
    }

    func testDuplicateIDs() {
        assertFails({ "\($0): images[1] has id 1, which images[0] already has; expected unique ids" }) {
            try read {
                $0["images"] = [["id": 1, "file_name": "p.png", "width": 10, "height": 10], ["id": 1, "file_name": "q.png", "width": 5, "height": 5]]
            }
        }
        assertFails({ "\($0): categories[1] has id 3, which categories[0] already has; expected unique ids" }) {
            try read { $0["categories"] = [["id": 3, "name": "cat"], ["id": 3, "name": "dog"]] }
        }
    }

    func testAbsurdPictureSizesAndFileNames() {
        assertFails({ "\($0): images[0] 'width' is 0, expected a side of 1 to 65535 pixels" }) {
            try read { $0["images"] = [["id": 1, "file_name": "p.png", "width": 0, "height": 10]] }
        }
        assertFails({ "\($0): images[0] 'height' is 100000, expected a side of 1 to 65535 pixels" }) {
            try read { $0["images"] = [["id": 1, "file_name": "p.png", "width": 10, "height": 100_000]] }
        }
        assertFails({ "\($0): images[0] 'width' is 60000 (60000x60000 is 3600000000 pixels), expected at most 268435456 pixels in all" }) {
            try read { $0["images"] = [["id": 1, "file_name": "p.png", "width": 60_000, "height": 60_000]] }
        }
        assertFails({ "\($0): images[0] 'file_name' is \"../p.png\", expected a relative path inside the image folder" }) {
            try read { $0["images"] = [["id": 1, "file_name": "../p.png", "width": 10, "height": 10]] }
        }
    }

    func testOversizedFileRefusedBeforeReading() {
        assertFails({ path, size in "\(path): the file is \(size) bytes, more than the limit of 100 for an annotation file" }) {
            try read({ _ in }, maximumFileSize: 100)
        }
    }

    func testMissingAnnotationFileAndFolder() throws {
        let folder = try TemporaryFolder()
        let missing = folder.url.appendingPathComponent("instances.json")
        XCTAssertThrowsError(try COCODetectionDataset(annotationsFile: missing, imageFolder: folder.url)) { error in
            XCTAssertEqual(error as? DetectionDataError, .notFound(path: missing.path))
        }
        try Data(#"{"images": [], "annotations": [], "categories": []}"#.utf8).write(to: missing)
        let noFolder = folder.url.appendingPathComponent("pictures")
        XCTAssertThrowsError(try COCODetectionDataset(annotationsFile: missing, imageFolder: noFolder)) { error in
            XCTAssertEqual(error as? DetectionDataError, .notFound(path: noFolder.path))
        }
    }

    func testCorruptPictureFailsAtSampleNamingTheFile() throws {
        let folder = try TemporaryFolder()
        try Data("not a picture".utf8).write(to: folder.url.appendingPathComponent("p.png"))
        let file = folder.url.appendingPathComponent("instances.json")
        try Data(#"{"images": [{"id": 1, "file_name": "p.png", "width": 4, "height": 4}], "annotations": [], "categories": []}"#.utf8)
            .write(to: file)
        let coco = try COCODetectionDataset(annotationsFile: file, imageFolder: folder.url)
        XCTAssertEqual(coco.count, 1, "a corrupt picture exists, so it is kept at load")
        XCTAssertThrowsError(try coco.sample(at: 0)) { error in
            XCTAssertTrue(error is ImageError)
            XCTAssertTrue(String(describing: error).hasPrefix(folder.url.standardizedFileURL.path + "/p.png: "), "\(error)")
        }
    }

    func testPictureOfAnotherSizeThanItsEntry() throws {
        let (coco, folder) = try read({ _ in }, pictures: ["p.png": RGBImage(width: 8, height: 6, red: 0, green: 0, blue: 0)])
        XCTAssertThrowsError(try coco.sample(at: 0)) { error in
            XCTAssertEqual(
                String(describing: error), "\(coco.sourceName(at: 0)): the picture is 8x6, expected 10x10 as its annotation says")
        }
        withExtendedLifetime(folder) {}
    }
}
