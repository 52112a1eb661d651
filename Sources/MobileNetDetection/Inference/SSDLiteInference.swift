import MobileNetIO
import MobileNetNN
import MobileNetTensor

/// SSDLite compiled for fast inference: each of the six stages of the feature extractor and
/// each of the twelve prediction heads lowered to an ``InferenceGraph`` (batch norm folded into
/// the convolutions, activations, residual adds and squeeze-and-excitation fused, as the
/// classifiers' fused path runs) and run by its own ``InferenceSession``, the maps passed from
/// one to the next. The head outputs equal the modules' (a test), so the post-processing and the
/// detections are the same.
///
/// A snapshot of the weights when it was made; build a new one after training further.
public final class SSDLiteInference: @unchecked Sendable {
    public let detector: SSDLite
    private let stages: [InferenceSession]
    private let classificationHeads: [InferenceSession]
    private let regressionHeads: [InferenceSession]
    private let anchors: [BoundingBox]

    public init(_ detector: SSDLite) throws {
        self.detector = detector
        let names = Dictionary(detector.namedModules().map { (ObjectIdentifier($0.module), $0.path) }, uniquingKeysWith: { a, _ in a })
        func session(_ input: Int, _ lower: (InferenceGraph.Value, inout InferenceGraph) throws -> InferenceGraph.Value) throws -> InferenceSession {
            var graph = InferenceGraph()
            _ = try lower(graph.input(channels: input), &graph)
            graph.name(using: names)
            return InferenceSession(graph: graph)
        }
        let backbone = detector.backbone
        let inputs = [3] + backbone.outputChannels.dropLast()
        stages = try zip(backbone.features.layers + backbone.extra.layers, inputs).map { stage, channels in
            guard let lowerable = stage as? InferenceLowering else {
                throw LoweringError.notLowerable(layer: "\(type(of: stage))", container: "the SSDLite backbone")
            }
            return try session(channels) { x, graph in try lowerable.lower(x, into: &graph) }
        }
        func heads(_ head: SSDLiteScoringHead) throws -> [InferenceSession] {
            try zip(head.moduleList.layers, backbone.outputChannels).map { block, channels in
                guard let block = block as? Sequential, let depthwise = block.layers.first as? ConvNormActivation,
                      let projection = block.layers.last as? Conv2D
                else { throw LoweringError.notLowerable(layer: "\(type(of: block))", container: "an SSDLite head") }
                return try session(channels) { x, graph in
                    try graph.convolution(depthwise.lower(x, into: &graph), projection, norm: nil)
                }
            }
        }
        classificationHeads = try heads(detector.head.classificationHead)
        regressionHeads = try heads(detector.head.regressionHead)
        anchors = detector.anchors
    }

    /// The head's outputs for a normalized NHWC batch, as ``SSDLite/callAsFunction(_:)`` gives them.
    public func headOutputs(_ images: Tensor) throws -> SSDHeadOutputs {
        var maps: [Tensor] = []
        var x = images
        for stage in stages {
            x = try stage.run(x)
            maps.append(x)
        }
        func joined(_ heads: [InferenceSession], values: Int) throws -> Tensor {
            let perMap = try zip(heads, maps).map { head, map in
                let output = try head.run(map)
                return try output.reshaped([output.shape[0], output.elementCount / output.shape[0] / values, values])
            }
            return try concatenate(perMap, axis: 1)
        }
        return SSDHeadOutputs(
            boxRegression: try joined(regressionHeads, values: 4),
            classLogits: try joined(classificationHeads, values: detector.configuration.classCount))
    }

    /// The objects in each picture, boxes in the picture's own pixels, with the detector's
    /// transform and post-processing.
    public func detect(_ images: [RGBImage]) throws -> [[Detection]] {
        guard !images.isEmpty else { return [] }
        let outputs = try headOutputs(detector.transform.batch(images))
        let side = detector.configuration.resolution
        return try detector.postprocessor.detections(
            outputs, anchors: anchors, inputSize: (side, side), originalSizes: images.map { ($0.width, $0.height) })
    }
}
