/// A set of kernels that carry out the tensor operations.
///
/// Two engines implement it: ``CPUEngine`` (oneDNN, fast) and ``ReferenceEngine`` (plain Swift
/// loops, the oracle for tests and the place to read what an operation means). Callers use the
/// free functions in `Operations.swift`, which validate shapes once and then dispatch to
/// ``Engine/current``; an engine may therefore assume its operands are valid.
public protocol ComputeEngine: Sendable {
    var name: String { get }

    /// `input` NHWC `[N, H, W, C]`, `weight` OIHW `[O, C / groups, k, k]`, `bias` `[O]`.
    func convolution2D(
        _ input: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvolutionGeometry, propagation: Propagation
    ) throws -> Tensor

    /// Inference batch norm with the given statistics: `(x - mean) / sqrt(variance + epsilon) * scale + shift`.
    func batchNormalization(
        _ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor, epsilon: Float,
        propagation: Propagation
    ) throws -> Tensor

    /// Batch norm with this batch's statistics (training); returns the output, the per-channel mean
    /// and the biased per-channel variance.
    func batchNormalizationTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> (output: Tensor, mean: Tensor, variance: Tensor)

    func activation(_ input: Tensor, _ kind: Activation, propagation: Propagation) throws -> Tensor

    /// Element-wise sum of two tensors of the same shape.
    func add(_ lhs: Tensor, _ rhs: Tensor) throws -> Tensor

    /// `input[n, h, w, c] * scale[n, c]`, with `scale` shaped `[N, 1, 1, C]`.
    func multiplyChannels(_ input: Tensor, by scale: Tensor) throws -> Tensor

    /// `[N, H, W, C]` to `[N, 1, 1, C]`, the mean over each channel's map.
    func globalAveragePool(_ input: Tensor, propagation: Propagation) throws -> Tensor

    /// `input [N, I]` times `weight [O, I]` transposed, plus `bias [O]`.
    func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, propagation: Propagation) throws -> Tensor

    /// Softmax over the last axis of `[N, K]`.
    func softmax(_ input: Tensor, propagation: Propagation) throws -> Tensor

    /// Log-softmax over the last axis of `[N, K]`, computed without forming the probabilities
    /// (so that a very unlikely class gives a large finite value, not log 0).
    func logSoftmax(_ input: Tensor) throws -> Tensor

    /// `tensors` joined along `axis`: every other dimension agrees, and the result's `axis` is
    /// the sum of theirs (`torch.cat`).
    func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor

    /// `input` cut along `axis` into consecutive pieces of `sizes` (summing to its extent there):
    /// the inverse of ``concatenate(_:axis:)`` and so its backward (`torch.split`).
    func split(_ input: Tensor, axis: Int, sizes: [Int]) throws -> [Tensor]

    /// `[N, H, W, C]` resampled to `[N, height, width, C]` by bilinear interpolation with
    /// PyTorch's `align_corners=False` rule and no antialiasing (`F.interpolate(mode="bilinear")`).
    func resizeBilinear(_ input: Tensor, height: Int, width: Int) throws -> Tensor

    // MARK: Backward (gradients of the operations above)
    //
    // Each takes the gradient of the loss with respect to the operation's output and returns the
    // gradients with respect to the named operands; shapes are those of the forward call.

    /// The gradient with respect to a convolution's input `[N, H, W, C]` of shape `inputShape`.
    func convolution2DBackwardData(
        _ outputGradient: Tensor, weight: Tensor, inputShape: Shape, geometry: ConvolutionGeometry
    ) throws -> Tensor

    /// The gradients with respect to a convolution's weight (OIHW, shape `weightShape`) and bias.
    func convolution2DBackwardWeights(
        _ outputGradient: Tensor, input: Tensor, weightShape: Shape, hasBias: Bool, geometry: ConvolutionGeometry
    ) throws -> (weight: Tensor, bias: Tensor?)

    /// The gradients of a batch norm with respect to its input, scale and shift. `mean` and
    /// `variance` are the statistics the forward pass normalized with: the batch's (then the
    /// input gradient includes their dependence on the input) or fixed running ones.
    func batchNormalizationBackward(
        _ outputGradient: Tensor, input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, epsilon: Float,
        statistics: NormalizationStatistics
    ) throws -> (input: Tensor, scale: Tensor, shift: Tensor)

    /// The gradient of `kind` applied to `input`. At a kink the derivative is PyTorch's
    /// (see ``Activation/derivative(_:)``).
    func activationBackward(_ outputGradient: Tensor, input: Tensor, _ kind: Activation) throws -> Tensor

    /// The gradient of ``multiplyChannels(_:by:)`` with respect to its `[N, 1, 1, C]` scale: the
    /// sum over each map of output gradient times input. (The input's gradient is the output
    /// gradient multiplied by the scale, i.e. the forward operation.)
    func multiplyChannelsScaleGradient(_ outputGradient: Tensor, input: Tensor) throws -> Tensor

    /// The gradient with respect to the `[N, H, W, C]` input of a global average pool.
    func globalAveragePoolBackward(_ outputGradient: Tensor, inputShape: Shape) throws -> Tensor

    /// The gradient with respect to a linear layer's input `[N, I]`.
    func linearBackwardData(_ outputGradient: Tensor, weight: Tensor) throws -> Tensor

    /// The gradients with respect to a linear layer's weight `[O, I]` and bias `[O]`.
    func linearBackwardWeights(_ outputGradient: Tensor, input: Tensor, hasBias: Bool) throws -> (weight: Tensor, bias: Tensor?)

    /// The gradient with respect to softmax's input, given its output `[N, K]`.
    func softmaxBackward(_ outputGradient: Tensor, output: Tensor) throws -> Tensor

    /// The gradient with respect to a bilinear resize's input of shape `inputShape`: each output
    /// gradient spread back onto its four source pixels with their weights.
    func resizeBilinearBackward(_ outputGradient: Tensor, inputShape: Shape) throws -> Tensor
}

// The inference forms, for callers that do not train: `propagation: .inference`.
extension ComputeEngine {
    /// ``convolution2D(_:weight:bias:geometry:propagation:)`` for inference.
    public func convolution2D(_ input: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvolutionGeometry) throws -> Tensor {
        try convolution2D(input, weight: weight, bias: bias, geometry: geometry, propagation: .inference)
    }

    /// ``batchNormalization(_:mean:variance:scale:shift:epsilon:propagation:)`` for inference.
    public func batchNormalization(
        _ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> Tensor {
        try batchNormalization(
            input, mean: mean, variance: variance, scale: scale, shift: shift, epsilon: epsilon, propagation: .inference)
    }

    /// ``activation(_:_:propagation:)`` for inference.
    public func activation(_ input: Tensor, _ kind: Activation) throws -> Tensor {
        try activation(input, kind, propagation: .inference)
    }

    /// ``globalAveragePool(_:propagation:)`` for inference.
    public func globalAveragePool(_ input: Tensor) throws -> Tensor {
        try globalAveragePool(input, propagation: .inference)
    }

    /// ``linear(_:weight:bias:propagation:)`` for inference.
    public func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        try linear(input, weight: weight, bias: bias, propagation: .inference)
    }

    /// ``softmax(_:propagation:)`` for inference.
    public func softmax(_ input: Tensor) throws -> Tensor {
        try softmax(input, propagation: .inference)
    }
}

/// Chooses the engine that the operations run on.
public enum Engine {
    /// The engine for operations called in this task; ``CPUEngine`` unless set with
    /// `Engine.$current.withValue(ReferenceEngine()) { ... }`.
    @TaskLocal public static var current: any ComputeEngine = CPUEngine.shared
}
