/// What one epoch of training measured: the row of `metrics.csv` and a point of each curve.
public struct EpochMetrics: Hashable, Sendable, Codable {
    /// The epoch, counted from 1 as a person reads it.
    public var epoch: Int
    /// The mean training loss over the epoch's samples.
    public var trainLoss: Double
    /// The share of training samples classified correctly (of the augmented pictures, as seen).
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

    public init(
        epoch: Int, trainLoss: Double, trainAccuracy: Double, validationLoss: Double? = nil, validationAccuracy: Double? = nil,
        learningRate: Double, seconds: Double, imagesPerSecond: Double,
        averageValidationLoss: Double? = nil, averageValidationAccuracy: Double? = nil
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
    }
}
