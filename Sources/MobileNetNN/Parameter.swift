import MobileNetTensor

/// A named tensor a module owns: a learnable weight, or a buffer such as batch norm's running mean.
///
/// A class, so that optimizers and checkpoints can hold on to it by identity while the module
/// replaces its value.
public final class Parameter {
    public var value: Tensor
    /// The gradient of the loss with respect to `value`, filled by backpropagation.
    public var gradient: Tensor?
    /// False for buffers (running statistics): saved and loaded, never optimized or counted.
    public let isTrainable: Bool

    public init(_ value: Tensor, trainable: Bool = true) {
        self.value = value
        self.isTrainable = trainable
    }

    public var shape: Shape { value.shape }
}
