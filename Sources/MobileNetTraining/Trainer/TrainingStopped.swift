import Foundation

/// What ``Trainer/run(shouldStop:progress:finished:)`` throws when it was asked to stop: where
/// the run stands and the snapshot that holds it, from which resuming continues bit for bit.
public struct TrainingStopped: Error, Hashable, Sendable, CustomStringConvertible {
    /// The epoch in progress (from 0) and how many of its steps are done.
    public var epoch: Int
    public var step: Int
    public var steps: Int
    /// The JSON of the snapshot to resume from; `nil` when the run stopped before its first step.
    public var checkpoint: URL?

    public init(epoch: Int, step: Int, steps: Int, checkpoint: URL?) {
        self.epoch = epoch
        self.step = step
        self.steps = steps
        self.checkpoint = checkpoint
    }

    /// `in epoch 2 after step 17 of 32`, counted from 1 as the progress line counts.
    public var position: String {
        switch step {
        case 0: "before epoch \(epoch + 1)"
        case steps: "after the last step of epoch \(epoch + 1), before its evaluation"
        default: "in epoch \(epoch + 1) after step \(step) of \(steps)"
        }
    }

    public var description: String {
        if let checkpoint {
            "stopped \(position); \(checkpoint.path) holds the run, resume to continue"
        } else {
            "stopped before the first step; nothing was saved"
        }
    }
}
