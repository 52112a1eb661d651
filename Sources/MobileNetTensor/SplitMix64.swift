/// A small, fast, seedable random number generator (Steele, Lea and Flood's SplitMix64).
///
/// It is used wherever results must be reproducible: weight initialization, dropout masks,
/// shuffling. Its output is identical to the Python twin in `Scripts/generate_model_fixtures.py`.
public struct SplitMix64: RandomNumberGenerator, Hashable, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1) with 24 random bits, exactly representable as a `Float`.
    public mutating func nextUnitInterval() -> Double {
        Double(next() >> 40) * 0x1p-24
    }

    /// FNV-1a (64-bit) of a string's UTF-8 bytes: a stable seed derived from a name.
    public static func seed(for name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01B3
        }
        return hash
    }
}
