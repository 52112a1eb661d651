import MobileNetTensor

/// Averages each channel's map to one value and flattens: `[N, H, W, C]` to `[N, C]`, ready for
/// a classifier (PyTorch's `adaptive_avg_pool2d(x, 1)` followed by `flatten(1)`).
public final class GlobalAveragePool2D: Layer {
    public init() {}

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let pooled = try globalAveragePool(input)
        let output = try pooled.reshaped([input.shape[0], input.shape[3]])
        ForwardTrace.record(self, output: output)
        return output
    }
}
