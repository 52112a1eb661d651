import MobileNetIO
import MobileNetTensor

/// Some samples of another dataset, in a given order: a `--limit`, or one side of a
/// train/validation split.
public struct DatasetSubset: ImageDataset {
    public let base: any ImageDataset
    /// The base dataset's index of each sample of this subset.
    public let indices: [Int]

    public init(_ base: any ImageDataset, indices: [Int]) {
        precondition(indices.allSatisfy { $0 >= 0 && $0 < base.count }, "subset index outside the base dataset")
        self.base = base
        self.indices = indices
    }

    public var count: Int { indices.count }
    public var classNames: [String] { base.classNames }
    public func label(at index: Int) -> Int { base.label(at: indices[index]) }
    public func image(at index: Int) throws -> RGBImage { try base.image(at: indices[index]) }
    public func sourceName(at index: Int) -> String { base.sourceName(at: indices[index]) }
}

/// How a dataset is divided into a training part and a validation part.
public struct ValidationSplit: Hashable, Sendable {
    /// The share of samples held out for validation, in (0, 1).
    public var fraction: Double
    /// Seeds the shuffle that picks the held-out samples.
    public var seed: UInt64
    /// Hold out the same share of every class (rounded per class), so that a small or unbalanced
    /// dataset keeps every class on both sides; otherwise the share is taken from one shuffle of
    /// all samples.
    public var stratified: Bool

    public init(fraction: Double, seed: UInt64, stratified: Bool = true) {
        self.fraction = fraction
        self.seed = seed
        self.stratified = stratified
    }
}

extension ImageDataset {
    /// The dataset divided into a training part and a validation part, reproducibly: the same
    /// `split` (fraction, seed, stratification) always holds out the same samples. Each part
    /// keeps the dataset's order.
    ///
    /// - Throws: ``DatasetError/invalidSplit(reason:)`` when the fraction is not in (0, 1) or
    ///   leaves either part empty.
    public func split(_ split: ValidationSplit) throws -> (train: DatasetSubset, validation: DatasetSubset) {
        guard split.fraction > 0, split.fraction < 1 else {
            throw DatasetError.invalidSplit(reason: "the validation fraction must lie between 0 and 1, got \(split.fraction)")
        }
        var generator = SplitMix64(seed: split.seed)
        var heldOut = [Bool](repeating: false, count: count)
        let groups: [[Int]]
        if split.stratified {
            var byClass = [[Int]](repeating: [], count: classCount)
            for index in 0..<count { byClass[label(at: index)].append(index) }
            groups = byClass
        } else {
            groups = [Array(0..<count)]
        }
        for var group in groups where !group.isEmpty {
            group.seededShuffle(using: &generator)
            // A class of one sample stays in training; otherwise at least one sample is held out
            // and at least one stays.
            let wanted = Int((split.fraction * Double(group.count)).rounded())
            let held = group.count < 2 ? 0 : min(max(wanted, 1), group.count - 1)
            for index in group.prefix(held) { heldOut[index] = true }
        }
        let validation = (0..<count).filter { heldOut[$0] }
        let train = (0..<count).filter { !heldOut[$0] }
        guard !validation.isEmpty, !train.isEmpty else {
            throw DatasetError.invalidSplit(
                reason: "holding out \(split.fraction) of \(count) samples leaves \(train.count) for training and \(validation.count) for validation")
        }
        return (DatasetSubset(self, indices: train), DatasetSubset(self, indices: validation))
    }
}
