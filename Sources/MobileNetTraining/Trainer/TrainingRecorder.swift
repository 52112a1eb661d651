import Foundation

/// What a run leaves in its folder, and when: after each epoch `metrics.csv`, `curves.svg` and a
/// checkpoint (``TrainingCheckpoint``, `latest.json` last), after the last one the confusion
/// matrix; a snapshot when the run is asked to stop mid-epoch, removed once the next epoch's
/// checkpoint supersedes it.
///
/// ``Trainer`` records through one. In a data-parallel run only one rank writes, so the others
/// get a recorder with `writes: false`, which keeps track of the run the same way and writes nothing.
public final class TrainingRecorder {
    public let output: URL
    public let writes: Bool
    private let title: String
    private let classNames: [String]
    /// The newest snapshot: its JSON, the global step it holds, and whether it was taken
    /// mid-epoch (and so is removed once the epoch's checkpoint replaces it).
    private var saved: (checkpoint: URL, globalStep: Int, midEpoch: Bool)?

    /// - Parameter resumedFrom: the snapshot the run continues from, if it does.
    public init(output: URL, title: String, classNames: [String], writes: Bool = true, resumedFrom: (URL, TrainingState)? = nil) {
        self.output = output
        self.title = title
        self.classNames = classNames
        self.writes = writes
        saved = resumedFrom.map { ($0.0, $0.1.globalStep, $0.1.step > 0) }
    }

    /// The checkpoint `latest.json` points at (nil before the first, and when not writing).
    public var latestCheckpoint: URL? { saved?.checkpoint }

    /// The global step of the newest snapshot (0 before the first).
    public var savedGlobalStep: Int { saved?.globalStep ?? 0 }

    /// The end of an epoch: metrics, curves and the checkpoint `epoch-N`; with `finalMatrix`
    /// (the last epoch's validation) the confusion matrix too.
    public func recordEpoch(
        _ trainer: Trainer, finalMatrix: ConfusionMatrix?
    ) throws {
        guard writes else { return }
        try MetricsLog.write(trainer.state.history, to: output.appendingPathComponent("metrics.csv"))
        try TrainingCurves.write(trainer.state.history, title: title, to: output.appendingPathComponent("curves.svg"))
        try save(trainer, name: "epoch-\(trainer.state.epoch)")
        if let finalMatrix {
            try ConfusionMatrixPicture.write(finalMatrix, classNames: classNames, to: output.appendingPathComponent("confusion_matrix.svg"))
        }
    }

    /// A snapshot of where the run stands, unless the last one already holds it.
    public func recordStop(_ trainer: Trainer) throws {
        guard writes, trainer.state.globalStep != savedGlobalStep else { return }
        try save(trainer, name: "epoch-\(trainer.state.epoch + 1)-step-\(trainer.state.step)")
    }

    /// Saves the run as it stands under `name` and points `latest.json` at it; a snapshot taken
    /// mid-epoch that this one supersedes is removed.
    private func save(_ trainer: Trainer, name: String) throws {
        let url = try TrainingCheckpoint.save(
            model: trainer.model, optimizer: trainer.optimizer, average: trainer.average, state: trainer.state, in: output, name: name)
        if let previous = saved, previous.midEpoch, previous.checkpoint != url {
            TrainingCheckpoint.remove(named: previous.checkpoint.deletingPathExtension().lastPathComponent, in: output)
        }
        saved = (url, trainer.state.globalStep, trainer.state.step > 0)
    }
}
