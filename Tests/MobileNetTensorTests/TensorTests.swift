import XCTest
@testable import MobileNetTensor

final class TensorTests: XCTestCase {
    func testStorageIsAlignedTo64Bytes() {
        for count in [1, 3, 17, 1000] {
            let tensor = Tensor.zeros([count])
            XCTAssertEqual(Int(bitPattern: tensor.storage.pointer) % 64, 0)
        }
    }

    func testCopyOnWriteLeavesTheOriginalUntouched() throws {
        let original = try Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        var copy = original
        XCTAssertTrue(copy.storage === original.storage, "a copy shares storage until written")
        copy[0, 1] = 20
        XCTAssertFalse(copy.storage === original.storage)
        XCTAssertEqual(original.scalars, [1, 2, 3, 4])
        XCTAssertEqual(copy.scalars, [1, 20, 3, 4])
    }

    func testWrongValueCountIsATypedError() {
        XCTAssertThrowsError(try Tensor(shape: [2, 3], values: [1, 2, 3])) { error in
            XCTAssertEqual(error as? TensorError, .elementCountMismatch(shape: [2, 3], expected: 6, actual: 3))
        }
    }

    func testReshapeKeepsElementsAndRejectsAnotherCount() throws {
        let tensor = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let reshaped = try tensor.reshaped([3, 2])
        XCTAssertEqual(reshaped[2, 1], 6)
        XCTAssertThrowsError(try tensor.reshaped([4, 2]))
    }

    func testLayoutConversionsRoundTrip() throws {
        var generator = SplitMix64(seed: 7)
        let nhwc = Tensor.uniform([2, 3, 5, 7], in: -1...1, using: &generator)
        let nchw = try nhwcToNCHW(nhwc)
        XCTAssertEqual(nchw.shape, [2, 7, 3, 5])
        XCTAssertEqual(nchw[1, 6, 2, 4], nhwc[1, 2, 4, 6])
        XCTAssertEqual(try nchwToNHWC(nchw).scalars, nhwc.scalars)
    }

    func testSplitMix64MatchesItsPublishedSequence() {
        // First outputs of SplitMix64 seeded with 0 (the reference C implementation by Vigna).
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(generator.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(SplitMix64.seed(for: ""), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(SplitMix64.seed(for: "a"), 0xAF63_DC4C_8601_EC8C)
    }
}
