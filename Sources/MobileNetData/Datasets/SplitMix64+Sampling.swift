import MobileNetTensor

/// The few random draws the data pipeline needs, defined here rather than taken from the
/// standard library, whose `shuffle` and `random(in:)` algorithms may change between Swift
/// releases: a seed must give the same epoch order and the same crops on every toolchain (and in
/// the fixture generator's Python twin).
extension SplitMix64 {
    /// A generator for one purpose, derived from `seed` and a path of integers (an epoch, a sample
    /// index): the same path always gives the same stream, and different paths give unrelated
    /// ones. This is how every sample of every epoch gets its own augmentation, independent of
    /// the thread or the order in which it is decoded.
    public init(seed: UInt64, path: [UInt64]) {
        var state = seed
        for component in path {
            var mixer = SplitMix64(seed: state ^ (component &* 0xD1B5_4A32_D192_ED03))
            state = mixer.next()
        }
        self.init(seed: state)
    }

    /// A uniform integer in `0..<bound`: the high 64 bits of `next() * bound` (Lemire's method
    /// without the rejection step; its bias, below `bound / 2^64`, is far below anything a
    /// dataset could show).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "nextIndex(below:) needs a positive bound, got \(bound)")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform `Float` in `[lower, upper)`, computed as PyTorch's `uniform_` computes it for
    /// float32: a 24-bit unit value `u`, then `u * (upper - lower) + lower` in single precision.
    public mutating func nextFloat(in lower: Float, _ upper: Float) -> Float {
        Float(nextUnitInterval()) * (upper - lower) + lower
    }
}

extension MutableCollection where Self: RandomAccessCollection, Index == Int {
    /// Fisher–Yates with ``SplitMix64/nextIndex(below:)``: from the last position down, swap with
    /// a uniform position at or before it.
    public mutating func seededShuffle(using generator: inout SplitMix64) {
        guard count > 1 else { return }
        var position = endIndex - 1
        while position > startIndex {
            let other = startIndex + generator.nextIndex(below: position - startIndex + 1)
            swapAt(position, other)
            position -= 1
        }
    }
}
