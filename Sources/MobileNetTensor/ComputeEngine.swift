/// A set of kernels that carry out the tensor operations.
///
/// Two engines implement it: ``CPUEngine`` (oneDNN, fast) and ``ReferenceEngine`` (plain Swift
/// loops, the oracle for tests and the place to read what an operation means). Callers use the
/// free functions in `Operations.swift`, which validate shapes once and then dispatch to
/// ``Engine/current``; an engine may therefore assume its operands are valid.
public protocol ComputeEngine: Sendable {
    var name: String { get }

    /// `input` NHWC `[N, H, W, C]`, `weight` OIHW `[O, C / groups, k, k]`, `bias` `[O]`.
    func convolution2D(_ input: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvolutionGeometry) throws -> Tensor

    /// Inference batch norm with the given statistics: `(x - mean) / sqrt(variance + epsilon) * scale + shift`.
    func batchNormalization(
        _ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> Tensor

    /// Batch norm with this batch's statistics (training); returns the output, the per-channel mean
    /// and the biased per-channel variance.
    func batchNormalizationTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> (output: Tensor, mean: Tensor, variance: Tensor)

    func activation(_ input: Tensor, _ kind: Activation) throws -> Tensor

    /// Element-wise sum of two tensors of the same shape.
    func add(_ lhs: Tensor, _ rhs: Tensor) throws -> Tensor

    /// `input[n, h, w, c] * scale[n, c]`, with `scale` shaped `[N, 1, 1, C]`.
    func multiplyChannels(_ input: Tensor, by scale: Tensor) throws -> Tensor

    /// `[N, H, W, C]` to `[N, 1, 1, C]`, the mean over each channel's map.
    func globalAveragePool(_ input: Tensor) throws -> Tensor

    /// `input [N, I]` times `weight [O, I]` transposed, plus `bias [O]`.
    func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor

    /// Softmax over the last axis of `[N, K]`.
    func softmax(_ input: Tensor) throws -> Tensor
}

/// Chooses the engine that the operations run on.
public enum Engine {
    /// The engine for operations called in this task; ``CPUEngine`` unless set with
    /// `Engine.$current.withValue(ReferenceEngine()) { ... }`.
    @TaskLocal public static var current: any ComputeEngine = CPUEngine.shared
}
