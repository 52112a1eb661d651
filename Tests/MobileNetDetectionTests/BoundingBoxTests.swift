import MobileNetDetection
import XCTest

final class BoundingBoxTests: XCTestCase {
    func testIntersectionOverUnion() {
        let a = BoundingBox(x1: 0, y1: 0, x2: 10, y2: 10)
        let b = BoundingBox(x1: 5, y1: 0, x2: 15, y2: 10)
        XCTAssertEqual(a.intersectionOverUnion(b), 50 / 150)
        XCTAssertEqual(a.intersectionOverUnion(a), 1)
        XCTAssertEqual(a.intersectionOverUnion(BoundingBox(x1: 20, y1: 20, x2: 30, y2: 30)), 0)
        let empty = BoundingBox(x1: 3, y1: 3, x2: 3, y2: 3)
        XCTAssertTrue(empty.isEmpty)
        XCTAssertEqual(empty.area, 0)
        XCTAssertEqual(empty.intersectionOverUnion(empty), 0)
    }

    func testCOCOFormClipAndScale() {
        let box = BoundingBox(x: -5, y: 2, width: 20, height: 30)
        XCTAssertEqual(box, BoundingBox(x1: -5, y1: 2, x2: 15, y2: 32))
        XCTAssertEqual(box.clipped(width: 10, height: 20), BoundingBox(x1: 0, y1: 2, x2: 10, y2: 20))
        XCTAssertEqual(box.scaled(x: 2, y: 0.5), BoundingBox(x1: -10, y1: 1, x2: 30, y2: 16))
    }
}
