import MobileNetTensor

/// Counts of (true class, predicted class) pairs, from which accuracy, per-class accuracy and
/// the confusion-matrix picture follow.
///
/// ```swift
/// var matrix = ConfusionMatrix(classCount: 10)
/// try matrix.add(logits: model(batch.images), labels: batch.labels)
/// print(matrix.accuracy, matrix.perClassAccuracy)
/// ```
public struct ConfusionMatrix: Hashable, Sendable, Codable {
    public let classCount: Int
    /// `classCount * classCount` counts, row-major: row = true class, column = predicted class.
    public private(set) var counts: [Int]

    public init(classCount: Int) {
        precondition(classCount > 0, "a confusion matrix needs at least one class")
        self.classCount = classCount
        counts = [Int](repeating: 0, count: classCount * classCount)
    }

    /// How many samples of class `actual` were predicted as `predicted`.
    public subscript(actual: Int, predicted: Int) -> Int {
        counts[actual * classCount + predicted]
    }

    /// Records one prediction.
    public mutating func add(actual: Int, predicted: Int) {
        precondition(actual >= 0 && actual < classCount && predicted >= 0 && predicted < classCount,
                     "class \(actual) or prediction \(predicted) outside 0..<\(classCount)")
        counts[actual * classCount + predicted] += 1
    }

    /// Records the arg-max prediction of each row of `logits` (`[N, classCount]`) against `labels`.
    ///
    /// - Throws: ``MetricsError`` when the shapes do not match or a label is outside the classes.
    public mutating func add(logits: Tensor, labels: [Int]) throws {
        let predictions = try Self.predictions(logits: logits, classCount: classCount)
        guard predictions.count == labels.count else {
            throw MetricsError.countMismatch(predictions: predictions.count, labels: labels.count)
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
            throw MetricsError.labelOutOfRange(index: bad, label: labels[bad], classCount: classCount)
        }
        for (actual, predicted) in zip(labels, predictions) { add(actual: actual, predicted: predicted) }
    }

    /// Records a class map's pixels, label by label (a segmenter's prediction against its
    /// mask), as torchvision's segmentation reference counts them: a pixel whose true label is
    /// outside the classes (the ignored 255) is left out.
    public mutating func add<Truth: Collection, Predicted: Collection>(truth: Truth, predicted: Predicted)
    where Truth.Element == UInt8, Predicted.Element == UInt8 {
        precondition(truth.count == predicted.count, "one prediction per pixel")
        let classes = classCount
        counts.withUnsafeMutableBufferPointer { counts in
            for (t, p) in zip(truth, predicted) where Int(t) < classes {
                precondition(Int(p) < classes, "prediction \(p) outside 0..<\(classes)")
                counts[Int(t) * classes + Int(p)] += 1
            }
        }
    }

    /// Each class's intersection over union (its diagonal count over its row and column
    /// together); nil for a class neither present nor predicted.
    public var intersectionOverUnion: [Double?] {
        (0..<classCount).map { k in
            let truth = (0..<classCount).reduce(0) { $0 + self[k, $1] }
            let predicted = (0..<classCount).reduce(0) { $0 + self[$1, k] }
            let union = truth + predicted - self[k, k]
            return union == 0 ? nil : Double(self[k, k]) / Double(union)
        }
    }

    /// The mean of the classes' IoU over the classes that occur (torchvision's reference
    /// averages all and gives NaN when one never occurs; with every class present they agree).
    public var meanIntersectionOverUnion: Double {
        let present = intersectionOverUnion.compactMap { $0 }
        return present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
    }

    /// Adds another matrix's counts (e.g. one per batch, or per thread).
    public mutating func merge(_ other: ConfusionMatrix) {
        precondition(other.classCount == classCount, "merging confusion matrices of \(other.classCount) and \(classCount) classes")
        for index in counts.indices { counts[index] += other.counts[index] }
    }

    /// The number of samples recorded.
    public var total: Int { counts.reduce(0, +) }

    /// The number of correct predictions: the diagonal.
    public var correct: Int { (0..<classCount).reduce(0) { $0 + self[$1, $1] } }

    /// The share of correct predictions, 0 when nothing was recorded.
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    /// How many samples each class has (the row sums).
    public var samplesPerClass: [Int] {
        (0..<classCount).map { actual in (0..<classCount).reduce(0) { $0 + self[actual, $1] } }
    }

    /// Each class's accuracy (its recall: correct predictions over its samples), `nil` for a
    /// class without samples.
    public var perClassAccuracy: [Double?] {
        zip(0..<classCount, samplesPerClass).map { index, samples in
            samples == 0 ? nil : Double(self[index, index]) / Double(samples)
        }
    }

    /// The arg-max of each row of `logits` (`[N, classCount]`); ties go to the lower index, as
    /// `torch.argmax` does. A row holding NaN predicts its first NaN, as PyTorch's does too.
    public static func predictions(logits: Tensor, classCount: Int) throws -> [Int] {
        guard logits.rank == 2, logits.shape[1] == classCount else {
            throw MetricsError.logitsShape(expectedClasses: classCount, actual: logits.shape)
        }
        let rows = logits.shape[0]
        return logits.withUnsafeBufferPointer { values in
            (0..<rows).map { row in
                let start = row * classCount
                var best = 0
                for column in 0..<classCount {
                    let value = values[start + column]
                    if value.isNaN { return column }
                    if value > values[start + best] { best = column }
                }
                return best
            }
        }
    }
}

/// Metrics were given predictions and labels that do not fit together.
public enum MetricsError: Error, Hashable, Sendable, CustomStringConvertible {
    case logitsShape(expectedClasses: Int, actual: Shape)
    case countMismatch(predictions: Int, labels: Int)
    case labelOutOfRange(index: Int, label: Int, classCount: Int)

    public var description: String {
        switch self {
        case let .logitsShape(expectedClasses, actual):
            "metrics: expected logits of shape [N, \(expectedClasses)], got \(actual)"
        case let .countMismatch(predictions, labels):
            "metrics: \(predictions) predictions for \(labels) labels; expected one label per prediction"
        case let .labelOutOfRange(index, label, classCount):
            "metrics: label \(index) is \(label), expected a class index below \(classCount)"
        }
    }
}
