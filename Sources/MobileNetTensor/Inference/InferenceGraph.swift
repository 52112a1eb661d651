/// A network prepared for inference: a list of steps over numbered values, each convolution
/// carrying the work that can ride along with it (bias, a residual add, activations).
///
/// A model lowers itself into a graph once (folding batch norm into the convolution weights,
/// see `MobileNetModels`); ``InferenceSession`` then compiles it for one input shape into fused
/// oneDNN primitives. ``evaluate(_:)`` runs the same steps one operation at a time on
/// `Engine.current`, the unfused twin the fast path is tested against.
public struct InferenceGraph: Sendable {
    /// A value computed by one step; activations are NHWC `[N, H, W, C]` (pooled values `[N, 1, 1, C]`).
    public struct Value: Hashable, Sendable {
        public let index: Int
    }

    /// Work fused into the end of a convolution or linear step, in order.
    public enum PostOperation: Hashable, Sendable {
        /// `output += value` (a residual shortcut); the value must have the output's shape.
        case add(Value)
        case activation(Activation)
    }

    public enum Step: Sendable {
        case input(channels: Int)
        /// `weight` OIHW, `bias` `[O]` (batch norm already folded in).
        case convolution(Value, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, post: [PostOperation])
        /// `[N, H, W, C]` to `[N, 1, 1, C]`.
        case globalAveragePool(Value)
        /// `value[n, h, w, c] * scale[n, 0, 0, c]`.
        case multiplyChannels(Value, scale: Value)
        /// `[N, 1, 1, C]` or `[N, C]` to `[N, O]`: `weight` `[O, C]`, `bias` `[O]`.
        case linear(Value, weight: Tensor, bias: Tensor, post: [PostOperation])
    }

    public private(set) var steps: [Step] = []

    public init() {}

    /// The network's input: an NHWC image batch with `channels` channels.
    public mutating func input(channels: Int) -> Value {
        append(.input(channels: channels))
    }

    public mutating func convolution(
        _ input: Value, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, post: [PostOperation] = []
    ) -> Value {
        append(.convolution(input, weight: weight, bias: bias, geometry: geometry, post: post))
    }

    public mutating func globalAveragePool(_ input: Value) -> Value {
        append(.globalAveragePool(input))
    }

    public mutating func multiplyChannels(_ input: Value, by scale: Value) -> Value {
        append(.multiplyChannels(input, scale: scale))
    }

    public mutating func linear(_ input: Value, weight: Tensor, bias: Tensor, post: [PostOperation] = []) -> Value {
        append(.linear(input, weight: weight, bias: bias, post: post))
    }

    private mutating func append(_ step: Step) -> Value {
        steps.append(step)
        return Value(index: steps.count - 1)
    }

    /// The last step's value is the network's output.
    public var output: Value { Value(index: steps.count - 1) }

    /// For each value, the index of the last step that reads it (its own index if none does).
    public var lastUses: [Int] {
        var last = Array(steps.indices)
        for (index, step) in steps.enumerated() {
            for value in step.inputs { last[value.index] = max(last[value.index], index) }
        }
        return last
    }

    /// Runs the graph one plain operation at a time on `Engine.current`: no fusion, no folding
    /// beyond what the graph holds. The reference for ``InferenceSession``.
    public func evaluate(_ input: Tensor) throws -> Tensor {
        var values: [Tensor?] = Array(repeating: nil, count: steps.count)
        func value(_ v: Value) -> Tensor { values[v.index]! }
        func apply(_ post: [PostOperation], to x: Tensor) throws -> Tensor {
            try post.reduce(x) { result, operation in
                switch operation {
                case let .add(other): try MobileNetTensor.add(result, value(other))
                case let .activation(kind): try MobileNetTensor.activation(result, kind)
                }
            }
        }
        for (index, step) in steps.enumerated() {
            switch step {
            case let .input(channels):
                try input.expectRank(4, layout: "NHWC", for: "inference input")
                guard input.shape[3] == channels else {
                    throw TensorError.shapeMismatch(operation: "inference input", expected: "\(channels) channels last", actual: input.shape)
                }
                values[index] = input
            case let .convolution(x, weight, bias, geometry, post):
                values[index] = try apply(post, to: MobileNetTensor.conv2d(value(x), weight: weight, bias: bias, geometry: geometry))
            case let .globalAveragePool(x):
                values[index] = try MobileNetTensor.globalAveragePool(value(x))
            case let .multiplyChannels(x, scale):
                values[index] = try MobileNetTensor.multiplyChannels(value(x), by: value(scale))
            case let .linear(x, weight, bias, post):
                let source = value(x)
                let flat = try source.reshaped([source.shape[0], source.elementCount / max(source.shape[0], 1)])
                values[index] = try apply(post, to: MobileNetTensor.linear(flat, weight: weight, bias: bias))
            }
        }
        return value(output)
    }
}

extension InferenceGraph.Step {
    /// The values this step reads.
    public var inputs: [InferenceGraph.Value] {
        func postInputs(_ post: [InferenceGraph.PostOperation]) -> [InferenceGraph.Value] {
            post.compactMap { if case let .add(value) = $0 { value } else { nil } }
        }
        switch self {
        case .input: return []
        case let .convolution(x, _, _, _, post): return [x] + postInputs(post)
        case let .globalAveragePool(x): return [x]
        case let .multiplyChannels(x, scale): return [x, scale]
        case let .linear(x, _, _, post): return [x] + postInputs(post)
        }
    }
}
