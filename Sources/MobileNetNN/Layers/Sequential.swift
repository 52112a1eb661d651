import MobileNetTensor

/// Layers applied in order, named "0", "1", ... as in PyTorch's `nn.Sequential`.
public final class Sequential: Layer {
    public let layers: [any Layer]
    /// The name of the first layer: 0, or where the layers sat in a longer `Sequential` they were
    /// sliced from (PyTorch's `sequential[1:]` keeps the names "1", "2", ...).
    public let firstIndex: Int

    public init(_ layers: [any Layer], firstIndex: Int = 0) {
        self.layers = layers
        self.firstIndex = firstIndex
    }

    public var children: [(name: String, module: any Module)] {
        layers.enumerated().map { (String(firstIndex + $0.offset), $0.element) }
    }

    public var count: Int { layers.count }

    public subscript(index: Int) -> any Layer { layers[index] }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try layers.reduce(input) { try $1($0) }
    }
}

extension Sequential: InferenceLowering {
    /// Layers in order; a classifier head's `Linear`s take the activation that follows them as a
    /// post-operation, and dropout (the identity at inference) disappears.
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        var x = input
        var pendingLinear: (input: InferenceGraph.Value, layer: Linear, post: [InferenceGraph.PostOperation])?
        func flush() {
            if let pending = pendingLinear {
                x = graph.linear(pending.input, pending.layer, post: pending.post)
                pendingLinear = nil
            }
        }
        for layer in layers {
            switch layer {
            case is Dropout:
                continue
            case let linear as Linear:
                flush()
                pendingLinear = (x, linear, [])
            case let activation as ActivationLayer where pendingLinear != nil:
                pendingLinear!.post.append(.activation(activation.kind))
            case let lowerable as InferenceLowering:
                flush()
                x = try lowerable.lower(x, into: &graph)
            default:
                throw LoweringError.notLowerable(layer: "\(type(of: layer))", container: "Sequential")
            }
        }
        flush()
        return x
    }
}
