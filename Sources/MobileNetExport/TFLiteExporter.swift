import Foundation
import MobileNetModels
import MobileNetQuantization
import MobileNetTensor

/// A model as a TFLite file (schema version 3, file identifier `TFL3`) that LiteRT and its
/// delegates (XNNPACK, NNAPI) run: NHWC float32 input `input`, output `logits`; CONV_2D and
/// DEPTHWISE_CONV_2D with fused ReLU/ReLU6, PAD where PyTorch's symmetric padding is not
/// TFLite's SAME, HARD_SWISH, ADD, MUL, MEAN and FULLY_CONNECTED. TFLite shapes are static: the
/// batch is fixed (`batch`, 1 unless given; its shape signature says -1, so LiteRT may resize it).
public enum TFLiteExporter {
    public static func data(_ model: any ImageClassifier, resolution: Int, batch: Int = 1) throws -> Data {
        var writer = TFLiteGraphWriter(graph: try model.inferenceGraph())
        return Data(try writer.write(resolution: resolution, batch: batch, description: ONNXExporter.name(of: model.configuration)))
    }

    /// An int8 model as a full-integer TFLite file, as TFLite's quantization spec defines it:
    /// `int8` activations with zero points (our `uint8` value `q` with zero point `z` is the
    /// `int8` value `q - 128` with zero point `z - 128`, the same real number), symmetric int8
    /// weights per output channel (`quantized_dimension` 0, or 3 for depthwise), int32 biases at
    /// `s_in · s_w[c]`. The float image is quantized by a QUANTIZE at the input. Every layer our
    /// model requantizes in its destination's units (``GraphQuantization/Requantization``) is an
    /// int8 CONV_2D / DEPTHWISE_CONV_2D, residual adds int8 ADDs, the pooling an int8 MEAN; what
    /// our int8 model computes in real units stays float between DEQUANTIZE and QUANTIZE
    /// (hard-swish and hard-sigmoid layers, the squeeze-and-excitation multiply, the classifier),
    /// with the integer weights dequantized.
    public static func data(_ quantized: QuantizedModel, resolution: Int, batch: Int = 1) throws -> Data {
        var writer = TFLiteGraphWriter(graph: quantized.graph, quantization: quantized.quantization)
        return Data(try writer.write(
            resolution: resolution, batch: batch, description: ONNXExporter.name(of: quantized.configuration) + "_int8"))
    }
}

/// The TFLite schema's numbers this writer uses (`tensorflow/lite/schema/schema.fbs`).
enum TFLite {
    enum Operator: Int32 {
        case add = 0, conv2D = 3, depthwiseConv2D = 4, dequantize = 6, fullyConnected = 9, logistic = 14, mul = 18, pad = 34, mean = 40,
             quantize = 114, hardSwish = 117
    }

    enum Options: UInt8 {
        case none = 0, conv2D = 1, depthwiseConv2D = 2, fullyConnected = 8, add = 11, mul = 21, pad = 22, reducer = 27, hardSwish = 91
    }

    enum TensorType: Int8 {
        case float32 = 0, int32 = 2, int8 = 9
    }

    enum Activation: Int8 {
        case none = 0, relu = 1, relu6 = 3
    }

    enum Padding: Int8 {
        case same = 0, valid = 1
    }
}

/// Writes the inference graph's steps as TFLite tensors and operators, NHWC throughout.
struct TFLiteGraphWriter {
    let graph: InferenceGraph
    /// For a full-integer export; nil in fp32.
    let quantization: GraphQuantization?

    /// A tensor's quantization parameters: per tensor (one scale) or per axis.
    private struct Quantization {
        var scales: [Float]
        var zeroPoints: [Int64]
        var dimension: Int32 = 0
    }

    private struct TensorRecord {
        var name: String
        var shape: [Int32]
        var type: TFLite.TensorType
        var buffer: Int
        var signature: [Int32]?
        var quantization: Quantization?
    }

    private struct OperatorRecord {
        var code: TFLite.Operator
        var inputs: [Int32]
        var outputs: [Int32]
        var options: TFLite.Options
        /// Writes the options table (nil for none).
        var writeOptions: ((inout FlatBufferBuilder) -> FlatBufferBuilder.Offset)?
    }

    private var tensors: [TensorRecord] = []
    /// Buffer 0 is the empty one every activation tensor points to.
    private var buffers: [[UInt8]] = [[]]
    private var operators: [OperatorRecord] = []
    /// The tensor of each step's value, and its NHWC shape.
    private var values: [Int32] = []
    private var shapes: [[Int]] = []
    private var batch = 1

    /// In int8, the DEQUANTIZE of each integer step's value, made once when a float operator first reads it.
    private var floatValues: [Int: Int32] = [:]
    /// The float image the file takes.
    private var inputTensor: Int32 = 0

    init(graph: InferenceGraph, quantization: GraphQuantization? = nil) {
        self.graph = graph
        self.quantization = quantization
    }

    /// Whether step `index`'s value is an int8 tensor in the file.
    private func isInteger(_ index: Int) -> Bool {
        quantization.map { $0.values[index].type != .float32 } ?? false
    }

    /// TFLite's int8 form of an integer value: the same scale, the zero point moved by -128.
    private func int8Quantization(_ index: Int) -> Quantization? {
        guard let value = quantization?.values[index], value.type != .float32 else { return nil }
        let shift: Int64 = value.type == .uint8 ? -128 : 0
        return Quantization(scales: [value.scale], zeroPoints: [Int64(value.zeroPoint) + shift])
    }

    /// Step `index`'s value as a float tensor: itself, or a DEQUANTIZE of it.
    private mutating func floatValue(_ index: Int) -> Int32 {
        guard isInteger(index) else { return values[index] }
        if let made = floatValues[index] { return made }
        let output = activation(graph.name(of: index) + ".dequantized", shape: shapes[index])
        operators.append(OperatorRecord(code: .dequantize, inputs: [values[index]], outputs: [output], options: .none))
        floatValues[index] = output
        return output
    }

    /// A float result of step `index` as the step's value: QUANTIZE'd where that value is an integer.
    private mutating func stored(_ result: Int32, step index: Int, shape: [Int]) -> Int32 {
        guard let quantization = int8Quantization(index) else { return result }
        let output = activation(graph.name(of: index) + ".quantized", shape: shape, quantization: quantization)
        operators.append(OperatorRecord(code: .quantize, inputs: [result], outputs: [output], options: .none))
        return output
    }

    mutating func write(resolution: Int, batch: Int, description: String) throws -> [UInt8] {
        self.batch = batch
        for (index, step) in graph.steps.enumerated() {
            let layer = graph.name(of: index)
            switch step {
            case let .input(channels):
                let shape = [batch, resolution, resolution, channels]
                let image = activation("input", shape: shape, signature: [-1, Int32(resolution), Int32(resolution), Int32(channels)])
                values.append(image)
                shapes.append(shape)
                inputTensor = image
                values[index] = stored(image, step: index, shape: shape)
            case let .convolution(x, weight, bias, geometry, post):
                try convolution(layer, step: index, source: x.index, weight: weight, bias: bias, geometry: geometry, post: post)
            case let .globalAveragePool(x):
                let shape = [shapes[x.index][0], 1, 1, shapes[x.index][3]]
                let axes = constant(layer + ".axes", int32: [1, 2], shape: [2])
                // In int8 an int8 MEAN, its output at the input's scale and zero point.
                let output = activation(layer, shape: shape, quantization: int8Quantization(index))
                operators.append(OperatorRecord(code: .mean, inputs: [values[x.index], axes], outputs: [output], options: .reducer) { builder in
                    builder.startTable()
                    builder.add(0, UInt8(1))  // keep_dims
                    return builder.endTable()
                })
                values.append(output)
                shapes.append(shape)
            case let .multiplyChannels(x, scale):
                let output = activation(isInteger(index) ? layer + ".product" : layer, shape: shapes[x.index])
                operators.append(binary(.mul, [floatValue(x.index), floatValue(scale.index)], output, activation: .none))
                values.append(stored(output, step: index, shape: shapes[x.index]))
                shapes.append(shapes[x.index])
            case let .linear(x, weight, bias, post):
                let outputs = weight.shape[0]
                let shape = [shapes[x.index][0], outputs]
                let (floatWeight, floatBias) = try floatParameters(step: index, source: x.index, weight: weight, bias: bias)
                let weights = constant(layer + ".weight", floats: floatWeight, shape: weight.shape.dimensions)
                let biases = constant(layer + ".bias", floats: floatBias, shape: [outputs])
                let (fused, rest) = fusedActivation(post)
                var output = activation(rest.isEmpty && !isInteger(index) ? layer : layer + ".linear", shape: shape)
                operators.append(OperatorRecord(
                    code: .fullyConnected, inputs: [floatValue(x.index), weights, biases], outputs: [output], options: .fullyConnected
                ) { builder in
                    builder.startTable()
                    builder.add(0, fused.rawValue)
                    return builder.endTable()
                })
                output = try apply(rest, to: output, shape: shape, layer: layer)
                shapes.append(shape)
                values.append(stored(output, step: index, shape: shape))
            case let .add(x, shortcut, post):
                if isInteger(index) {
                    guard isInteger(x.index), isInteger(shortcut.index),
                          post.allSatisfy({ if case .activation(.identity) = $0 { true } else { false } }) else {
                        throw ExportError.unsupported("an int8 add of a float value or with an activation")
                    }
                    let output = activation(layer, shape: shapes[x.index], quantization: int8Quantization(index))
                    operators.append(binary(.add, [values[x.index], values[shortcut.index]], output, activation: .none))
                    values.append(output)
                } else {
                    let first = floatValue(x.index)
                    values.append(try apply([.add(shortcut)] + post, to: first, shape: shapes[x.index], layer: layer))
                }
                shapes.append(shapes[x.index])
            case .resizeBilinear:
                throw ExportError.unsupported("a bilinear resize (\(layer))")
            }
        }
        tensors[Int(values[graph.output.index])].name = "logits"
        return serialize(inputs: [inputTensor], outputs: [values[graph.output.index]], description: description)
    }

    // MARK: Steps

    private mutating func convolution(
        _ layer: String, step: Int, source: Int, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, post: [InferenceGraph.PostOperation]
    ) throws {
        let (outputs, perGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let inputShape = shapes[source]
        let depthwise = geometry.groups > 1
        guard !depthwise || (geometry.groups == inputShape[3] && perGroup == 1 && outputs == inputShape[3]) else {
            throw ExportError.unsupported("a grouped convolution that is not depthwise (\(geometry.groups) groups)")
        }
        let outputShape = [
            inputShape[0], geometry.outputExtent(input: inputShape[1], kernel: kh), geometry.outputExtent(input: inputShape[2], kernel: kw),
            outputs,
        ]
        // PyTorch pads both sides alike; TFLite's SAME does so only at stride 1 with an odd
        // kernel. Elsewhere an explicit PAD, then VALID.
        let integer = quantization.map {
            $0.layers[step] != nil && isInteger(source) && isInteger(step)
                && GraphQuantization.requantization(post: post, destination: $0.values[step]) == .destination
        } ?? false
        var input = integer ? values[source] : floatValue(source)
        let same = geometry.stride == 1 && kh == kw && kh % 2 == 1 && geometry.padding == geometry.dilation * (kh - 1) / 2
        if !same, geometry.padding > 0 {
            let p = Int32(geometry.padding)
            let paddings = constant(layer + ".paddings", int32: [0, 0, p, p, p, p, 0, 0], shape: [4, 2])
            let padded = [inputShape[0], inputShape[1] + 2 * geometry.padding, inputShape[2] + 2 * geometry.padding, inputShape[3]]
            // An int8 PAD fills with the zero point: real 0, as PyTorch pads.
            let output = activation(layer + ".pad", shape: padded, quantization: integer ? int8Quantization(source) : nil)
            operators.append(OperatorRecord(code: .pad, inputs: [input, paddings], outputs: [output], options: .pad) { builder in
                builder.startTable()
                return builder.endTable()
            })
            input = output
        }
        // OIHW to OHWI (CONV_2D) or [1, H, W, O] (DEPTHWISE_CONV_2D).
        func transposed<Element>(_ w: [Element]) -> [Element] {
            var result = w
            for o in 0..<outputs { for i in 0..<perGroup { for y in 0..<kh { for x in 0..<kw {
                let from = ((o * perGroup + i) * kh + y) * kw + x
                result[depthwise ? (y * kw + x) * outputs + o : ((o * kh + y) * kw + x) * perGroup + i] = w[from]
            } } } }
            return result
        }
        let weightShape = depthwise ? [1, kh, kw, outputs] : [outputs, kh, kw, perGroup]
        let weights: Int32, biases: Int32
        let (fused, rest) = fusedActivation(post)
        var output: Int32
        if integer, let quantization, let layer8 = quantization.layers[step] {
            // Full integer: int8 in, int8 weights per output channel, int32 bias, int8 out.
            let sourceScale = quantization.values[source].scale
            let zeros = [Int64](repeating: 0, count: outputs)
            weights = constant(
                layer + ".weight", bytes: transposed(layer8.weights).littleEndianBytes, type: .int8, shape: weightShape,
                quantization: Quantization(scales: layer8.weightScales, zeroPoints: zeros, dimension: depthwise ? 3 : 0))
            biases = constant(
                layer + ".bias", bytes: layer8.bias.littleEndianBytes, type: .int32, shape: [outputs],
                quantization: Quantization(scales: layer8.weightScales.map { sourceScale * $0 }, zeroPoints: zeros))
            output = activation(layer, shape: outputShape, quantization: int8Quantization(step))
        } else {
            let (w, b) = try floatParameters(step: step, source: source, weight: weight, bias: bias)
            weights = constant(layer + ".weight", floats: transposed(w), shape: weightShape)
            biases = constant(layer + ".bias", floats: b, shape: [outputs])
            output = activation(rest.isEmpty && !isInteger(step) ? layer : layer + ".conv", shape: outputShape)
        }
        let (padding, stride, dilation) = (same ? TFLite.Padding.same : .valid, Int32(geometry.stride), Int32(geometry.dilation))
        operators.append(OperatorRecord(
            code: depthwise ? .depthwiseConv2D : .conv2D, inputs: [input, weights, biases], outputs: [output],
            options: depthwise ? .depthwiseConv2D : .conv2D
        ) { builder in
            builder.startTable()
            builder.add(0, padding.rawValue)
            builder.add(1, stride)
            builder.add(2, stride)
            if depthwise {
                builder.add(3, Int32(1))  // depth_multiplier
                builder.add(4, fused.rawValue)
                builder.add(5, dilation, default: 1)
                builder.add(6, dilation, default: 1)
            } else {
                builder.add(3, fused.rawValue)
                builder.add(4, dilation, default: 1)
                builder.add(5, dilation, default: 1)
            }
            return builder.endTable()
        })
        if !integer {
            output = stored(try apply(rest, to: output, shape: outputShape, layer: layer), step: step, shape: outputShape)
        }
        values.append(output)
        shapes.append(outputShape)
    }

    /// A layer's weights and bias in float: the graph's, or in int8 the integers times their scales.
    private func floatParameters(step: Int, source: Int, weight: Tensor, bias: Tensor) throws -> ([Float], [Float]) {
        guard let quantization else { return (weight.scalars, bias.scalars) }
        guard let layer = quantization.layers[step] else { throw ExportError.unsupported("step \(step) without integer weights") }
        let perChannel = layer.weights.count / max(layer.weightScales.count, 1)
        let sourceScale = quantization.values[source].scale
        let weights = layer.weights.enumerated().map { Float($0.element) * layer.weightScales[$0.offset / perChannel] }
        let biases = layer.bias.enumerated().map { Float($0.element) * (sourceScale * layer.weightScales[$0.offset]) }
        return (weights, biases)
    }

    /// The activation a convolution or FULLY_CONNECTED can fuse (post-ops of only a ReLU or
    /// ReLU6), and the post-ops left for operators of their own.
    private func fusedActivation(_ post: [InferenceGraph.PostOperation]) -> (TFLite.Activation, [InferenceGraph.PostOperation]) {
        guard post.count == 1, case let .activation(kind) = post[0] else { return (.none, post) }
        switch kind {
        case .relu: return (.relu, [])
        case .relu6: return (.relu6, [])
        case .identity: return (.none, [])
        case .hardSwish, .hardSigmoid, .sigmoid: return (.none, post)
        }
    }

    /// Residual adds and activations as operators after `output`.
    private mutating func apply(_ post: [InferenceGraph.PostOperation], to output: Int32, shape: [Int], layer: String) throws -> Int32 {
        var current = output
        for (position, operation) in post.enumerated() {
            let last = position == post.count - 1
            let name = last ? layer : layer + ".\(position)"
            switch operation {
            case let .add(shortcut):
                // A following ReLU/ReLU6 rides on the ADD.
                var fused = TFLite.Activation.none
                if position + 1 < post.count, case let .activation(kind) = post[position + 1], kind == .relu || kind == .relu6 {
                    fused = kind == .relu ? .relu : .relu6
                }
                let result = activation(fused == .none ? name : layer, shape: shape)
                operators.append(binary(.add, [current, values[shortcut.index]], result, activation: fused))
                current = result
                if fused != .none { return current }
            case let .activation(kind):
                current = try activationOperator(kind, on: current, shape: shape, name: name)
            }
        }
        return current
    }

    private mutating func activationOperator(_ kind: Activation, on input: Int32, shape: [Int], name: String) throws -> Int32 {
        switch kind {
        case .identity:
            return input
        case .hardSwish:
            let output = activation(name, shape: shape)
            operators.append(OperatorRecord(code: .hardSwish, inputs: [input], outputs: [output], options: .hardSwish) { builder in
                builder.startTable()
                return builder.endTable()
            })
            return output
        case .sigmoid:
            let output = activation(name, shape: shape)
            operators.append(OperatorRecord(code: .logistic, inputs: [input], outputs: [output], options: .none))
            return output
        case .hardSigmoid:
            // relu6(x + 3) / 6, PyTorch's definition: ADD with a fused RELU6, then MUL.
            let three = constant(name + ".three", floats: [3], shape: [])
            let sixth = constant(name + ".sixth", floats: [1.0 / 6.0], shape: [])
            let shifted = activation(name + ".shifted", shape: shape)
            operators.append(binary(.add, [input, three], shifted, activation: .relu6))
            let output = activation(name, shape: shape)
            operators.append(binary(.mul, [shifted, sixth], output, activation: .none))
            return output
        case .relu, .relu6:
            // Left over only after a residual add, which fuses them; a lone one becomes
            // max(x + 0, 0) by an ADD of zero with the activation fused.
            let zero = constant(name + ".zero", floats: [0], shape: [])
            let output = activation(name, shape: shape)
            operators.append(binary(.add, [input, zero], output, activation: kind == .relu ? .relu : .relu6))
            return output
        }
    }

    private func binary(_ code: TFLite.Operator, _ inputs: [Int32], _ output: Int32, activation: TFLite.Activation) -> OperatorRecord {
        OperatorRecord(code: code, inputs: inputs, outputs: [output], options: code == .add ? .add : .mul) { builder in
            builder.startTable()
            builder.add(0, activation.rawValue)
            return builder.endTable()
        }
    }

    // MARK: Tensors

    /// An activation tensor: float32, or int8 with `quantization`.
    private mutating func activation(_ name: String, shape: [Int], signature: [Int32]? = nil, quantization: Quantization? = nil) -> Int32 {
        tensors.append(TensorRecord(
            name: name, shape: shape.map(Int32.init), type: quantization == nil ? .float32 : .int8, buffer: 0, signature: signature,
            quantization: quantization))
        return Int32(tensors.count - 1)
    }

    private mutating func constant(_ name: String, floats: [Float], shape: [Int]) -> Int32 {
        constant(name, bytes: floats.littleEndianBytes, type: .float32, shape: shape)
    }

    private mutating func constant(_ name: String, int32 values: [Int32], shape: [Int]) -> Int32 {
        constant(name, bytes: values.littleEndianBytes, type: .int32, shape: shape)
    }

    /// A tensor holding `bytes` in a buffer of its own.
    private mutating func constant(
        _ name: String, bytes: [UInt8], type: TFLite.TensorType, shape: [Int], quantization: Quantization? = nil
    ) -> Int32 {
        buffers.append(bytes)
        tensors.append(TensorRecord(
            name: name, shape: shape.map(Int32.init), type: type, buffer: buffers.count - 1, quantization: quantization))
        return Int32(tensors.count - 1)
    }

    // MARK: The file

    /// Model { version 3, operator_codes, subgraphs [one], description, buffers }.
    private func serialize(inputs: [Int32], outputs: [Int32], description: String) -> [UInt8] {
        var builder = FlatBufferBuilder()
        // Buffers first: their data is the bulk, at the end of the file.
        let bufferTables = buffers.map { data -> FlatBufferBuilder.Offset in
            let vector = data.isEmpty ? nil : builder.vector(data, alignment: 16)
            builder.startTable()
            if let vector { builder.add(0, vector) }
            return builder.endTable()
        }
        let codes = Array(Set(operators.map(\.code))).sorted { $0.rawValue < $1.rawValue }
        let codeTables = codes.map { code -> FlatBufferBuilder.Offset in
            builder.startTable()
            builder.add(0, Int8(clamping: code.rawValue))  // deprecated_builtin_code (127 at most)
            builder.add(2, Int32(1))  // version
            builder.add(3, code.rawValue)  // builtin_code
            return builder.endTable()
        }
        let tensorTables = tensors.map { tensor -> FlatBufferBuilder.Offset in
            let shape = builder.vector(tensor.shape)
            let signature = tensor.signature.map { builder.vector($0) }
            let name = builder.string(tensor.name)
            // QuantizationParameters { min, max, scale (2), zero_point (3), …, quantized_dimension (6) }.
            let quantization = tensor.quantization.map { parameters -> FlatBufferBuilder.Offset in
                let scales = builder.vector(parameters.scales)
                let zeroPoints = builder.vector(parameters.zeroPoints)
                builder.startTable()
                builder.add(2, scales)
                builder.add(3, zeroPoints)
                builder.add(6, parameters.dimension)
                return builder.endTable()
            }
            builder.startTable()
            builder.add(0, shape)
            builder.add(1, tensor.type.rawValue)
            builder.add(2, UInt32(tensor.buffer))
            builder.add(3, name)
            if let quantization { builder.add(4, quantization) }
            if let signature { builder.add(7, signature) }
            return builder.endTable()
        }
        let operatorTables = operators.map { record -> FlatBufferBuilder.Offset in
            let inputs = builder.vector(record.inputs)
            let outputs = builder.vector(record.outputs)
            let options = record.writeOptions.map { $0(&builder) }
            builder.startTable()
            builder.add(0, UInt32(codes.firstIndex(of: record.code)!))
            builder.add(1, inputs)
            builder.add(2, outputs)
            builder.add(3, record.options.rawValue)
            if let options { builder.add(4, options) }
            return builder.endTable()
        }
        let tensorVector = builder.vector(offsets: tensorTables)
        let inputVector = builder.vector(inputs)
        let outputVector = builder.vector(outputs)
        let operatorVector = builder.vector(offsets: operatorTables)
        let subgraphName = builder.string("main")
        builder.startTable()
        builder.add(0, tensorVector)
        builder.add(1, inputVector)
        builder.add(2, outputVector)
        builder.add(3, operatorVector)
        builder.add(4, subgraphName)
        let subgraph = builder.endTable()

        let subgraphs = builder.vector(offsets: [subgraph])
        let codeVector = builder.vector(offsets: codeTables)
        let bufferVector = builder.vector(offsets: bufferTables)
        let text = builder.string("swift-mobilenet: " + description)
        builder.startTable()
        builder.add(0, UInt32(3))  // schema version
        builder.add(1, codeVector)
        builder.add(2, subgraphs)
        builder.add(3, text)
        builder.add(4, bufferVector)
        let model = builder.endTable()
        return builder.finish(model, identifier: "TFL3")
    }
}
