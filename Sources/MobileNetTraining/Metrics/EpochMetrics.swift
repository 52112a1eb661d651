/// What one epoch of training measured: the row of `metrics.csv` and a point of each curve.
public struct EpochMetrics: Hashable, Sendable, Codable {
    /// The epoch, counted from 1 as a person reads it.
    public var epoch: Int
    /// The mean training loss over the epoch's samples.
    public var trainLoss: Double
    /// The share of training samples classified correctly (of the augmented pictures, as seen);
    /// for a detector, the share of matched anchors given their box's class.
    public var trainAccuracy: Double
    /// Loss and accuracy on the held-out data after the epoch, when it was evaluated.
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    /// The learning rate of the epoch's last step.
    public var learningRate: Double
    /// Wall time of the epoch's training steps, in seconds.
    public var seconds: Double
    /// Training throughput.
    public var imagesPerSecond: Double
    /// Loss and accuracy on the held-out data with the weight average (``ExponentialMovingAverage``),
    /// when the run keeps one.
    public var averageValidationLoss: Double?
    public var averageValidationAccuracy: Double?
    /// A detector's COCO average precision on the held-out data: over IoU 0.50:0.95, at 0.5 and
    /// at 0.75 (nil for a classifier).
    public var averagePrecision: Double?
    public var averagePrecision50: Double?
    public var averagePrecision75: Double?
    /// A segmenter's mean IoU over the classes on the held-out data (nil otherwise); its
    /// accuracies are pixel accuracies.
    public var meanIoU: Double?

    /// Whether the epoch is a detector's (it carries average precision).
    public var isDetection: Bool { averagePrecision50 != nil }
    /// Whether the epoch is a segmenter's (it carries a mean IoU).
    public var isSegmentation: Bool { meanIoU != nil }

    public init(
        epoch: Int, trainLoss: Double, trainAccuracy: Double, validationLoss: Double? = nil, validationAccuracy: Double? = nil,
        learningRate: Double, seconds: Double, imagesPerSecond: Double,
        averageValidationLoss: Double? = nil, averageValidationAccuracy: Double? = nil,
        averagePrecision: Double? = nil, averagePrecision50: Double? = nil, averagePrecision75: Double? = nil,
        meanIoU: Double? = nil
    ) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.learningRate = learningRate
        self.seconds = seconds
        self.imagesPerSecond = imagesPerSecond
        self.averageValidationLoss = averageValidationLoss
        self.averageValidationAccuracy = averageValidationAccuracy
        self.averagePrecision = averagePrecision
        self.averagePrecision50 = averagePrecision50
        self.averagePrecision75 = averagePrecision75
        self.meanIoU = meanIoU
    }
}
