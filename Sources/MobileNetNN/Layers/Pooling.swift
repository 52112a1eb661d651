import MobileNetTensor

/// Averages each channel's map to one value and flattens: `[N, H, W, C]` to `[N, C]`, ready for
/// a classifier (PyTorch's `adaptive_avg_pool2d(x, 1)` followed by `flatten(1)`); or, with
/// `flattening: false`, to `[N, 1, 1, C]` (`nn.AdaptiveAvgPool2d(1)`), ready for a 1x1 convolution.
public final class GlobalAveragePool2D: Layer {
    public let flattening: Bool

    public init(flattening: Bool = true) {
        self.flattening = flattening
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let pooled = try globalAveragePool(input)
        let output = flattening ? try pooled.reshaped([input.shape[0], input.shape[3]]) : pooled
        ForwardTrace.record(self, output: output)
        return output
    }
}
