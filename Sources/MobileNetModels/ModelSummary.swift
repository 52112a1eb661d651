import MobileNetNN
import MobileNetTensor

/// A per-layer account of a model at one input resolution: output shapes, parameters and
/// multiply-adds, gathered by running one image through it with a ``ForwardTrace``.
public struct ModelSummary: Sendable {
    public struct Row: Sendable {
        /// The layer's state-dict path, e.g. `features.3.conv.1.0`.
        public var name: String
        public var kind: String
        /// Batch 1, NHWC.
        public var outputShape: Shape
        /// The layer's own learnable values.
        public var parameters: Int
        public var multiplyAdds: Int
    }

    public var configuration: ModelConfiguration
    public var resolution: Int
    public var rows: [Row]
    /// Learnable values of the whole model (running statistics excluded).
    public var parameters: Int
    /// Multiply-adds of every convolution and linear layer for one image.
    public var multiplyAdds: Int

    /// Traces `model` on one `resolution`² image.
    ///
    /// - Throws: ``ModelError`` for a resolution outside the limits of ``ModelConfiguration/validate(resolution:)``.
    public init(model: any ImageClassifier, resolution: Int) throws {
        try ModelConfiguration.validate(resolution: resolution)
        try self.init(tracing: model, configuration: model.configuration, resolution: resolution) { try model($0) }
    }

    /// Traces any module tree through `forward` on one `resolution`² image (a detector, whose
    /// backbone `configuration` describes).
    public init(
        tracing model: any Module, configuration: ModelConfiguration, resolution: Int, forward: (Tensor) throws -> Any
    ) throws {
        let paths = Dictionary(model.namedModules().map { (ObjectIdentifier($0.module), $0.path) }, uniquingKeysWith: { a, _ in a })
        let modules = Dictionary(model.namedModules().map { (ObjectIdentifier($0.module), $0.module) }, uniquingKeysWith: { a, _ in a })
        let trace = ForwardTrace()
        let wasTraining = model.namedModules().contains { ($0.module as? ModeDependent)?.isTraining == true }
        model.setTraining(false)
        defer { if wasTraining { model.setTraining(true) } }
        _ = try trace.collect { try forward(Tensor.zeros([1, resolution, resolution, 3])) }
        rows = trace.records.map { record in
            let module = modules[record.layer]
            return Row(
                name: paths[record.layer] ?? "?",
                kind: module.map { String(describing: type(of: $0)) } ?? "?",
                outputShape: record.outputShape,
                parameters: module?.localState.filter(\.parameter.isTrainable).reduce(0) { $0 + $1.parameter.value.elementCount } ?? 0,
                multiplyAdds: record.multiplyAdds)
        }
        self.configuration = configuration
        self.resolution = resolution
        parameters = model.parameterCount
        multiplyAdds = rows.reduce(0) { $0 + $1.multiplyAdds }
    }
}
