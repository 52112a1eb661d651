import Foundation
import MobileNetTestSupport
import XCTest

@testable import MobileNetData

/// IDX headers: magic numbers, dimensions and lengths are checked, and errors name the file.
final class IDXFileTests: XCTestCase {
    func testParsesImagesAndLabels() throws {
        let images = try IDXFile(parsing: IDXBytes.images(count: 2, rows: 2, columns: 3, pixels: Array(1...12)), rank: 3, path: "i")
        XCTAssertEqual(images.dimensions, [2, 2, 3])
        XCTAssertEqual(images.bytes, Array(1...12))
        let labels = try IDXFile(parsing: IDXBytes.labels([4, 2]), rank: 1, path: "l")
        XCTAssertEqual(labels.dimensions, [2])
        XCTAssertEqual(labels.bytes, [4, 2])
    }

    func testWrongMagicNumberNamesTheFile() {
        // A label file read as an image file: rank 1 where 3 is expected.
        XCTAssertThrowsError(try IDXFile(parsing: IDXBytes.labels([1]), rank: 3, path: "/data/x-images-idx3-ubyte")) { error in
            XCTAssertEqual(
                error as? DatasetError,
                .malformedIDX(
                    path: "/data/x-images-idx3-ubyte", expected: "magic number 0x00000803 (unsigned bytes, 3 dimensions)",
                    found: "0x00000801"))
            XCTAssertEqual(
                String(describing: error),
                "/data/x-images-idx3-ubyte: expected magic number 0x00000803 (unsigned bytes, 3 dimensions), found 0x00000801")
        }
        // Another element type (0x0D, float).
        XCTAssertThrowsError(try IDXFile(parsing: [0, 0, 0x0D, 1, 0, 0, 0, 0], rank: 1, path: "f")) { error in
            XCTAssertEqual(
                error as? DatasetError,
                .malformedIDX(path: "f", expected: "magic number 0x00000801 (unsigned bytes, 1 dimensions)", found: "0x00000D01"))
        }
    }

    func testLengthMustMatchTheDimensions() {
        var bytes = IDXBytes.images(count: 2, rows: 2, columns: 2, pixels: Array(repeating: 0, count: 8))
        bytes.removeLast()
        XCTAssertThrowsError(try IDXFile(parsing: bytes, rank: 3, path: "short")) { error in
            XCTAssertEqual(error as? DatasetError, .malformedIDX(path: "short", expected: "8 data bytes for dimensions 2x2x2", found: "7"))
        }
        XCTAssertThrowsError(try IDXFile(parsing: [0, 0, 8, 3, 0, 0], rank: 3, path: "header")) { error in
            XCTAssertEqual(error as? DatasetError, .malformedIDX(path: "header", expected: "a 16-byte header", found: "6 bytes"))
        }
        XCTAssertThrowsError(try IDXFile(parsing: [0, 0], rank: 1, path: "tiny")) { error in
            XCTAssertEqual(error as? DatasetError, .malformedIDX(path: "tiny", expected: "a 4-byte IDX magic number", found: "2 bytes"))
        }
        // Dimensions whose product overflows are refused, not trusted.
        let huge: [UInt8] = [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12)
        XCTAssertThrowsError(try IDXFile(parsing: huge, rank: 3, path: "huge")) { error in
            guard case .malformedIDX(path: "huge", _, _)? = error as? DatasetError else { return XCTFail("unexpected \(error)") }
        }
    }

    func testReadsGzipAndPlainFiles() throws {
        let folder = try TemporaryFolder()
        let raw = IDXBytes.labels([3, 1, 4])
        let plain = folder.url.appendingPathComponent("labels-idx1-ubyte")
        let compressed = folder.url.appendingPathComponent("labels-idx1-ubyte.gz")
        try Data(raw).write(to: plain)
        try GzipBytes.member(raw).write(to: compressed)
        XCTAssertEqual(try IDXFile(contentsOf: plain, rank: 1).bytes, [3, 1, 4])
        XCTAssertEqual(try IDXFile(contentsOf: compressed, rank: 1).bytes, [3, 1, 4])
        let missing = folder.url.appendingPathComponent("nothing.gz")
        XCTAssertThrowsError(try IDXFile(contentsOf: missing, rank: 1)) { error in
            XCTAssertEqual(error as? DatasetError, .notFound(path: missing.path))
        }
        XCTAssertThrowsError(try IDXFile(contentsOf: folder.url, rank: 1)) { error in
            XCTAssertEqual(error as? DatasetError, .unreadable(path: folder.url.path, reason: "not a regular file (a directory)"))
        }
    }

    func testAGzipHeaderAnnouncingFarMoreThanTheFileCanHoldIsRefusedUninflated() throws {
        // 40 bytes whose header announces the 47 MB of Fashion-MNIST's training pictures.
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("train-images-idx3-ubyte.gz")
        let file = GzipBytes.member(IDXBytes.images(count: 60_000, rows: 28, columns: 28, pixels: []))
        try file.write(to: url)
        XCTAssertThrowsError(try IDXFile(contentsOf: url, rank: 3)) { error in
            XCTAssertEqual(error as? DatasetError, .malformedIDX(
                path: url.path,
                expected: "at most \(64 * file.count) bytes once decompressed (64 times the \(file.count)-byte file)",
                found: "a header announcing 47040016 bytes for dimensions 60000x28x28"))
        }
    }

    func testAGzipStreamLongerThanItsHeaderSaysIsRefusedAtTheHeadersLength() throws {
        // Two labels announced, 300 kB of data that follow.
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("labels-idx1-ubyte.gz")
        try GzipBytes.member([0, 0, 8, 1] + IDXBytes.bigEndian(2) + [UInt8](repeating: 1, count: 300_000)).write(to: url)
        XCTAssertThrowsError(try IDXFile(contentsOf: url, rank: 1)) { error in
            XCTAssertEqual(error as? DatasetError, .malformedIDX(
                path: url.path, expected: "2 data bytes for dimensions 2", found: "more"))
        }
    }

    func testAFIFOOrASymbolicLinkLoopIsRefusedAtOnce() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.url.appendingPathComponent("t10k-labels-idx1-ubyte.gz")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertThrowsError(try IDXFile(contentsOf: fifo, rank: 1)) { error in
            XCTAssertEqual(error as? DatasetError, .unreadable(path: fifo.path, reason: "not a regular file (a FIFO)"))
        }
        let loop = folder.url.appendingPathComponent("loop.gz")
        XCTAssertEqual(symlink(loop.path, loop.path), 0)
        XCTAssertThrowsError(try IDXFile(contentsOf: loop, rank: 1)) { error in
            XCTAssertEqual(error as? DatasetError, .unreadable(
                path: loop.path, reason: "could not open it: \(String(cString: strerror(ELOOP)))"))
        }
    }
}

/// IDX files written by hand.
enum IDXBytes {
    static func images(count: Int, rows: Int, columns: Int, pixels: [UInt8]) -> [UInt8] {
        [0, 0, 8, 3] + bigEndian(count) + bigEndian(rows) + bigEndian(columns) + pixels
    }

    static func labels(_ labels: [UInt8]) -> [UInt8] {
        [0, 0, 8, 1] + bigEndian(labels.count) + labels
    }

    static func bigEndian(_ value: Int) -> [UInt8] {
        (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}
