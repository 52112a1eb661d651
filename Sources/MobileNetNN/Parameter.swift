import MobileNetTensor

/// A named tensor a module owns: a learnable weight, or a buffer such as batch norm's running mean.
///
/// A class, so that optimizers and checkpoints can hold on to it by identity while the module
/// replaces its value.
public final class Parameter {
    public var value: Tensor
    /// The gradient of the loss with respect to `value`, filled by backpropagation
    /// (``GradientTape/backward(from:seed:)``). Backward adds to it, so gradients of several
    /// passes accumulate until it is cleared (set to nil).
    public var gradient: Tensor?
    /// False for buffers (running statistics): saved and loaded, never optimized or counted.
    public let isTrainable: Bool
    /// Whether a gradient tape differentiates with respect to this parameter; false freezes it
    /// (e.g. a pretrained backbone while only the classifier learns). Always false for buffers.
    public var requiresGradient: Bool

    public init(_ value: Tensor, trainable: Bool = true) {
        self.value = value
        self.isTrainable = trainable
        self.requiresGradient = trainable
    }

    public var shape: Shape { value.shape }

    /// The value for a layer to compute with. While a ``GradientTape`` records, a trainable
    /// parameter registers itself with it (once per tape, however often it is read), so that
    /// backward delivers the gradient here; otherwise it is just ``value``.
    public var tracked: Tensor {
        guard requiresGradient, let tape = GradientTape.current else { return value }
        return tape.watch(value, owner: self) { gradient in
            try self.accumulateGradient(gradient)
        }
    }

    /// Adds `contribution` to ``gradient``, or starts it when there is none (or one of another
    /// shape, left from before the value was replaced).
    public func accumulateGradient(_ contribution: Tensor) throws {
        guard let gradient, gradient.shape == contribution.shape else {
            self.gradient = contribution
            return
        }
        self.gradient = try add(gradient, contribution)
    }
}
