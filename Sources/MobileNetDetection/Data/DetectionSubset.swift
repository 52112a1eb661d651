import MobileNetIO

/// Some pictures of a detection dataset, by index: the `--limit N` of a quick run.
public struct DetectionSubset: DetectionDataset {
    public let base: any DetectionDataset
    public let indices: [Int]

    public init(_ base: any DetectionDataset, indices: [Int]) {
        self.base = base
        self.indices = indices
    }

    public var count: Int { indices.count }
    public var classNames: [String] { base.classNames }
    public func annotation(at index: Int) -> DetectionAnnotation { base.annotation(at: indices[index]) }
    public func image(at index: Int) throws -> RGBImage { try base.image(at: indices[index]) }
    public func sample(at index: Int) throws -> DetectionSample { try base.sample(at: indices[index]) }
    public func sourceName(at index: Int) -> String { base.sourceName(at: indices[index]) }
}

extension DetectionDataset {
    /// The first `limit` pictures (all when `limit` is nil or at least ``count``).
    public func prefix(_ limit: Int?) -> any DetectionDataset {
        guard let limit, limit < count else { return self }
        return DetectionSubset(self, indices: Array(0..<max(limit, 0)))
    }
}
