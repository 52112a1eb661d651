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
        /// `value + shortcut` (same shape), then `post`'s activations: a residual add as a step
        /// of its own (``separatingResidualAdds()``), where int8 quantizes both terms.
        case add(Value, shortcut: Value, post: [PostOperation])
        /// `[N, h, w, C]` to `[N, H, W, C]`, the height and width of `sizeOf`'s value, by bilinear
        /// interpolation with half-pixel centres (PyTorch's `align_corners=False`): a
        /// segmentation head's scores brought up to its low features' or its input's size. Only
        /// the size of `sizeOf` is read, not its values.
        case resizeBilinear(Value, sizeOf: Value)
    }

    /// What a step is for in the network, as profiles and reports group the time.
    public enum StepKind: String, Hashable, Sendable, CaseIterable {
        /// The first convolution, on the image.
        case stem
        /// A 1x1 convolution that widens an inverted residual block (×t).
        case expand
        /// A per-channel k×k convolution.
        case depthwise
        /// The linear 1x1 convolution that narrows an inverted residual block.
        case project
        /// The 1x1 convolution of a depthwise separable block (MobileNetV1).
        case pointwise
        /// Squeeze-and-excitation: its pooling, two 1x1 convolutions and the channel scaling.
        case squeezeExcitation = "se"
        /// Global average pooling before the classifier.
        case pool
        /// The last 1x1 convolution of the backbone (V2, V3).
        case head
        /// The fully connected layers.
        case classifier
        /// A task's head on the backbone's features (a segmentation head's convolutions).
        case taskHead = "task_head"
        /// A bilinear resize.
        case resize
    }

    /// Where a step came from: the model layer that lowered into it (resolved to its state-dict
    /// path by ``name(using:)``), a part of that layer, and the step's kind.
    public struct StepLabel: Hashable, Sendable {
        public var layer: ObjectIdentifier?
        /// Appended to the layer's path, e.g. `avgpool` for a squeeze-and-excitation's pooling.
        public var part: String?
        public var kind: StepKind?
        /// The layer's state-dict path (`features.3.conv.1.0`), once resolved.
        public var name: String?

        public init(layer: ObjectIdentifier? = nil, part: String? = nil, kind: StepKind? = nil) {
            self.layer = layer
            self.part = part
            self.kind = kind
        }
    }

    public private(set) var steps: [Step] = []
    /// One label per step.
    public private(set) var labels: [StepLabel] = []
    /// The values ``markOutput(_:)`` named, in order.
    private var markedOutputs: [Value] = []

    public init() {}

    /// The network's input: an NHWC image batch with `channels` channels.
    public mutating func input(channels: Int) -> Value {
        append(.input(channels: channels), StepLabel(part: "input"))
    }

    public mutating func convolution(
        _ input: Value, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, post: [PostOperation] = [],
        label: StepLabel = StepLabel()
    ) -> Value {
        append(.convolution(input, weight: weight, bias: bias, geometry: geometry, post: post), label)
    }

    public mutating func globalAveragePool(_ input: Value, label: StepLabel = StepLabel(part: "avgpool", kind: .pool)) -> Value {
        append(.globalAveragePool(input), label)
    }

    public mutating func multiplyChannels(_ input: Value, by scale: Value, label: StepLabel = StepLabel()) -> Value {
        append(.multiplyChannels(input, scale: scale), label)
    }

    public mutating func linear(
        _ input: Value, weight: Tensor, bias: Tensor, post: [PostOperation] = [], label: StepLabel = StepLabel(kind: .classifier)
    ) -> Value {
        append(.linear(input, weight: weight, bias: bias, post: post), label)
    }

    public mutating func add(_ input: Value, _ shortcut: Value, post: [PostOperation] = [], label: StepLabel = StepLabel(part: "add")) -> Value {
        append(.add(input, shortcut: shortcut, post: post), label)
    }

    /// `input` resized bilinearly to the height and width of `reference` (an earlier value,
    /// the input's for a network's full-size output).
    public mutating func resizeBilinear(
        _ input: Value, toSizeOf reference: Value, label: StepLabel = StepLabel(part: "resize", kind: .resize)
    ) -> Value {
        precondition(steps.indices.contains(reference.index), "the reference of a resize must be a step of the graph")
        return append(.resizeBilinear(input, sizeOf: reference), label)
    }

    /// The same network with every residual add that rides on a convolution or linear step as
    /// an ``Step/add(_:shortcut:post:)`` step after it (what came after the add in `post` moves
    /// with it); labelled like the layer, with part `add`. The int8 form: ONNX Runtime's
    /// `QLinearConv` and TFLite's `CONV_2D` round every convolution's output before an add
    /// reads it, so the int8 model quantizes it too, and its exported files compute the same
    /// integers.
    public func separatingResidualAdds() -> InferenceGraph {
        var separated = InferenceGraph()
        var moved: [Int] = []
        func map(_ value: Value) -> Value { Value(index: moved[value.index]) }
        for (index, step) in steps.enumerated() {
            let label = labels[index]
            func split(_ post: [PostOperation], layer: ([PostOperation]) -> Value) -> Value {
                guard let position = post.firstIndex(where: { if case .add = $0 { true } else { false } }),
                      case let .add(shortcut) = post[position] else { return layer(post) }
                var value = layer(Array(post[..<position]))
                var rest = Array(post[(position + 1)...])
                var shortcutValue = map(shortcut)
                // A second add in the same post-ops becomes a second step.
                while true {
                    let next = rest.firstIndex(where: { if case .add = $0 { true } else { false } })
                    let activations = Array(rest[..<(next ?? rest.count)])
                    var addLabel = label
                    addLabel.part = label.part.map { $0 + ".add" } ?? "add"
                    addLabel.name = label.name.map { $0 + ".add" }
                    value = separated.append(.add(value, shortcut: shortcutValue, post: activations), addLabel)
                    guard let next, case let .add(another) = rest[next] else { return value }
                    shortcutValue = map(another)
                    rest = Array(rest[(next + 1)...])
                }
            }
            let value: Value = switch step {
            case let .input(channels):
                separated.append(.input(channels: channels), label)
            case let .convolution(x, weight, bias, geometry, post):
                split(post) { separated.append(.convolution(map(x), weight: weight, bias: bias, geometry: geometry, post: $0), label) }
            case let .globalAveragePool(x):
                separated.append(.globalAveragePool(map(x)), label)
            case let .multiplyChannels(x, scale):
                separated.append(.multiplyChannels(map(x), scale: map(scale)), label)
            case let .linear(x, weight, bias, post):
                split(post) { separated.append(.linear(map(x), weight: weight, bias: bias, post: $0), label) }
            case let .add(x, shortcut, post):
                split(post) { separated.append(.add(map(x), shortcut: map(shortcut), post: $0), label) }
            case let .resizeBilinear(x, reference):
                separated.append(.resizeBilinear(map(x), sizeOf: map(reference)), label)
            }
            moved.append(value.index)
        }
        separated.markedOutputs = markedOutputs.map(map)
        return separated
    }

    private mutating func append(_ step: Step, _ label: StepLabel) -> Value {
        steps.append(step)
        labels.append(label)
        return Value(index: steps.count - 1)
    }

    /// Sets the kind of the step that computed `value`.
    public mutating func setKind(_ kind: StepKind, of value: Value) {
        labels[value.index].kind = kind
    }

    /// Names every step after the layer it came from: `paths` maps a layer to its state-dict
    /// path; a part is appended with a dot (`features.4.block.2.avgpool`), a step without a
    /// layer is named by its part alone (`avgpool`), one with neither `step N`.
    public mutating func name(using paths: [ObjectIdentifier: String]) {
        for index in labels.indices {
            let label = labels[index]
            let path = label.layer.flatMap { paths[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            labels[index].name = switch (path, label.part) {
            case let (path?, part?): "\(path).\(part)"
            case let (path?, nil): path
            case let (nil, part?): part
            case (nil, nil): "step \(index)"
            }
        }
    }

    /// The step's name, resolved or not.
    public func name(of index: Int) -> String {
        labels[index].name ?? labels[index].part ?? "step \(index)"
    }

    /// The last step's value: the network's output unless others are marked (``outputs``).
    public var output: Value { Value(index: steps.count - 1) }

    /// The values a run returns, in order: the last step's, unless ``markOutput(_:)`` named others.
    public var outputs: [Value] { markedOutputs.isEmpty ? [output] : markedOutputs }

    /// Makes `value` one of the network's outputs, after those marked before (a detector's
    /// prediction heads, say, one per feature map). Once any is marked, only the marked values
    /// are outputs.
    public mutating func markOutput(_ value: Value) {
        precondition(steps.indices.contains(value.index), "an output must be a step of the graph")
        markedOutputs.append(value)
    }

    /// For each value, the index of the last step that reads it (its own index if none does);
    /// an output is read by the run's end, `steps.count`.
    public var lastUses: [Int] {
        var last = Array(steps.indices)
        for (index, step) in steps.enumerated() {
            for value in step.inputs { last[value.index] = max(last[value.index], index) }
        }
        for value in outputs { last[value.index] = steps.count }
        return last
    }

    /// Runs the graph one plain operation at a time on `Engine.current`: no fusion, no folding
    /// beyond what the graph holds. The reference for ``InferenceSession``.
    public func evaluate(_ input: Tensor) throws -> Tensor {
        try values(input)[output.index]
    }

    /// Every output's value for `input`, in the order of ``outputs``, computed as
    /// ``evaluate(_:)`` does.
    public func evaluateOutputs(_ input: Tensor) throws -> [Tensor] {
        let all = try values(input)
        return outputs.map { all[$0.index] }
    }

    /// Every step's value for `input`, computed as ``evaluate(_:)`` does (calibration observes them).
    public func values(_ input: Tensor) throws -> [Tensor] {
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
            case let .add(x, shortcut, post):
                values[index] = try apply(post, to: MobileNetTensor.add(value(x), value(shortcut)))
            case let .resizeBilinear(x, reference):
                let size = value(reference).shape
                values[index] = try MobileNetTensor.resizeBilinear(value(x), height: size[1], width: size[2])
            }
        }
        return values.map { $0! }
    }
}

extension InferenceGraph.Step {
    /// A convolution's or linear step's input, weight and bias; nil for the other steps.
    public var layer: (input: InferenceGraph.Value, weight: Tensor, bias: Tensor)? {
        switch self {
        case let .convolution(x, weight, bias, _, _), let .linear(x, weight, bias, _): (x, weight, bias)
        case .input, .globalAveragePool, .multiplyChannels, .add, .resizeBilinear: nil
        }
    }

    /// The work fused into the step's end (none for the steps that take none).
    public var post: [InferenceGraph.PostOperation] {
        switch self {
        case let .convolution(_, _, _, _, post), let .linear(_, _, _, post), let .add(_, _, post): post
        case .input, .globalAveragePool, .multiplyChannels, .resizeBilinear: []
        }
    }

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
        case let .add(x, shortcut, post): return [x, shortcut] + postInputs(post)
        // The reference gives its size alone: it is not read.
        case let .resizeBilinear(x, _): return [x]
        }
    }
}
