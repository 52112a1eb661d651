import MobileNetTensor

/// The running totals of an epoch in progress: mean loss and accuracy so far, for the progress
/// line and for the epoch's ``EpochMetrics``.
///
/// ```swift
/// var running = RunningMetrics()
/// try running.add(loss: loss, logits: logits, labels: batch.labels)
/// print(running.meanLoss, running.accuracy)
/// ```
public struct RunningMetrics: Hashable, Sendable, Codable {
    /// The sum of every sample's loss (a batch's mean loss times its size).
    public private(set) var lossSum: Double = 0
    public private(set) var correct = 0
    public private(set) var samples = 0

    public init() {}

    /// Adds a batch: its mean loss and its logits `[N, classes]` against its labels.
    ///
    /// - Throws: ``MetricsError`` when the logits and labels do not fit together.
    public mutating func add(loss: Float, logits: Tensor, labels: [Int]) throws {
        let classes = logits.rank == 2 ? logits.shape[1] : 0
        let predictions = try ConfusionMatrix.predictions(logits: logits, classCount: classes)
        guard predictions.count == labels.count else {
            throw MetricsError.countMismatch(predictions: predictions.count, labels: labels.count)
        }
        add(loss: loss, correct: zip(predictions, labels).filter { $0 == $1 }.count, samples: labels.count)
    }

    /// Adds a batch of `samples` samples with mean loss `loss`, `correct` of them right.
    public mutating func add(loss: Float, correct: Int, samples: Int) {
        lossSum += Double(loss) * Double(samples)
        self.correct += correct
        self.samples += samples
    }

    /// The mean loss per sample so far (0 before any).
    public var meanLoss: Double { samples == 0 ? 0 : lossSum / Double(samples) }
    /// The share classified correctly so far (0 before any).
    public var accuracy: Double { samples == 0 ? 0 : Double(correct) / Double(samples) }
}
