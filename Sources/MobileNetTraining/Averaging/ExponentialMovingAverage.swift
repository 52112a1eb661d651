import MobileNetNN
import MobileNetTensor

/// An exponential moving average of a model's weights, evaluated instead of the raw weights
/// (the MobileNet V3 recipe averages with decay 0.9999).
///
/// ```swift
/// let average = ExponentialMovingAverage(model, decay: 0.9999)
/// // after every optimizer step:
/// average.update()
/// // to evaluate:
/// let accuracy = try average.withAveragedWeights { try evaluate(model) }
/// ```
///
/// Every tensor of the model is averaged, batch-norm running statistics included (as
/// torchvision's reference `ExponentialMovingAverage` with `use_buffers=True` and timm's
/// `ModelEmaV2` do), so the averaged model is consistent. Each update is PyTorch's
/// `average.lerp_(current, 1 − decay)`. With `warmup`, the decay of update `n` (from 1) is
/// `min(decay, (1 + n) / (10 + n))`, TensorFlow's `num_updates` rule, so that early averages
/// are not dominated by the random initial weights.
public final class ExponentialMovingAverage {
    public let decay: Double
    public let warmup: Bool
    /// How many updates have been made.
    public private(set) var updateCount: Int
    /// The model's tensors, by key, that are averaged.
    private let tracked: [(key: String, parameter: Parameter)]
    /// The averages, by key; they start as copies of the model's tensors.
    public private(set) var averages: [String: Tensor]

    public init(_ model: some Module, decay: Double = 0.9999, warmup: Bool = false) {
        precondition(decay >= 0 && decay <= 1, "an average's decay lies in [0, 1], got \(decay)")
        self.decay = decay
        self.warmup = warmup
        updateCount = 0
        tracked = model.namedState()
        // Copy-on-write makes these copies of their own at the first update.
        averages = Dictionary(uniqueKeysWithValues: tracked.map { ($0.key, $0.parameter.value) })
    }

    /// The decay the next update will use.
    public var nextDecay: Double {
        guard warmup else { return decay }
        let updates = Double(updateCount + 1)
        return min(decay, (1 + updates) / (10 + updates))
    }

    /// Moves every average towards the model's current tensor by `1 − decay`.
    public func update() {
        let weight = Float(1 - nextDecay)
        updateCount += 1
        for (key, parameter) in tracked {
            var average = averages.removeValue(forKey: key)!
            if average.shape != parameter.shape {
                // The model's tensor was replaced by one of another shape: start over from it.
                average = parameter.value
            } else {
                parameter.value.withUnsafeBufferPointer { current in
                    average.withUnsafeMutableBufferPointer { values in
                        for index in values.indices {
                            values[index] = linearInterpolation(values[index], current[index], weight)
                        }
                    }
                }
            }
            averages[key] = average
        }
    }

    /// Runs `body` while the model holds the averaged tensors, then puts its own back (also when
    /// `body` throws).
    public func withAveragedWeights<Result>(_ body: () throws -> Result) rethrows -> Result {
        let saved = tracked.map { $0.parameter.value }
        for (key, parameter) in tracked { parameter.value = averages[key]! }
        defer { for ((_, parameter), value) in zip(tracked, saved) { parameter.value = value } }
        return try body()
    }

    /// Replaces the averages and the update count with saved ones (see ``TrainingCheckpoint``).
    ///
    /// - Throws: `StateError` when a key is missing or unknown or a shape differs.
    public func load(averages saved: [String: Tensor], updateCount: Int) throws {
        let keys = Set(tracked.map(\.key))
        let missing = tracked.map(\.key).filter { saved[$0] == nil }
        guard missing.isEmpty else { throw StateError.missingKeys(missing) }
        let unexpected = saved.keys.filter { !keys.contains($0) }.sorted()
        guard unexpected.isEmpty else { throw StateError.unexpectedKeys(unexpected) }
        for (key, parameter) in tracked where saved[key]!.shape != parameter.shape {
            throw StateError.shapeMismatch(key: key, expected: parameter.shape, actual: saved[key]!.shape)
        }
        averages = saved
        self.updateCount = updateCount
    }
}
