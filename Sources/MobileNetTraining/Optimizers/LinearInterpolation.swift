/// PyTorch's `lerp` of one float32 element, `start + weight · (end − start)`: the formula
/// switches at a weight of ½ so that both ends are exact. AdamW's first moment and the weight
/// average use it, as PyTorch's do.
@inline(__always)
func linearInterpolation(_ start: Float, _ end: Float, _ weight: Float) -> Float {
    abs(weight) < 0.5 ? start + weight * (end - start) : end - (end - start) * (1 - weight)
}
