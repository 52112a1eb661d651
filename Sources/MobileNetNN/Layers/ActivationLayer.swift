import MobileNetTensor

/// An element-wise nonlinearity as a layer (`ReLU6`, `Hardswish`, ... in PyTorch). The same
/// functions are free functions too: `relu6(x)`, `hardSwish(x)`.
public final class ActivationLayer: Layer {
    public let kind: Activation

    public init(_ kind: Activation) {
        self.kind = kind
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output = try activation(input, kind)
        ForwardTrace.record(self, output: output)
        return output
    }
}
