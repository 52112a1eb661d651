import Foundation
import MobileNetModels
import MobileNetQuantization
import MobileNetTensor
import SwiftProtobuf

/// A model as an ONNX file (`ir_version` 8, opset 17) that ONNX Runtime, OpenVINO and TensorRT
/// read: the folded inference graph (batch norm already in the convolutions) as Conv, Clip,
/// Relu, HardSwish, HardSigmoid, Mul, Add, GlobalAveragePool, Flatten and Gemm nodes; input
/// `input`, NCHW float32 as torchvision users feed it, output `logits`.
///
/// Initializers carry the state-dict names of the layers they come from
/// (`features.3.conv.1.0.weight`), stored as `raw_data` (little-endian).
public enum ONNXExporter {
    public static let irVersion: Int64 = 8
    public static let opsetVersion: Int64 = 17

    /// The input's batch dimension: a fixed size, or the symbolic `N`.
    public enum Batch: Hashable, Sendable {
        case fixed(Int)
        case dynamic
    }

    /// The fp32 model: `model`'s inference graph at `resolution`².
    public static func model(
        _ model: any ImageClassifier, resolution: Int, batch: Batch = .dynamic
    ) throws -> Onnx_ModelProto {
        var builder = ONNXGraphBuilder(graph: try model.inferenceGraph(), name: name(of: model.configuration))
        return try builder.build(resolution: resolution, batch: batch)
    }

    /// The bytes of ``model(_:resolution:batch:)``.
    public static func data(_ model: any ImageClassifier, resolution: Int, batch: Batch = .dynamic) throws -> Data {
        try Self.model(model, resolution: resolution, batch: batch).serializedData()
    }

    /// An int8 model in ONNX's QDQ form, the layout ONNX Runtime fuses into `QLinearConv`:
    /// every integer value as `QuantizeLinear` → `DequantizeLinear` (u8, the model's own scale
    /// and zero point), each layer's int8 weights as an initializer dequantized per output
    /// channel (`axis=0`) and its int32 bias at `s_src · s_w[c]`; what the int8 model keeps in
    /// float (the squeeze-and-excitation gate, the logits) stays float.
    public static func model(
        _ quantized: QuantizedModel, resolution: Int, batch: Batch = .dynamic
    ) throws -> Onnx_ModelProto {
        var builder = ONNXGraphBuilder(
            graph: quantized.graph, name: name(of: quantized.configuration) + "_int8", quantization: quantized.quantization)
        return try builder.build(resolution: resolution, batch: batch)
    }

    /// The bytes of ``model(_:resolution:batch:)-(QuantizedModel,_,_)``.
    public static func data(_ quantized: QuantizedModel, resolution: Int, batch: Batch = .dynamic) throws -> Data {
        try Self.model(quantized, resolution: resolution, batch: batch).serializedData()
    }

    static func name(of configuration: ModelConfiguration) -> String {
        "mobilenet_\(configuration.architecture.rawValue.replacingOccurrences(of: "-", with: "_"))_\(configuration.widthMultiplier)"
    }
}

/// Builds the ONNX graph step by step: each graph step's value gets a tensor name, each
/// operation a node.
struct ONNXGraphBuilder {
    let graph: InferenceGraph
    let name: String
    /// For a QDQ export; nil in fp32.
    let quantization: GraphQuantization?
    private var nodes: [Onnx_NodeProto] = []
    private var initializers: [Onnx_TensorProto] = []
    /// The ONNX tensor holding each step's value, by step index.
    private var tensorNames: [String] = []

    init(graph: InferenceGraph, name: String, quantization: GraphQuantization? = nil) {
        self.graph = graph
        self.name = name
        self.quantization = quantization
    }

    mutating func build(resolution: Int, batch: ONNXExporter.Batch) throws -> Onnx_ModelProto {
        for (index, step) in graph.steps.enumerated() {
            let layer = graph.name(of: index)
            switch step {
            case let .input(channels):
                guard channels == 3 else { throw ExportError.unsupported("an input of \(channels) channels") }
                tensorNames.append(quantizedInput(step: index))
            case let .convolution(x, weight, bias, geometry, post):
                let kernel = [Int64(weight.shape[2]), Int64(weight.shape[3])]
                let pad = Int64(geometry.padding)
                let (weightName, biasName) = try parameters(layer, weight: weight, bias: bias, step: index, source: x.index)
                let output = node(
                    "Conv", inputs: [tensorNames[x.index], weightName, biasName],
                    name: layer, attributes: [
                        .ints("kernel_shape", kernel), .ints("strides", [Int64(geometry.stride), Int64(geometry.stride)]),
                        .ints("pads", [pad, pad, pad, pad]), .ints("dilations", [Int64(geometry.dilation), Int64(geometry.dilation)]),
                        .int("group", Int64(geometry.groups)),
                    ])
                tensorNames.append(quantized(apply(post, to: output, layer: layer), step: index, name: layer))
            case let .globalAveragePool(x):
                tensorNames.append(quantized(node("GlobalAveragePool", inputs: [tensorNames[x.index]], name: layer), step: index, name: layer))
            case let .multiplyChannels(x, scale):
                tensorNames.append(
                    quantized(node("Mul", inputs: [tensorNames[x.index], tensorNames[scale.index]], name: layer), step: index, name: layer))
            case let .linear(x, weight, bias, post):
                var source = tensorNames[x.index]
                if !isFlat(x.index) {
                    source = node("Flatten", inputs: [source], name: layer + ".flatten", attributes: [.int("axis", 1)])
                }
                let (weightName, biasName) = try parameters(layer, weight: weight, bias: bias, step: index, source: x.index)
                let output = node("Gemm", inputs: [source, weightName, biasName], name: layer, attributes: [.int("transB", 1)])
                tensorNames.append(quantized(apply(post, to: output, layer: layer), step: index, name: layer))
            case let .add(x, shortcut, post):
                let sum = node("Add", inputs: [tensorNames[x.index], tensorNames[shortcut.index]], name: layer)
                tensorNames.append(quantized(apply(post, to: sum, layer: layer), step: index, name: layer))
            case .resizeBilinear:
                throw ExportError.unsupported("a bilinear resize (\(layer))")
            }
        }
        // The graph's last node writes `logits`.
        let last = tensorNames[graph.output.index]
        guard let producer = nodes.lastIndex(where: { $0.output.contains(last) }) else {
            throw ExportError.unsupported("a graph whose output is its input")
        }
        nodes[producer].output = nodes[producer].output.map { $0 == last ? "logits" : $0 }

        var graphProto = Onnx_GraphProto()
        graphProto.name = name
        graphProto.node = nodes
        graphProto.initializer = initializers
        let batchDimension: Onnx_TensorShapeProto.Dimension = {
            var dimension = Onnx_TensorShapeProto.Dimension()
            switch batch {
            case let .fixed(size): dimension.dimValue = Int64(size)
            case .dynamic: dimension.dimParam = "N"
            }
            return dimension
        }()
        graphProto.input = [
            Self.valueInfo("input", dimensions: [batchDimension] + [3, resolution, resolution].map(Self.dimension)),
        ]
        let classes = graph.steps[graph.output.index].layer?.weight.shape[0] ?? 0
        graphProto.output = [Self.valueInfo("logits", dimensions: [batchDimension, Self.dimension(classes)])]

        var model = Onnx_ModelProto()
        model.irVersion = ONNXExporter.irVersion
        model.producerName = "swift-mobilenet"
        model.producerVersion = "1"
        model.modelVersion = 1
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = ONNXExporter.opsetVersion
        model.opsetImport = [opset]
        model.graph = graphProto
        return model
    }

    /// A layer's weight and bias inputs: float initializers, or in QDQ the integer ones behind
    /// `DequantizeLinear` nodes (per output channel).
    private mutating func parameters(
        _ layer: String, weight: Tensor, bias: Tensor, step: Int, source: Int
    ) throws -> (weight: String, bias: String) {
        guard let quantization else {
            return (floats(layer + ".weight", weight.scalars, dims: weight.shape.dimensions), floats(layer + ".bias", bias.scalars, dims: bias.shape.dimensions))
        }
        guard let integers = quantization.layers[step] else { throw ExportError.unsupported("step \(step) without integer weights") }
        let channels = integers.weightScales.count
        let sourceScale = quantization.values[source].scale
        let weightName = dequantized(
            layer + ".weight", integers: .int8(integers.weights), dims: weight.shape.dimensions, scales: integers.weightScales,
            node: layer + ".weight.dequantize")
        let biasName = dequantized(
            layer + ".bias", integers: .int32(integers.bias), dims: [channels], scales: integers.weightScales.map { sourceScale * $0 },
            node: layer + ".bias.dequantize")
        return (weightName, biasName)
    }

    enum Integers {
        case int8([Int8])
        case int32([Int32])
    }

    /// An integer initializer `name` with per-axis scales (zero points 0), dequantized along
    /// axis 0; returns the float tensor's name.
    private mutating func dequantized(_ name: String, integers: Integers, dims: [Int], scales: [Float], node nodeName: String) -> String {
        var data = Onnx_TensorProto()
        data.name = name
        data.dims = dims.map(Int64.init)
        var zero = Onnx_TensorProto()
        zero.name = name + "_zero_point"
        zero.dims = [Int64(scales.count)]
        switch integers {
        case let .int8(values):
            data.dataType = Int32(Onnx_TensorProto.DataType.int8.rawValue)
            data.rawData = Data(values.littleEndianBytes)
            zero.dataType = data.dataType
            zero.rawData = Data(count: scales.count)
        case let .int32(values):
            data.dataType = Int32(Onnx_TensorProto.DataType.int32.rawValue)
            data.rawData = Data(values.littleEndianBytes)
            zero.dataType = data.dataType
            zero.rawData = Data(count: scales.count * 4)
        }
        initializers.append(data)
        initializers.append(zero)
        let scale = floats(name + "_scale", scales, dims: [scales.count])
        return node("DequantizeLinear", inputs: [name, scale, zero.name], name: nodeName, attributes: [.int("axis", 0)])
    }

    /// In QDQ, an integer value `output` of step `step` as `QuantizeLinear` → `DequantizeLinear`
    /// with its scale and zero point; a float value (and every value in fp32) as it is.
    private mutating func quantized(_ output: String, step: Int, name: String) -> String {
        guard let quantization, quantization.values[step].type != .float32 else { return output }
        let value = quantization.values[step]
        let scale = floats(name + ".output_scale", [value.scale], dims: [])
        let zero = zeroPoint(name + ".output_zero_point", value)
        let integer = node("QuantizeLinear", inputs: [output, scale, zero], name: name + ".quantize")
        return node("DequantizeLinear", inputs: [integer, scale, zero], name: name + ".dequantize")
    }

    /// The image in QDQ: `Mul` by `1 / s` (the reciprocal our int8 input multiplies by), then
    /// `QuantizeLinear` at scale 1 (which divides by 1: exact) and `DequantizeLinear` at `s`; ONNX
    /// Runtime's own `QuantizeLinear(x, s)` would divide by `s`, which rounds differently. The
    /// float image as it is in fp32.
    private mutating func quantizedInput(step: Int) -> String {
        guard let quantization, quantization.values[step].type != .float32 else { return "input" }
        let value = quantization.values[step]
        let scaled = node("Mul", inputs: ["input", floats("input.inverse_scale", [1 / value.scale], dims: [])], name: "input.scale")
        let zero = zeroPoint("input.zero_point", value)
        let integer = node("QuantizeLinear", inputs: [scaled, floats("input.unit_scale", [1], dims: []), zero], name: "input.quantize")
        return node("DequantizeLinear", inputs: [integer, floats("input.scale", [value.scale], dims: []), zero], name: "input.dequantize")
    }

    /// A one-element zero-point initializer of `value`'s integer type.
    private mutating func zeroPoint(_ name: String, _ value: GraphQuantization.Value) -> String {
        var zero = Onnx_TensorProto()
        zero.name = name
        zero.dataType = Int32((value.type == .uint8 ? Onnx_TensorProto.DataType.uint8 : .int8).rawValue)
        zero.rawData = Data([UInt8(truncatingIfNeeded: value.zeroPoint)])
        initializers.append(zero)
        return name
    }

    /// A float32 initializer of `values` in the shape `dims` (none: a scalar); returns its name.
    private mutating func floats(_ name: String, _ values: [Float], dims: [Int]) -> String {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        proto.dims = dims.map(Int64.init)
        proto.rawData = Data(values.littleEndianBytes)
        initializers.append(proto)
        return name
    }

    /// Whether step `index`'s value is `[N, C]` (a linear step's) rather than NCHW, which a
    /// linear step reads only after a Flatten (a pooled `[N, C, 1, 1]`).
    private func isFlat(_ index: Int) -> Bool {
        if case .linear = graph.steps[index] { return true }
        return false
    }

    /// `post` as nodes after `output`: a residual `Add`, then the activation's nodes.
    private mutating func apply(_ post: [InferenceGraph.PostOperation], to output: String, layer: String) -> String {
        var current = output
        for (position, operation) in post.enumerated() {
            let suffix = post.count > 1 ? ".\(position)" : ""
            switch operation {
            case let .add(shortcut):
                current = node("Add", inputs: [current, tensorNames[shortcut.index]], name: layer + ".add" + suffix)
            case let .activation(kind):
                current = activation(kind, on: current, name: layer + "." + kind.rawValue + suffix)
            }
        }
        return current
    }

    private mutating func activation(_ kind: Activation, on input: String, name: String) -> String {
        switch kind {
        case .identity:
            return input
        case .relu:
            return node("Relu", inputs: [input], name: name)
        case .relu6:
            return node("Clip", inputs: [input, scalar("clip.min.0", 0), scalar("clip.max.6", 6)], name: name)
        case .hardSwish:
            return node("HardSwish", inputs: [input], name: name)
        case .hardSigmoid:
            // PyTorch's hard-sigmoid, relu6(x + 3) / 6: ONNX's with alpha 1/6, beta 1/2.
            return node("HardSigmoid", inputs: [input], name: name, attributes: [.float("alpha", 1.0 / 6.0), .float("beta", 0.5)])
        case .sigmoid:
            return node("Sigmoid", inputs: [input], name: name)
        }
    }

    /// Appends a node with one output named after it; returns the output's name.
    private mutating func node(_ type: String, inputs: [String], name: String, attributes: [Attribute] = []) -> String {
        var node = Onnx_NodeProto()
        node.opType = type
        node.name = name
        node.input = inputs
        node.output = [name + ".out"]
        node.attribute = attributes.map(\.proto)
        nodes.append(node)
        return node.output[0]
    }

    /// A scalar float32 initializer, made once per name (Clip's bounds, shared by every Clip).
    private mutating func scalar(_ name: String, _ value: Float) -> String {
        if initializers.contains(where: { $0.name == name }) { return name }
        return floats(name, [value], dims: [])
    }

    static func dimension(_ size: Int) -> Onnx_TensorShapeProto.Dimension {
        var dimension = Onnx_TensorShapeProto.Dimension()
        dimension.dimValue = Int64(size)
        return dimension
    }

    static func valueInfo(_ name: String, dimensions: [Onnx_TensorShapeProto.Dimension]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dimensions
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }

    /// A node attribute.
    enum Attribute {
        case int(String, Int64)
        case ints(String, [Int64])
        case float(String, Float)

        var proto: Onnx_AttributeProto {
            var attribute = Onnx_AttributeProto()
            switch self {
            case let .int(name, value):
                attribute.name = name
                attribute.type = .int
                attribute.i = value
            case let .ints(name, values):
                attribute.name = name
                attribute.type = .ints
                attribute.ints = values
            case let .float(name, value):
                attribute.name = name
                attribute.type = .float
                attribute.f = value
            }
            return attribute
        }
    }
}

/// A model the exporter cannot write.
public enum ExportError: Error, Hashable, Sendable, CustomStringConvertible {
    case unsupported(String)

    public var description: String {
        switch self {
        case let .unsupported(what): "export: \(what) has no ONNX form here"
        }
    }
}
