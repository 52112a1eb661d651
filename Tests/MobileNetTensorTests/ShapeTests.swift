import XCTest
import MobileNetTensor

final class ShapeTests: XCTestCase {
    /// `info --resolution 99999999999` once trapped multiplying the shape out; a count that does
    /// not fit is now nil, for the callers that take shapes from outside to refuse.
    func testElementCountsThatOverflowAreNil() {
        XCTAssertEqual(Shape([1, 224, 224, 3]).checkedElementCount, 150_528)
        XCTAssertEqual(Shape([]).checkedElementCount, 1)
        XCTAssertEqual(Shape([0, Int.max, Int.max]).checkedElementCount, 0)
        XCTAssertNil(Shape([1, 99_999_999_999, 99_999_999_999, 3]).checkedElementCount)
        XCTAssertNil(Shape([Int.max, 2]).checkedElementCount)
        XCTAssertNil(Shape([4, -1]).checkedElementCount)
    }
}
