import Foundation
import MobileNetIO
import MobileNetModels
import MobileNetTensor

/// A quantized model as a file: safetensors with each convolution's and linear layer's int8
/// weights, float per-channel scales and int32 bias under its state-dict name
/// (`features.3.conv.1.0.weight`, `….weight_scale`, `….bias`), every value's type and scale
/// and zero point (`values.type`: 0 float32, 1 int8, 2 uint8; `values.scale`;
/// `values.zero_point`), and the model and the recipe in the metadata. About 3.5 MB for
/// MobileNetV2.
///
/// Loading is strict: the metadata must name this format and a model, and every key of that
/// model's quantized graph must be there, with its shape, and nothing else.
public enum QuantizedModelFile {
    public static let format = "swift-mobilenet-int8"
    /// 4: the adds' arithmetic (`add_arithmetic`: `onnxruntime` or `xnnpack`, version 3 rounded
    /// as oneDNN's binary add); 3: residual adds as steps of their own, the convolution before
    /// each quantized, ReLU/ReLU6/linear layers requantized in the destination's units (version 2
    /// fused the adds; version 1 had signed activations without zero points).
    public static let version = "4"

    /// How a model was quantized, kept in the file's metadata.
    public struct Recipe: Hashable, Sendable {
        /// `minmax` (the mean of each image's extremes).
        public var method: String
        /// Calibration images.
        public var samples: Int
        /// Where the calibration images came from (a folder, `fashion-mnist`).
        public var calibration: String
        public var biasCorrection: Bool
        /// The instruction set oneDNN used when the file was made (int8 results are exact with
        /// VNNI, see ``CPUEngine/hasInt8DotProduct``).
        public var instructionSet: String
        /// The calibration images' side, the resolution the model is meant to run at (what
        /// `mobilenet evaluate --model` feeds it); nil in files that do not record it.
        public var resolution: Int?
        /// The seed of the training run the model came from (its picture folder's validation
        /// split), where it was quantized from a run.
        public var trainingSeed: UInt64?

        public init(
            method: String, samples: Int, calibration: String, biasCorrection: Bool, instructionSet: String = CPUEngine.instructionSet,
            resolution: Int? = nil, trainingSeed: UInt64? = nil
        ) {
            self.method = method
            self.samples = samples
            self.calibration = calibration
            self.biasCorrection = biasCorrection
            self.instructionSet = instructionSet
            self.resolution = resolution
            self.trainingSeed = trainingSeed
        }
    }

    /// Writes `model` atomically; an existing file is refused unless `overwrite`.
    public static func write(_ model: QuantizedModel, recipe: Recipe, to url: URL, overwrite: Bool = false) throws {
        var tensors: [String: StoredTensor] = [:]
        let quantization = model.quantization
        for (index, layer) in quantization.layers {
            let name = model.graph.name(of: index)
            guard let (weight, channels) = shapes(of: model.graph.steps[index]) else { continue }
            tensors[name + ".weight"] = .int8(shape: weight, values: layer.weights)
            tensors[name + ".weight_scale"] = .float32(try Tensor(shape: [channels], values: layer.weightScales))
            tensors[name + ".bias"] = .int32(shape: [channels], values: layer.bias)
        }
        tensors["values.type"] = .uint8(shape: [quantization.values.count], values: quantization.values.map { typeCode($0.type) })
        tensors["values.scale"] = .float32(try Tensor(shape: [quantization.values.count], values: quantization.values.map(\.scale)))
        tensors["values.zero_point"] = .int32(shape: [quantization.values.count], values: quantization.values.map(\.zeroPoint))
        let configuration = model.configuration
        var metadata = [
            "format": format, "version": version,
            "variant": configuration.architecture.rawValue, "width": String(configuration.widthMultiplier),
            "classes": String(configuration.classCount), "weight_range": quantization.weightRange.rawValue,
            "add_arithmetic": quantization.addArithmetic.rawValue,
            "method": recipe.method, "samples": String(recipe.samples), "calibration": recipe.calibration,
            "bias_correction": String(recipe.biasCorrection), "isa": recipe.instructionSet,
        ]
        if let resolution = recipe.resolution { metadata["resolution"] = String(resolution) }
        if let seed = recipe.trainingSeed { metadata["training_seed"] = String(seed) }
        try SafeTensors.write(SafeTensorsArchive(tensors: tensors, metadata: metadata), to: url, overwrite: overwrite)
    }

    /// Reads a file ``write(_:recipe:to:overwrite:)`` made and compiles its int8 session.
    ///
    /// - Throws: ``QuantizedModelFileError`` naming the file and the key at fault; the
    ///   safetensors reader's ``CheckpointError``s.
    public static func read(contentsOf url: URL) throws -> (model: QuantizedModel, recipe: Recipe) {
        let file = url.path
        let archive = try SafeTensors.readArchive(contentsOf: url)
        let metadata = archive.metadata
        func field(_ key: String) throws -> String {
            guard let value = metadata[key] else { throw QuantizedModelFileError.missingMetadata(file: file, key: key) }
            return value
        }
        guard metadata["format"] == format else {
            throw QuantizedModelFileError.notQuantizedModel(file: file, found: metadata["format"])
        }
        guard try field("version") == version else {
            throw QuantizedModelFileError.badMetadata(
                file: file, key: "version", expected: version + " (quantize the model again)", found: metadata["version"] ?? "")
        }
        guard let architecture = Architecture(rawValue: try field("variant")) else {
            throw QuantizedModelFileError.badMetadata(file: file, key: "variant", expected: "v1, v2, v3-large or v3-small", found: metadata["variant"]!)
        }
        guard let width = Double(try field("width")), width > 0, width <= ModelConfiguration.maximumWidthMultiplier else {
            throw QuantizedModelFileError.badMetadata(
                file: file, key: "width", expected: "a number in (0, \(ModelConfiguration.maximumWidthMultiplier)]", found: metadata["width"]!)
        }
        guard let classes = Int(try field("classes")), (1...ModelConfiguration.maximumClassCount).contains(classes) else {
            throw QuantizedModelFileError.badMetadata(
                file: file, key: "classes", expected: "an integer in 1...\(ModelConfiguration.maximumClassCount)", found: metadata["classes"]!)
        }
        guard let weightRange = GraphQuantization.WeightRange(rawValue: try field("weight_range")) else {
            throw QuantizedModelFileError.badMetadata(file: file, key: "weight_range", expected: "eightBit or sevenBit", found: metadata["weight_range"]!)
        }
        guard let addArithmetic = GraphQuantization.AddArithmetic(rawValue: try field("add_arithmetic")) else {
            throw QuantizedModelFileError.badMetadata(
                file: file, key: "add_arithmetic", expected: "onnxruntime or xnnpack", found: metadata["add_arithmetic"]!)
        }
        var resolution: Int?
        if let text = metadata["resolution"] {
            guard let side = Int(text), (ModelConfiguration.minimumResolution...ModelConfiguration.maximumResolution).contains(side) else {
                throw QuantizedModelFileError.badMetadata(
                    file: file, key: "resolution",
                    expected: "an integer in \(ModelConfiguration.minimumResolution)...\(ModelConfiguration.maximumResolution)", found: text)
            }
            resolution = side
        }
        var trainingSeed: UInt64?
        if let text = metadata["training_seed"] {
            guard let seed = UInt64(text) else {
                throw QuantizedModelFileError.badMetadata(file: file, key: "training_seed", expected: "an unsigned 64-bit integer", found: text)
            }
            trainingSeed = seed
        }
        let recipe = Recipe(
            method: try field("method"), samples: Int(try field("samples")) ?? 0, calibration: try field("calibration"),
            biasCorrection: try field("bias_correction") == "true", instructionSet: try field("isa"),
            resolution: resolution, trainingSeed: trainingSeed)

        // The structure comes from the configuration; the graph's float weights only give shapes.
        let configuration = ModelConfiguration(architecture, widthMultiplier: width, classCount: classes)
        let graph = try QuantizedModel.graph(of: makeModel(configuration, seed: 1))
        let steps = graph.steps.count
        guard case let .uint8(typeShape, typeCodes)? = archive.tensors["values.type"], typeShape == [steps] else {
            throw QuantizedModelFileError.badTensor(file: file, key: "values.type", expected: "U8 [\(steps)]")
        }
        let scales = try float32(archive, "values.scale", count: steps, file: file)
        let zeroPoints = try int32(archive, "values.zero_point", count: steps, file: file)
        let values = try zip(typeCodes, zip(scales, zeroPoints)).map { code, parameters -> GraphQuantization.Value in
            let (scale, zeroPoint) = parameters
            guard let type = type(code) else {
                throw QuantizedModelFileError.badValue(file: file, key: "values.type", expected: "0, 1 or 2", found: "\(code)")
            }
            guard scale > 0, scale.isFinite else {
                throw QuantizedModelFileError.badValue(file: file, key: "values.scale", expected: "finite scales > 0", found: "\(scale)")
            }
            let value = GraphQuantization.Value(type, scale: scale, zeroPoint: zeroPoint)
            guard value.zeroPointFits else {
                throw QuantizedModelFileError.badValue(
                    file: file, key: "values.zero_point", expected: "zero points inside their value's type (0 for float)", found: "\(zeroPoint)")
            }
            return value
        }
        var expected = Set(["values.type", "values.scale", "values.zero_point"])
        var layers: [Int: GraphQuantization.Layer] = [:]
        for (index, step) in graph.steps.enumerated() {
            guard let (weight, channels) = shapes(of: step) else { continue }
            let name = graph.name(of: index)
            expected.formUnion([name + ".weight", name + ".weight_scale", name + ".bias"])
            let integers = try int8(archive, name + ".weight", shape: weight, file: file)
            let limit = step.layer.map { GraphQuantization.weightLimit(source: values[$0.input.index], range: weightRange) } ?? weightRange.limit
            if let bad = integers.firstIndex(where: { Int($0).magnitude > limit }) {
                throw QuantizedModelFileError.badValue(
                    file: file, key: name + ".weight", expected: "weights in ±\(limit)", found: "\(integers[bad]) at \(bad)")
            }
            let scales = try float32(archive, name + ".weight_scale", count: channels, file: file)
            if let bad = scales.first(where: { !($0 >= 0 && $0.isFinite) }) {
                throw QuantizedModelFileError.badValue(file: file, key: name + ".weight_scale", expected: "finite scales ≥ 0", found: "\(bad)")
            }
            layers[index] = GraphQuantization.Layer(
                weights: integers, weightScales: scales, bias: try int32(archive, name + ".bias", count: channels, file: file))
        }
        if let extra = archive.tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw QuantizedModelFileError.unexpectedKey(file: file, key: extra, configuration: "\(architecture) α=\(width)")
        }
        let quantization = GraphQuantization(values: values, layers: layers, weightRange: weightRange, addArithmetic: addArithmetic)
        return (try QuantizedModel(configuration: configuration, graph: graph, quantization: quantization), recipe)
    }

    /// The weight shape and output channels of a convolution or linear step; nil for the rest.
    private static func shapes(of step: InferenceGraph.Step) -> (Shape, Int)? {
        step.layer.map { ($0.weight.shape, $0.weight.shape[0]) }
    }

    private static func typeCode(_ type: DType) -> UInt8 {
        switch type {
        case .float32, .int32: 0
        case .int8: 1
        case .uint8: 2
        }
    }

    private static func type(_ code: UInt8) -> DType? {
        [0: DType.float32, 1: .int8, 2: .uint8][code]
    }

    private static func int8(_ archive: SafeTensorsArchive, _ key: String, shape: Shape, file: String) throws -> [Int8] {
        guard let stored = archive.tensors[key] else { throw QuantizedModelFileError.missingKey(file: file, key: key) }
        guard case let .int8(found, values) = stored, found == shape else {
            throw QuantizedModelFileError.badTensor(file: file, key: key, expected: "I8 \(shape)")
        }
        return values
    }

    private static func int32(_ archive: SafeTensorsArchive, _ key: String, count: Int, file: String) throws -> [Int32] {
        guard let stored = archive.tensors[key] else { throw QuantizedModelFileError.missingKey(file: file, key: key) }
        guard case let .int32(found, values) = stored, found == [count] else {
            throw QuantizedModelFileError.badTensor(file: file, key: key, expected: "I32 [\(count)]")
        }
        return values
    }

    private static func float32(_ archive: SafeTensorsArchive, _ key: String, count: Int, file: String) throws -> [Float] {
        guard let stored = archive.tensors[key] else { throw QuantizedModelFileError.missingKey(file: file, key: key) }
        guard case let .float32(tensor) = stored, tensor.shape == [count] else {
            throw QuantizedModelFileError.badTensor(file: file, key: key, expected: "F32 [\(count)]")
        }
        return tensor.scalars
    }
}

/// A file that is not a quantized model this package can run.
public enum QuantizedModelFileError: Error, Hashable, Sendable, CustomStringConvertible {
    case notQuantizedModel(file: String, found: String?)
    case missingMetadata(file: String, key: String)
    case badMetadata(file: String, key: String, expected: String, found: String)
    case missingKey(file: String, key: String)
    case unexpectedKey(file: String, key: String, configuration: String)
    case badTensor(file: String, key: String, expected: String)
    case badValue(file: String, key: String, expected: String, found: String)

    public var description: String {
        switch self {
        case let .notQuantizedModel(file, found):
            "\(file): not a quantized model (metadata \"format\" is \(found.map { "\"\($0)\"" } ?? "missing"), expected \"\(QuantizedModelFile.format)\"); "
                + "make one with `mobilenet quantize`"
        case let .missingMetadata(file, key): "\(file): the metadata has no \"\(key)\""
        case let .badMetadata(file, key, expected, found): "\(file): metadata \"\(key)\" is \"\(found)\", expected \(expected)"
        case let .missingKey(file, key): "\(file): no tensor \"\(key)\""
        case let .unexpectedKey(file, key, configuration): "\(file): tensor \"\(key)\" is not part of MobileNet \(configuration)"
        case let .badTensor(file, key, expected): "\(file): tensor \"\(key)\" is not \(expected)"
        case let .badValue(file, key, expected, found): "\(file): tensor \"\(key)\": expected \(expected), found \(found)"
        }
    }
}
