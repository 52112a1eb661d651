import XCTest
import MobileNetTensor

/// The parity tests' error measure: the largest `|fast - reference| / max(|reference|, 1)` over
/// the elements (relative for large values, absolute near zero); NaN if any element is NaN.
func relativeError(_ fast: Tensor, _ reference: Tensor, file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(fast.shape, reference.shape, file: file, line: line)
    guard fast.shape == reference.shape else { return .infinity }
    var worst: Float = 0
    for index in 0..<reference.elementCount {
        let r = reference.storage.pointer[index], f = fast.storage.pointer[index]
        let error = abs(f - r) / max(abs(r), 1)
        if error.isNaN { return .nan }
        worst = max(worst, error)
    }
    return worst
}

extension SplitMix64 {
    /// A tensor of uniform values in `range`: the parity tests' operands, reproducible by seed.
    mutating func uniform(_ shape: Shape, _ range: ClosedRange<Float> = -1...1) -> Tensor {
        Tensor.uniform(shape, in: range, using: &self)
    }
}
