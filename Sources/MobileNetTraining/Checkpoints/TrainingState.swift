/// Everything besides tensors that continuing a run needs: where it stopped, how its random
/// numbers and learning rate stood, and what it measured so far.
///
/// Saved as JSON beside the weights by ``TrainingCheckpoint``. Swift's JSON coding writes
/// doubles in their shortest round-trip form and 64-bit integers in full, so every field comes
/// back bit for bit.
public struct TrainingState: Codable, Hashable, Sendable {
    /// The epoch in progress (from 0); after a finished epoch, the next one.
    public var epoch: Int
    /// How many batches of ``epoch`` are done: resume with `loader.batches(epoch:startingAt: step)`.
    public var step: Int
    /// Optimizer steps since the start of the run.
    public var globalStep: Int
    /// The run's seed (shuffling, augmentation, initialization).
    public var seed: UInt64
    /// Generator states to restore by name (``SplitMix64/state``), e.g. the dropout generator's.
    /// The data loader needs none: its randomness follows from the seed, epoch and sample.
    public var randomStates: [String: UInt64]
    /// The schedule, whose rate at ``epoch`` and ``step`` is where the run continues.
    public var schedule: LearningRateSchedule?
    /// The rate of the last step taken.
    public var learningRate: Double
    /// Which optimizer the state belongs to, and each parameter's update count.
    public var optimizerKind: String
    public var optimizerSteps: [String: Int]
    /// The weight average's update count, when the run keeps one.
    public var averageUpdateCount: Int?
    /// One entry per finished epoch, for `metrics.csv` and the curves.
    public var history: [EpochMetrics]
    /// The totals of the epoch in progress, when saved mid-epoch.
    public var running: RunningMetrics?
    /// The command's settings (variant, width, resolution, dataset…), so that a resume can
    /// refuse to continue with different ones.
    public var settings: [String: String]

    public init(
        epoch: Int, step: Int, globalStep: Int, seed: UInt64, randomStates: [String: UInt64] = [:],
        schedule: LearningRateSchedule? = nil, learningRate: Double, optimizerKind: String = "", optimizerSteps: [String: Int] = [:],
        averageUpdateCount: Int? = nil, history: [EpochMetrics] = [], running: RunningMetrics? = nil, settings: [String: String] = [:]
    ) {
        self.epoch = epoch
        self.step = step
        self.globalStep = globalStep
        self.seed = seed
        self.randomStates = randomStates
        self.schedule = schedule
        self.learningRate = learningRate
        self.optimizerKind = optimizerKind
        self.optimizerSteps = optimizerSteps
        self.averageUpdateCount = averageUpdateCount
        self.history = history
        self.running = running
        self.settings = settings
    }
}
