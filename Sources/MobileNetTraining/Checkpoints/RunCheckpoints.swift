import Foundation
import MobileNetNN

/// The checkpoint bookkeeping a task's trainer shares with the others (the detector's, the
/// segmenter's): starting a run folder or resuming the run in it, saving `epoch-N` after each
/// epoch, saving `epoch-N-step-S` when stopped mid-epoch (removed once a later checkpoint
/// supersedes it), and the ``TrainingStopped`` to throw.
///
/// ```swift
/// var checkpoints = RunCheckpoints(output: folder)
/// try checkpoints.startOrResume(existing: existing, model: model, optimizer: optimizer, settings: settings,
///                               stepsPerEpoch: steps, state: &state, warnings: warn)
/// try checkpoints.save(model: model, optimizer: optimizer, state: state)          // after an epoch
/// throw try checkpoints.stop(model: model, optimizer: optimizer, state: &state, running: running, steps: steps)
/// ```
public struct RunCheckpoints {
    public let output: URL
    /// The last checkpoint written or resumed from: its JSON, the global step it holds, and
    /// whether it was taken mid-epoch.
    public private(set) var last: (url: URL, globalStep: Int, midEpoch: Bool)?

    public init(output: URL) {
        self.output = output
    }

    /// With `existing` (``RunFolder/checkpointToResume(in:resume:)``'s answer), loads it into
    /// `model` and `optimizer` and `state` (keeping `state`'s schedule and settings, which the
    /// caller rebuilt), after checking its settings against `settings`, and removes what an
    /// interrupted write left; without, prepares `output` for a new run.
    ///
    /// - Throws: ``TrainingError`` for a resume whose settings differ; checkpoint and folder
    ///   errors as they come.
    public mutating func startOrResume(
        existing: URL?, model: some Module, optimizer: any Optimizer, settings: [String: String], stepsPerEpoch: Int,
        state: inout TrainingState, warnings: (String) -> Void
    ) throws {
        guard let existing else { return try RunFolder.prepareForNewRun(at: output) }
        let checkpoint = try TrainingCheckpoint.loadForResume(from: existing, settings: settings, stepsPerEpoch: stepsPerEpoch)
        try checkpoint.restore(model: model, optimizer: optimizer)
        let (schedule, runSettings) = (state.schedule, state.settings)
        state = checkpoint.state
        state.schedule = schedule
        state.settings = runSettings
        last = (existing, state.globalStep, state.step > 0)
        let removed = try RunFolder.removeStalePartialFiles(in: output)
        if !removed.isEmpty { warnings("removed \(removed.count) temporary file(s) of an interrupted write: \(removed.joined(separator: ", "))") }
    }

    /// Saves the run as it stands, `epoch-N` after epoch N (or, `stopped`, `epoch-N-step-S`
    /// within epoch N), and points `latest.json` at it; a mid-epoch snapshot it supersedes is
    /// removed.
    public mutating func save(model: some Module, optimizer: any Optimizer, state: TrainingState, stopped: Bool = false) throws {
        let name = stopped ? "epoch-\(state.epoch + 1)-step-\(state.step)" : "epoch-\(state.epoch)"
        let url = try TrainingCheckpoint.save(model: model, optimizer: optimizer, state: state, in: output, name: name)
        if let previous = last, previous.midEpoch, previous.url != url {
            TrainingCheckpoint.remove(named: previous.url.deletingPathExtension().lastPathComponent, in: output)
        }
        last = (url, state.globalStep, state.step > 0)
    }

    /// A run stopped where `state` stands: saved with the epoch's `running` totals unless the
    /// last checkpoint already holds this step; the error to throw.
    public mutating func stop(
        model: some Module, optimizer: any Optimizer, state: inout TrainingState, running: RunningMetrics?, steps: Int
    ) throws -> TrainingStopped {
        if state.globalStep != last?.globalStep {
            state.running = running
            try save(model: model, optimizer: optimizer, state: state, stopped: true)
        }
        return TrainingStopped(epoch: state.epoch, step: state.step, steps: steps, checkpoint: last?.url)
    }
}
