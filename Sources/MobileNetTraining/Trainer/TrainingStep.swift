import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// One optimization step, in the order every trainer takes it: dropout reseeded for the step,
/// gradients zeroed, the forward pass and loss recorded on a tape, the loss checked, the backward
/// pass, the ``gradientHook``, gradient clipping, the optimizer's update, the weight average.
///
/// ``Trainer`` runs one per batch. A data-parallel trainer runs the same step on each rank and
/// sets ``gradientHook`` to average the gradients over the ranks (an all-reduce) before they are
/// clipped and applied, so every rank applies the same update.
public final class TrainingStep {
    public let model: any ImageClassifier
    public let optimizer: any Optimizer
    public let average: ExponentialMovingAverage?
    public let labelSmoothing: Float
    /// The largest global gradient norm, or nil for none.
    public let clipNorm: Double?
    /// Runs on the gradients after the backward pass, before clipping and the update.
    public var gradientHook: (([ParameterGroup]) throws -> Void)?
    private let dropouts: [Dropout]
    private let seed: UInt64

    /// What one step computed: the batch's mean loss (before the update) and its logits.
    public struct Result {
        public var loss: Float
        public var logits: Tensor
    }

    public init(
        model: any ImageClassifier, optimizer: any Optimizer, average: ExponentialMovingAverage?,
        labelSmoothing: Float, clipNorm: Double?, seed: UInt64
    ) {
        self.model = model
        self.optimizer = optimizer
        self.average = average
        self.labelSmoothing = labelSmoothing
        self.clipNorm = clipNorm
        self.seed = seed
        dropouts = model.namedModules().compactMap { $0.module as? Dropout }
    }

    /// Trains on one batch as the run's `globalStep`-th step (which seeds dropout, so a resumed
    /// run draws the same masks). `checkLoss` sees the loss before the backward pass and may
    /// throw to stop a diverging run before its gradients are applied.
    public func callAsFunction(
        images: Tensor, labels: [Int], globalStep: Int, checkLoss: (Float) throws -> Void = { _ in }
    ) throws -> Result {
        for (index, dropout) in dropouts.enumerated() {
            dropout.reseed(SplitMix64.seed(for: "dropout \(seed) \(globalStep) \(index)"))
        }
        model.clearGradients()
        let tape = GradientTape()
        var logits = Tensor.zeros([0])
        let loss = try tape.record {
            logits = try model(images)
            return try crossEntropy(logits: logits, labels: labels, labelSmoothing: labelSmoothing)
        }
        let lossValue = loss.scalars[0]
        try checkLoss(lossValue)
        try tape.backward(from: loss)
        try gradientHook?(optimizer.groups)
        if let clipNorm { _ = clipGradientNorm(optimizer.groups, maxNorm: clipNorm) }
        try optimizer.step()
        average?.update()
        return Result(loss: lossValue, logits: logits)
    }
}
