#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The learning rate at every step of a run, as torchvision's classification reference script
/// (`references/classification/train.py`) builds it: an optional linear warm-up from
/// `base · warmupStartFactor` (`LinearLR`) followed by the main decay (`CosineAnnealingLR`,
/// `StepLR`, `ExponentialLR`), chained with `SequentialLR`.
///
/// ```swift
/// let schedule = LearningRateSchedule(base: 0.1, decay: .cosine(minimum: 0), epochs: 30, warmupEpochs: 2,
///                                     granularity: .step, stepsPerEpoch: loader.batchesPerEpoch)
/// optimizer.learningRate = schedule.learningRate(epoch: epoch, step: step)   // before each step
/// ```
///
/// It is a pure function of the position, so resuming needs nothing but `(epoch, step)`. The
/// reference script steps its schedulers once per epoch (``Granularity/epoch``); stepping
/// them every iteration instead (``Granularity/step``, timm's habit) gives smoother curves:
/// every length (warm-up, cosine period, step interval) is then counted in iterations, and an
/// exponential factor applies per iteration, exactly as the PyTorch schedulers would if
/// stepped per iteration. The values match PyTorch's to double-precision rounding
/// (`Scripts/generate_training_fixtures.py`).
public struct LearningRateSchedule: Hashable, Sendable, Codable {
    /// What follows the warm-up.
    public enum Decay: Hashable, Sendable, Codable {
        /// The base rate throughout.
        case constant
        /// `base · factor^⌊t / every⌋` (`StepLR(step_size: every, gamma: factor)`), `every` in epochs.
        case step(every: Int, factor: Double)
        /// `base · factor^t` (`ExponentialLR(gamma: factor)`).
        case exponential(factor: Double)
        /// Half a cosine from `base` down to `minimum` over the epochs after the warm-up
        /// (`CosineAnnealingLR(T_max: epochs − warmup, eta_min: minimum)`).
        case cosine(minimum: Double)
    }

    /// How often the rate changes.
    public enum Granularity: String, Hashable, Sendable, Codable {
        /// Once per epoch, as torchvision's reference script steps its schedulers.
        case epoch
        /// Every iteration.
        case step
    }

    public var base: Double
    public var decay: Decay
    /// The length of the run, for the cosine.
    public var epochs: Int
    public var warmupEpochs: Int
    /// The warm-up's first rate as a share of `base` (the reference script's `--lr-warmup-decay`, 0.01).
    public var warmupStartFactor: Double
    public var granularity: Granularity
    /// Iterations per epoch; needed for ``Granularity/step``.
    public var stepsPerEpoch: Int

    /// A schedule; ``validate()`` says whether its numbers make one. An invalid schedule still
    /// answers ``learningRate(epoch:step:)`` without trapping (lengths below 1 count as 1), so a
    /// schedule decoded from a damaged file cannot crash the run that reads it.
    public init(
        base: Double, decay: Decay, epochs: Int, warmupEpochs: Int = 0, warmupStartFactor: Double = 0.01,
        granularity: Granularity = .epoch, stepsPerEpoch: Int = 1
    ) {
        self.base = base
        self.decay = decay
        self.epochs = epochs
        self.warmupEpochs = warmupEpochs
        self.warmupStartFactor = warmupStartFactor
        self.granularity = granularity
        self.stepsPerEpoch = stepsPerEpoch
    }

    /// A schedule whose numbers do not make one.
    public struct InvalidSchedule: Error, Hashable, Sendable, CustomStringConvertible {
        /// The property at fault, e.g. `warmupEpochs`.
        public var property: String
        public var reason: String

        public var description: String { "learning-rate schedule: \(property) \(reason)" }
    }

    /// Checks that the rate is finite and positive, the lengths positive (the warm-up at most
    /// the run), and the decay's numbers usable.
    ///
    /// - Throws: ``InvalidSchedule`` naming the first property at fault.
    public func validate() throws {
        func invalid(_ property: String, _ reason: String) -> InvalidSchedule { InvalidSchedule(property: property, reason: reason) }
        guard base > 0, base.isFinite else { throw invalid("base", "must be a positive number, got \(base)") }
        guard epochs >= 1 else { throw invalid("epochs", "must be at least 1, got \(epochs)") }
        guard (0...epochs).contains(warmupEpochs) else { throw invalid("warmupEpochs", "must be in 0...\(epochs), got \(warmupEpochs)") }
        guard (0...1).contains(warmupStartFactor) else {
            throw invalid("warmupStartFactor", "must be in [0, 1], got \(warmupStartFactor)")
        }
        guard stepsPerEpoch >= 1 else { throw invalid("stepsPerEpoch", "must be at least 1, got \(stepsPerEpoch)") }
        switch decay {
        case .constant:
            break
        case let .step(every, factor):
            guard every >= 1 else { throw invalid("decay", "steps every \(every) epochs; at least 1 is needed") }
            guard factor > 0, factor.isFinite else { throw invalid("decay", "factor must be a positive number, got \(factor)") }
        case let .exponential(factor):
            guard factor > 0, factor.isFinite else { throw invalid("decay", "factor must be a positive number, got \(factor)") }
        case let .cosine(minimum):
            guard minimum >= 0, minimum <= base else { throw invalid("decay", "minimum must be in [0, base], got \(minimum)") }
        }
    }

    /// The rate while step `step` (from 0) of epoch `epoch` (from 0) runs.
    ///
    /// Positions and lengths are counted in `Double`, exactly for any run below 2⁵³ steps, so
    /// that no product of epochs and steps can overflow.
    public func learningRate(epoch: Int, step: Int = 0) -> Double {
        let unit = granularity == .step ? Double(max(stepsPerEpoch, 1)) : 1
        let position = granularity == .step ? Double(epoch) * unit + Double(step) : Double(epoch)
        let warmup = Double(max(warmupEpochs, 0)) * unit
        if position < warmup {
            return base * (warmupStartFactor + (1 - warmupStartFactor) * position / warmup)
        }
        let elapsed = position - warmup
        switch decay {
        case .constant:
            return base
        case let .step(every, factor):
            return base * pow(factor, (elapsed / (Double(max(every, 1)) * unit)).rounded(.down))
        case let .exponential(factor):
            return base * pow(factor, elapsed)
        case let .cosine(minimum):
            let period = max((Double(epochs) - Double(max(warmupEpochs, 0))) * unit, 1)
            return minimum + (base - minimum) * (1 + cos(Double.pi * elapsed / period)) / 2
        }
    }
}
