import Foundation
import MobileNetData
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest

@testable import MobileNetTraining

/// A `Trainer` asked to stop (what `mobilenet train` does on SIGINT and SIGTERM) saves where it
/// stands, leaves no temporary file, and resumes from there to the weights of a run that never stopped.
final class TrainerStopTests: XCTestCase {
    private func configuration(pictures: URL) -> TrainingConfiguration {
        // V1 keeps its dropout: the trainer reseeds it every step, so a resume repeats it too.
        var configuration = TrainingConfiguration(
            dataset: .folder(pictures), model: ModelConfiguration(.v1, widthMultiplier: 0.25), resolution: 32, epochs: 2, batchSize: 8)
        configuration.learningRate = 0.05
        configuration.warmupEpochs = 1
        configuration.averageDecay = 0.9
        configuration.seed = 4
        return configuration
    }

    private func bits(_ model: any ImageClassifier) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: model.namedState().map { ($0.key, $0.parameter.value.scalars.map(\.bitPattern)) })
    }

    private func files(in folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    func testStoppedRunResumesToTheWeightsOfTheWholeRun() throws {
        let folder = try TemporaryFolder()
        let pictures = folder.url.appendingPathComponent("pictures")
        try writeTwoColourPictures(in: pictures)  // 32 to train on (4 steps of 8 an epoch), 8 to validate
        let settings = configuration(pictures: pictures)
        let whole = try Trainer(configuration: settings, output: folder.url.appendingPathComponent("whole"))
        let expected = try whole.run()
        XCTAssertEqual(whole.stepsPerEpoch, 4)

        // Stopped mid-epoch (two steps into epoch 2), and stopped during an epoch's evaluation
        // (its steps done, its checkpoint not yet written).
        let stops: [(name: String, stop: (Trainer) -> Bool, snapshot: String, epoch: Int, step: Int)] = [
            ("mid-epoch", { $0.state.globalStep == 6 }, "epoch-2-step-2", 1, 2),
            ("evaluation", { $0.state.epoch == 0 && $0.state.step == 4 }, "epoch-1-step-4", 0, 4),
        ]
        for (name, stop, snapshot, epoch, step) in stops {
            let output = folder.url.appendingPathComponent(name)
            let stopped = try Trainer(configuration: settings, output: output)
            XCTAssertThrowsError(try stopped.run(shouldStop: { stop(stopped) })) { error in
                XCTAssertEqual(
                    error as? TrainingStopped,
                    TrainingStopped(epoch: epoch, step: step, steps: 4, checkpoint: output.appendingPathComponent(snapshot + ".json")), name)
            }
            XCTAssertEqual(try TrainingCheckpoint.latest(in: output)?.lastPathComponent, snapshot + ".json", name)
            XCTAssertEqual(try files(in: output).filter { $0.hasSuffix(".partial") }, [], name)

            // A fresh process continues from the snapshot, which the next epoch's checkpoint replaces.
            let resumed = try Trainer(configuration: settings, output: output, resume: true)
            XCTAssertEqual(resumed.state.epoch, epoch, name)
            XCTAssertEqual(resumed.state.step, step, name)
            let history = try resumed.run()
            XCTAssertEqual(bits(resumed.model), bits(whole.model), "\(name): the resumed run's weights must be bit-identical")
            XCTAssertEqual(
                try XCTUnwrap(resumed.average).averages.mapValues { $0.scalars.map(\.bitPattern) },
                try XCTUnwrap(whole.average).averages.mapValues { $0.scalars.map(\.bitPattern) }, name)
            XCTAssertEqual(history.map(\.trainLoss), expected.map(\.trainLoss), name)
            XCTAssertEqual(history.map(\.validationAccuracy), expected.map(\.validationAccuracy), name)
            let left = try files(in: output)
            XCTAssertFalse(left.contains { $0.hasPrefix(snapshot) }, "\(name): \(left)")
            XCTAssertEqual(try TrainingCheckpoint.latest(in: output)?.lastPathComponent, "epoch-2.json", name)
        }
    }

    func testStopBeforeTheFirstStepSavesNothing() throws {
        let folder = try TemporaryFolder()
        let pictures = folder.url.appendingPathComponent("pictures")
        try writeTwoColourPictures(in: pictures)  // 32 to train on (4 steps of 8 an epoch), 8 to validate
        let output = folder.url.appendingPathComponent("run")
        let trainer = try Trainer(configuration: configuration(pictures: pictures), output: output)
        XCTAssertThrowsError(try trainer.run(shouldStop: { true })) { error in
            XCTAssertEqual(error as? TrainingStopped, TrainingStopped(epoch: 0, step: 0, steps: 4, checkpoint: nil))
        }
        XCTAssertEqual(try files(in: output), [], "an empty folder, where the run can start again")
        XCTAssertNoThrow(try Trainer(configuration: configuration(pictures: pictures), output: output))
    }

    /// Stopped right after an epoch's checkpoint: that checkpoint is where the run stands.
    func testStopAfterAnEpochPointsAtItsCheckpoint() throws {
        let folder = try TemporaryFolder()
        let pictures = folder.url.appendingPathComponent("pictures")
        try writeTwoColourPictures(in: pictures)  // 32 to train on (4 steps of 8 an epoch), 8 to validate
        let output = folder.url.appendingPathComponent("run")
        let trainer = try Trainer(configuration: configuration(pictures: pictures), output: output)
        XCTAssertThrowsError(try trainer.run(shouldStop: { trainer.state.epoch == 1 })) { error in
            XCTAssertEqual(error as? TrainingStopped, TrainingStopped(epoch: 1, step: 0, steps: 4, checkpoint: output.appendingPathComponent("epoch-1.json")))
            XCTAssertEqual("\(error)", "stopped before epoch 2; \(output.path)/epoch-1.json holds the run, resume to continue")
        }
        XCTAssertFalse(try files(in: output).contains { $0.contains("step") })
    }
}
