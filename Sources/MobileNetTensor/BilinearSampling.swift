/// Where an output row (or column) of a bilinear resize reads its input, by PyTorch's
/// `align_corners=False` rule: the output index i sits at `(i + ½) · in / out - ½` in the input,
/// clamped at 0; it blends the two neighbouring inputs `first` and `second` (the same one at the
/// last edge) with weights `1 - fraction` and `fraction`.
public struct BilinearTap: Hashable, Sendable {
    public var first: Int
    public var second: Int
    public var fraction: Float

    /// The taps of every output index along one axis, computed in `Float` as PyTorch's CPU kernel
    /// does.
    public static func taps(input: Int, output: Int) -> [BilinearTap] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { index in
            let source = max(scale * (Float(index) + 0.5) - 0.5, 0)
            let first = min(Int(source), input - 1)
            let fraction = min(max(source - Float(first), 0), 1)
            return BilinearTap(first: first, second: first < input - 1 ? first + 1 : first, fraction: fraction)
        }
    }
}
