import MobileNetIO
import MobileNetNN
import MobileNetTensor

/// SSDLite compiled for fast inference: the feature extractor and the twelve prediction heads
/// lowered to one ``InferenceGraph`` (batch norm folded into the convolutions, activations,
/// residual adds and squeeze-and-excitation fused, as the classifiers' fused path runs) with the
/// twelve head outputs as its outputs, run by one ``InferenceSession``. The feature maps stay in
/// oneDNN's blocked layout from the first layer to the heads, each map's two heads run right
/// after it (while it is still in cache), and a batch goes through as the classifiers' does (each
/// thread taking whole images). The head outputs equal the modules' (a test), so the
/// post-processing and the detections are the same.
///
/// A snapshot of the weights when it was made; build a new one after training further.
public final class SSDLiteInference: @unchecked Sendable {
    public let detector: SSDLite
    /// The compiled network: its outputs are the six maps' box regressions, then their class logits.
    public let session: InferenceSession
    private let anchors: [BoundingBox]

    public init(_ detector: SSDLite) throws {
        self.detector = detector
        var graph = InferenceGraph()
        var x = graph.input(channels: 3)
        let backbone = detector.backbone
        let regression = detector.head.regressionHead.moduleList.layers
        let classification = detector.head.classificationHead.moduleList.layers
        var regressionOutputs: [InferenceGraph.Value] = [], classificationOutputs: [InferenceGraph.Value] = []
        for (map, stage) in (backbone.features.layers + backbone.extra.layers).enumerated() {
            guard let lowerable = stage as? InferenceLowering else {
                throw LoweringError.notLowerable(layer: "\(type(of: stage))", container: "the SSDLite backbone")
            }
            x = try lowerable.lower(x, into: &graph)
            regressionOutputs.append(try Self.lowerHead(regression[map], x, into: &graph))
            classificationOutputs.append(try Self.lowerHead(classification[map], x, into: &graph))
        }
        for output in regressionOutputs + classificationOutputs { graph.markOutput(output) }
        graph.name(using: Dictionary(detector.namedModules().map { (ObjectIdentifier($0.module), $0.path) }, uniquingKeysWith: { a, _ in a }))
        session = InferenceSession(graph: graph)
        anchors = detector.anchors
    }

    /// One map's head: depthwise 3x3 with batch norm and ReLU6, then the 1x1 predictor.
    private static func lowerHead(_ block: any Layer, _ map: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        guard let block = block as? Sequential, let depthwise = block.layers.first as? ConvNormActivation,
              let projection = block.layers.last as? Conv2D
        else { throw LoweringError.notLowerable(layer: "\(type(of: block))", container: "an SSDLite head") }
        return try graph.convolution(depthwise.lower(map, into: &graph), projection, norm: nil)
    }

    /// The head's outputs for a normalized NHWC batch, as ``SSDLite/callAsFunction(_:)`` gives them.
    public func headOutputs(_ images: Tensor) throws -> SSDHeadOutputs {
        let outputs = try session.runOutputs(images)
        // Each head's NHWC [N, H, W, boxes x values] is [N, H x W x boxes, values] in torchvision's order.
        func joined(_ heads: ArraySlice<Tensor>, values: Int) throws -> Tensor {
            let perMap = try heads.map { output in
                try output.reshaped([output.shape[0], output.elementCount / output.shape[0] / values, values])
            }
            return try concatenate(perMap, axis: 1)
        }
        let maps = outputs.count / 2
        return SSDHeadOutputs(
            boxRegression: try joined(outputs[..<maps], values: 4),
            classLogits: try joined(outputs[maps...], values: detector.configuration.classCount))
    }

    /// The objects in each picture, boxes in the picture's own pixels, with the detector's
    /// transform and post-processing.
    public func detect(_ images: [RGBImage]) throws -> [[Detection]] {
        guard !images.isEmpty else { return [] }
        return try postprocess(headOutputs(detector.transform.batch(images)), originalSizes: images.map { ($0.width, $0.height) })
    }

    /// The detector's post-processing of ``headOutputs(_:)`` for pictures of `originalSizes`
    /// (width, height), boxes in their pixels.
    public func postprocess(_ outputs: SSDHeadOutputs, originalSizes: [(width: Int, height: Int)]) throws -> [[Detection]] {
        let side = detector.configuration.resolution
        return try detector.postprocessor.detections(outputs, anchors: anchors, inputSize: (side, side), originalSizes: originalSizes)
    }
}
