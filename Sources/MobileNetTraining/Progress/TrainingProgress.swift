import Foundation

/// The live progress line of a training run:
///
/// ```text
/// epoch 3/30  step 120/469  loss 0.4321  acc 84.21%  1234 img/s  ETA 12m05s
/// ```
///
/// Positions are given from 0, as the loader counts them, and shown from 1.
public struct TrainingProgress: Hashable, Sendable {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var steps: Int
    public var loss: Double
    public var accuracy: Double
    public var imagesPerSecond: Double
    public var secondsRemaining: Double?

    public init(
        epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double, imagesPerSecond: Double,
        secondsRemaining: Double?
    ) {
        self.epoch = epoch
        self.epochs = epochs
        self.step = step
        self.steps = steps
        self.loss = loss
        self.accuracy = accuracy
        self.imagesPerSecond = imagesPerSecond
        self.secondsRemaining = secondsRemaining
    }

    /// The line, without a line break (print it after a carriage return to update in place).
    public var line: String {
        let eta = secondsRemaining.map { "ETA " + Self.duration($0) } ?? "ETA --"
        return "epoch \(epoch + 1)/\(epochs)  step \(step + 1)/\(steps)  loss \(String(format: "%.4f", loss))  "
            + "acc \(String(format: "%.2f", accuracy * 100))%  \(Int(imagesPerSecond.rounded())) img/s  \(eta)"
    }

    /// `1h02m`, `12m05s` or `9s`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let total = Int(seconds.rounded())
        let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
        if hours > 0 { return String(format: "%dh%02dm", hours, minutes) }
        if minutes > 0 { return String(format: "%dm%02ds", minutes, rest) }
        return "\(rest)s"
    }
}

/// The loss stopped being a number: the learning rate is too high, or the data is broken.
public struct DivergenceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where, from 0 as the loader counts.
    public var epoch: Int
    public var step: Int
    public var loss: Float
    public var learningRate: Double

    public init(epoch: Int, step: Int, loss: Float, learningRate: Double) {
        self.epoch = epoch
        self.step = step
        self.loss = loss
        self.learningRate = learningRate
    }

    /// Throws when `loss` is NaN or infinite.
    public static func check(loss: Float, epoch: Int, step: Int, learningRate: Double) throws {
        guard loss.isFinite else { throw DivergenceError(epoch: epoch, step: step, loss: loss, learningRate: learningRate) }
    }

    public var description: String {
        "training diverged: the loss is \(loss) at epoch \(epoch + 1), step \(step + 1) (learning rate \(learningRate)); "
            + "try a lower learning rate"
    }
}
