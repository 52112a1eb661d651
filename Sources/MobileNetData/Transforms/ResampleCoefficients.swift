/// The filter taps of one axis of Pillow's bilinear resampling, in Pillow's fixed point.
///
/// Output sample `i` is `Σ input[first[i] + t] * weights[i * tapStride + t]` over
/// `t < count[i]`, accumulated in 32-bit integers from a rounding offset of ½ and shifted right by
/// ``fractionBits`` (then clipped to 0…255).
///
/// How the taps are computed, following Pillow's `precompute_coeffs` step by step so that every
/// double rounds the same way:
/// - `scale = inputSize / outputSize`; when shrinking, the triangle filter is stretched by
///   `scale` (antialiasing), so its support (1 pixel) becomes `scale` pixels each side;
/// - output pixel `i` is centered at `(i + 0.5) * scale` in input coordinates, and uses the input
///   pixels from `trunc(center - support + 0.5)` to `trunc(center + support + 0.5)`, clamped to
///   the image;
/// - each tap's weight is the triangle `max(0, 1 - |d|)` at the distance
///   `d = (j - center + 0.5) / filterScale` of pixel `j`'s center, and the weights of one output
///   pixel are divided by their sum (so the edges, which lose taps, are renormalized);
/// - a weight `w` becomes the integer `trunc(w * 2^22 + 0.5)` (away from zero for negatives,
///   which the triangle never produces).
struct ResampleCoefficients {
    /// Pillow's `PRECISION_BITS`: 32 bits less 8 for the pixel value and 2 of headroom.
    static let fractionBits: Int32 = 22

    let inputSize: Int
    let outputSize: Int
    /// The distance between the weight rows of two consecutive output pixels (Pillow's `ksize`).
    let tapStride: Int
    /// For each output pixel, its first input pixel.
    private(set) var first: [Int]
    /// For each output pixel, how many input pixels it reads.
    private(set) var count: [Int]
    /// `outputSize * tapStride` fixed-point weights; unused slots are zero.
    private(set) var weights: [Int32]

    init(inputSize: Int, outputSize: Int) {
        precondition(inputSize > 0 && outputSize > 0, "resampling needs positive sizes")
        self.inputSize = inputSize
        self.outputSize = outputSize
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = Self.triangleSupport * filterScale
        let inverseFilterScale = 1.0 / filterScale
        tapStride = Int(support.rounded(.up)) * 2 + 1
        first = [Int](repeating: 0, count: outputSize)
        count = [Int](repeating: 0, count: outputSize)
        weights = [Int32](repeating: 0, count: outputSize * tapStride)

        var taps = [Double](repeating: 0, count: tapStride)
        let one = Double(1 << Self.fractionBits)
        for output in 0..<outputSize {
            let center = (Double(output) + 0.5) * scale
            // `Int(_:)` truncates toward zero, like the C cast that Pillow's rounding relies on.
            let low = max(Int(center - support + 0.5), 0)
            let high = min(Int(center + support + 0.5), inputSize)
            let tapCount = high - low
            var sum = 0.0
            for tap in 0..<tapCount {
                let weight = Self.triangle((Double(tap + low) - center + 0.5) * inverseFilterScale)
                taps[tap] = weight
                sum += weight
            }
            for tap in 0..<tapCount {
                let normalized = sum != 0 ? taps[tap] / sum : taps[tap]
                let scaled = normalized * one
                weights[output * tapStride + tap] = Int32(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            first[output] = low
            count[output] = tapCount
        }
    }

    /// The bilinear (triangle, "tent") filter reaches one pixel each side before scaling.
    static let triangleSupport = 1.0

    static func triangle(_ distance: Double) -> Double {
        let magnitude = distance < 0 ? -distance : distance
        return magnitude < 1 ? 1 - magnitude : 0
    }

    /// The input range every output pixel together reads: the rows a vertical pass needs.
    var inputRange: Range<Int> {
        first[0]..<(first[outputSize - 1] + count[outputSize - 1])
    }

    /// Rounds a fixed-point sum to a byte: shift out the fraction, clip to 0…255.
    @inline(__always)
    static func clip(_ sum: Int32) -> UInt8 {
        UInt8(clamping: sum >> fractionBits)
    }

    /// The rounding offset every sum starts from: one half in fixed point.
    static let half: Int32 = 1 << (fractionBits - 1)
}
