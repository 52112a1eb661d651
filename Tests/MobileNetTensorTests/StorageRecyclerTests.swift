import XCTest
@testable import MobileNetTensor

final class StorageRecyclerTests: XCTestCase {
    override func tearDown() {
        TensorStorage.recycledByteLimit = 1 << 30
    }

    func testAFreedLargeBufferServesTheNextTensorOfItsSize() {
        let count = 1 << 20  // 4 MiB
        var address: UnsafeMutablePointer<Float>?
        do {
            let first = Tensor.zeros([count])
            address = first.storage.pointer
        }
        let second = Tensor(uninitializedShape: [count])
        XCTAssertEqual(second.storage.pointer, address, "the freed block is reused")
        XCTAssertEqual(Int(bitPattern: second.storage.pointer) % TensorStorage.alignment, 0)
        // Initializers that promise contents still provide them on a reused block.
        let third: Tensor
        do {
            _ = Tensor(repeating: 7, shape: [count])
            third = Tensor.zeros([count])
        }
        XCTAssertEqual(third.scalars.max(), 0)
        XCTAssertEqual(third.scalars.min(), 0)
    }

    func testTheLimitBoundsWhatIsKept() {
        TensorStorage.releaseRecycledMemory()
        XCTAssertEqual(TensorStorage.recycledBytes, 0)
        TensorStorage.recycledByteLimit = 6 << 20
        do {
            _ = [Tensor.zeros([1 << 20]), Tensor.zeros([1 << 20])]  // two 4 MiB blocks
        }
        XCTAssertEqual(TensorStorage.recycledBytes, 4 << 20, "the second block does not fit under 6 MiB")
        TensorStorage.recycledByteLimit = 0
        XCTAssertEqual(TensorStorage.recycledBytes, 0, "lowering the limit frees what is over it")
        do { _ = Tensor.zeros([1 << 20]) }
        XCTAssertEqual(TensorStorage.recycledBytes, 0)
        // Small blocks are left to malloc.
        TensorStorage.recycledByteLimit = 1 << 30
        do { _ = Tensor.zeros([100]) }
        XCTAssertEqual(TensorStorage.recycledBytes, 0)
    }
}
