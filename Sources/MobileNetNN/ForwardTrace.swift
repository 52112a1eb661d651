import MobileNetTensor

/// Records what each leaf layer produced during one forward pass: its output shape and its
/// multiply-adds. `mobilenet info` builds its per-layer table from this, so the table always
/// describes the code that runs.
public final class ForwardTrace: @unchecked Sendable {
    public struct Record: Sendable {
        public var layer: ObjectIdentifier
        public var outputShape: Shape
        /// Multiply-adds of convolutions and linear layers; 0 for the rest.
        public var multiplyAdds: Int
    }

    public private(set) var records: [Record] = []

    /// The trace that leaf layers report to in this task, if any.
    @TaskLocal public static var current: ForwardTrace?

    public init() {}

    /// Runs `body` with this trace collecting.
    public func collect<Result>(_ body: () throws -> Result) rethrows -> Result {
        try ForwardTrace.$current.withValue(self) { try body() }
    }

    static func record(_ layer: AnyObject, output: Tensor, multiplyAdds: Int = 0) {
        current?.records.append(Record(layer: ObjectIdentifier(layer), outputShape: output.shape, multiplyAdds: multiplyAdds))
    }
}
