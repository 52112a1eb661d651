import Foundation

extension RunFolder {
    /// The folder checks every trainer makes first, so that a wrong `--output` is reported before
    /// any data is read: for a resume, the checkpoint `latest.json` names; for a new run (when
    /// this process `writes`), that the folder is new or empty, and `nil`.
    ///
    /// - Throws: ``TrainingError/nothingToResume(path:)``, ``TrainingError/outputNotEmpty(path:)``,
    ///   ``RunFolderError`` for an output that is a file or cannot be read.
    public static func checkpointToResume(in output: URL, resume: Bool, writes: Bool = true) throws -> URL? {
        guard resume else {
            if writes { try checkForNewRun(at: output) }
            return nil
        }
        guard try exists(output) else { throw TrainingError.nothingToResume(path: output.path) }
        try requireFolder(output)
        guard let latest = try TrainingCheckpoint.latest(in: output) else { throw TrainingError.nothingToResume(path: output.path) }
        return latest
    }
}

extension TrainingCheckpoint {
    /// Loads the snapshot a resume continues from, after checking that it was taken by a run
    /// with the same `settings` (all but `epochs`, which may grow) and that where it says the run
    /// stands is a place a run of `stepsPerEpoch` steps has.
    ///
    /// - Throws: ``TrainingError/settingsDiffer(key:saved:given:)`` naming the first setting that
    ///   differs; ``TrainingCheckpointError`` for a snapshot that cannot be read or does not fit.
    public static func loadForResume(from url: URL, settings: [String: String], stepsPerEpoch: Int) throws -> TrainingCheckpoint {
        let checkpoint = try load(from: url)
        for (key, given) in settings.sorted(by: { $0.key < $1.key }) where key != "epochs" {
            if let saved = checkpoint.state.settings[key], saved != given {
                throw TrainingError.settingsDiffer(key: key, saved: saved, given: given)
            }
        }
        let stored = checkpoint.state
        guard stored.epoch >= 0, (0...stepsPerEpoch).contains(stored.step), stored.globalStep >= 0 else {
            throw TrainingCheckpointError.unreadable(
                path: url.path,
                reason: "epoch \(stored.epoch), step \(stored.step) and global step \(stored.globalStep) do not fit a run of "
                    + "\(stepsPerEpoch) steps per epoch")
        }
        return checkpoint
    }
}
