import MobileNetNN
import MobileNetTensor

extension ImageClassifier {
    /// The model as an inference graph: batch norm folded, activations and residual adds fused.
    public func inferenceGraph() throws -> InferenceGraph {
        guard let lowerable = self as? InferenceLowering else {
            throw LoweringError.notLowerable(layer: "\(type(of: self))", container: "the model")
        }
        var graph = InferenceGraph()
        _ = try lowerable.lower(graph.input(channels: 3), into: &graph)
        graph.name(using: Dictionary(namedModules().map { (ObjectIdentifier($0.module), $0.path) }, uniquingKeysWith: { a, _ in a }))
        return graph
    }
}

/// A model compiled for fast inference: ``ImageClassifier/inferenceGraph()`` run by an
/// ``InferenceSession`` (fused oneDNN primitives, compiled once per input shape).
///
/// A snapshot of the weights when it was made; build a new one after training further.
public final class InferenceModel: @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let session: InferenceSession

    public init(_ model: any ImageClassifier) throws {
        configuration = model.configuration
        session = InferenceSession(graph: try model.inferenceGraph())
    }

    /// Logits `[N, classes]` for an NHWC batch `[N, H, W, 3]` (H, W ≥ 32).
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        try validateImageBatch(images)
        return try session.run(images)
    }
}
