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

    public init(
        base: Double, decay: Decay, epochs: Int, warmupEpochs: Int = 0, warmupStartFactor: Double = 0.01,
        granularity: Granularity = .epoch, stepsPerEpoch: Int = 1
    ) {
        precondition(epochs > 0 && warmupEpochs >= 0 && stepsPerEpoch > 0, "a schedule needs positive lengths")
        self.base = base
        self.decay = decay
        self.epochs = epochs
        self.warmupEpochs = warmupEpochs
        self.warmupStartFactor = warmupStartFactor
        self.granularity = granularity
        self.stepsPerEpoch = stepsPerEpoch
    }

    /// The rate while step `step` (from 0) of epoch `epoch` (from 0) runs.
    public func learningRate(epoch: Int, step: Int = 0) -> Double {
        let unit = granularity == .step ? stepsPerEpoch : 1
        let position = granularity == .step ? epoch * stepsPerEpoch + step : epoch
        let warmup = warmupEpochs * unit
        if position < warmup {
            return base * (warmupStartFactor + (1 - warmupStartFactor) * Double(position) / Double(warmup))
        }
        let elapsed = position - warmup
        switch decay {
        case .constant:
            return base
        case let .step(every, factor):
            return base * pow(factor, Double(elapsed / max(every * unit, 1)))
        case let .exponential(factor):
            return base * pow(factor, Double(elapsed))
        case let .cosine(minimum):
            let period = max((epochs - warmupEpochs) * unit, 1)
            return minimum + (base - minimum) * (1 + cos(Double.pi * Double(elapsed) / Double(period))) / 2
        }
    }
}
