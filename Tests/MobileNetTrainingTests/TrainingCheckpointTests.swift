import Foundation
import MobileNetData
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest

@testable import MobileNetTraining

/// Save → load → continue gives exactly what never stopping gives.
final class TrainingCheckpointTests: XCTestCase {
    /// Two weights and a buffer, like a layer with batch norm.
    final class Tiny: Module {
        let weight = Parameter(Tensor.zeros([3, 2]))
        let bias = Parameter(Tensor.zeros([2]))
        let runningMean = Parameter(Tensor.zeros([2]), trainable: false)
        var localState: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias), ("running_mean", runningMean)] }

        init(seed: UInt64) {
            var generator = SplitMix64(seed: seed)
            weight.value = Tensor.uniform([3, 2], in: -1...1, using: &generator)
            bias.value = Tensor.uniform([2], in: -1...1, using: &generator)
        }
    }

    /// One training step with gradients drawn from `(seed, step)`, the buffer drifting.
    private func trainStep(_ model: Tiny, _ optimizer: any Optimizer, _ average: ExponentialMovingAverage, step: Int) {
        var generator = SplitMix64(seed: 99, path: [UInt64(step)])
        for (_, parameter) in model.namedParameters() {
            parameter.gradient = Tensor.uniform(parameter.shape, in: -0.5...0.5, using: &generator)
        }
        if step == 2 { model.bias.gradient = nil }  // a step without a gradient for one parameter
        optimizer.learningRate = 0.01 * Double(10 - step)
        try! optimizer.step()
        model.runningMean.value = Tensor.uniform([2], in: 0...1, using: &generator)
        average.update()
    }

    private func makeRun(_ kind: String, seed: UInt64 = 5) throws -> (Tiny, any Optimizer, ExponentialMovingAverage) {
        let model = Tiny(seed: seed)
        let optimizer: any Optimizer = switch kind {
        case "sgd": try SGD(parameters: model.namedParameters(), momentum: 0.9, nesterov: true, weightDecay: 1e-4)
        case "rmsprop": try RMSProp(parameters: model.namedParameters(), weightDecay: 1e-5)
        default: try AdamW(parameters: model.namedParameters(), weightDecay: 0.05)
        }
        return (model, optimizer, ExponentialMovingAverage(model, decay: 0.99, warmup: true))
    }

    private func bits(_ tensor: Tensor?) -> [UInt32] { tensor?.scalars.map(\.bitPattern) ?? [] }

    func testResumedRunEndsBitIdentical() throws {
        for kind in ["sgd", "rmsprop", "adamw"] {
            let folder = try TemporaryFolder()
            let (model, optimizer, average) = try makeRun(kind)
            for step in 0..<3 { trainStep(model, optimizer, average, step: step) }
            let schedule = LearningRateSchedule(base: 0.1, decay: .cosine(minimum: 0), epochs: 4, warmupEpochs: 1, granularity: .step, stepsPerEpoch: 7)
            let state = TrainingState(
                epoch: 1, step: 3, globalStep: 10, seed: UInt64.max - 3, randomStates: ["dropout": 0x9E37_79B9_7F4A_7C15],
                schedule: schedule, learningRate: 0.1 + 0.2, history: MetricsLogTests.history,
                running: RunningMetrics(), settings: ["variant": "v2", "width": "0.35"])
            try TrainingCheckpoint.save(model: model, optimizer: optimizer, average: average, state: state, in: folder.url, name: "epoch-001")

            // The uninterrupted run goes on…
            for step in 3..<6 { trainStep(model, optimizer, average, step: step) }
            // …and a fresh process, with other initial weights, restores the snapshot and does the same steps.
            let (resumed, resumedOptimizer, resumedAverage) = try makeRun(kind, seed: 6)
            let url = try XCTUnwrap(try TrainingCheckpoint.latest(in: folder.url))
            XCTAssertEqual(url.lastPathComponent, "epoch-001.json")
            let checkpoint = try TrainingCheckpoint.load(from: url)
            try checkpoint.restore(model: resumed, optimizer: resumedOptimizer, average: resumedAverage)
            var expectedState = state
            expectedState.optimizerKind = kind
            expectedState.optimizerSteps = checkpoint.state.optimizerSteps
            expectedState.averageUpdateCount = 3
            XCTAssertEqual(checkpoint.state, expectedState)
            XCTAssertEqual(checkpoint.state.seed, UInt64.max - 3)
            XCTAssertEqual(checkpoint.state.learningRate, 0.1 + 0.2)
            for step in 3..<6 { trainStep(resumed, resumedOptimizer, resumedAverage, step: step) }

            for ((key, original), (_, copy)) in zip(model.namedState(), resumed.namedState()) {
                XCTAssertEqual(bits(original.value), bits(copy.value), "\(kind): \(key)")
            }
            let (finalState, resumedState) = (optimizer.state, resumedOptimizer.state)
            XCTAssertEqual(finalState.steps, resumedState.steps, kind)
            XCTAssertEqual(Set(finalState.tensors.keys), Set(resumedState.tensors.keys), kind)
            for (key, tensor) in finalState.tensors { XCTAssertEqual(bits(tensor), bits(resumedState.tensors[key]), "\(kind): \(key)") }
            for (key, tensor) in average.averages { XCTAssertEqual(bits(tensor), bits(resumedAverage.averages[key]), "\(kind): ema \(key)") }
            XCTAssertEqual(average.updateCount, resumedAverage.updateCount)
        }
    }

    func testLatestFollowsTheNewestCompleteSnapshot() throws {
        let folder = try TemporaryFolder()
        XCTAssertNil(try TrainingCheckpoint.latest(in: folder.url))
        let (model, optimizer, _) = try makeRun("sgd")
        for epoch in 1...2 {
            try TrainingCheckpoint.save(
                model: model, optimizer: optimizer, state: TrainingState(epoch: epoch, step: 0, globalStep: epoch * 10, seed: 1, learningRate: 0.1),
                in: folder.url, name: "epoch-00\(epoch)")
        }
        let latest = try XCTUnwrap(try TrainingCheckpoint.latest(in: folder.url))
        XCTAssertEqual(try TrainingCheckpoint.load(from: latest).state.epoch, 2)
        // No optimizer state yet (SGD creates buffers at the first step) is still a valid snapshot.
        XCTAssertTrue(try TrainingCheckpoint.load(from: latest).optimizer.tensors.isEmpty)
        // The weights file is an ordinary state dictionary.
        XCTAssertEqual(Set(try SafeTensors.read(contentsOf: folder.url.appendingPathComponent("epoch-002.safetensors")).keys),
                       ["weight", "bias", "running_mean"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).filter { $0.hasSuffix(".partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testReplacedOrMissingFilesAreRefused() throws {
        let folder = try TemporaryFolder()
        let (model, optimizer, average) = try makeRun("adamw")
        trainStep(model, optimizer, average, step: 0)
        let state = TrainingState(epoch: 0, step: 1, globalStep: 1, seed: 1, learningRate: 0.1)
        let url = try TrainingCheckpoint.save(model: model, optimizer: optimizer, average: average, state: state, in: folder.url, name: "last")
        // A later save of the same name, interrupted after its weights: the old JSON no longer fits.
        let manifest = try Data(contentsOf: url)
        trainStep(model, optimizer, average, step: 1)
        try TrainingCheckpoint.save(model: model, optimizer: optimizer, average: average, state: state, in: folder.url, name: "last")
        try manifest.write(to: url)
        let weightsPath = folder.url.appendingPathComponent("last.safetensors").path
        XCTAssertThrowsError(try TrainingCheckpoint.load(from: url)) { error in
            guard case .mismatchedFile(path: weightsPath, _, _)? = error as? TrainingCheckpointError else {
                return XCTFail("unexpected \(error)")
            }
        }
        try FileManager.default.removeItem(atPath: weightsPath)
        XCTAssertThrowsError(try TrainingCheckpoint.load(from: url)) { error in
            XCTAssertEqual(error as? TrainingCheckpointError, .missingFile(path: weightsPath, referencedBy: url.path))
        }
        try Data("{}".utf8).write(to: url)
        XCTAssertThrowsError(try TrainingCheckpoint.load(from: url)) { error in
            guard case .unreadable(path: url.path, _)? = error as? TrainingCheckpointError else { return XCTFail("unexpected \(error)") }
        }
    }

    func testCountersThatWouldOverflowOnResumeAreRefused() throws {
        // A snapshot JSON is read as is on --resume; its counters are then incremented
        // (AdamW's `steps[key] + 1`, the average's `updateCount + 1`) and subtracted from
        // (`epochs - epoch`): Int.max or Int.min there would trap instead of throwing.
        let folder = try TemporaryFolder()
        let (model, optimizer, average) = try makeRun("adamw")
        trainStep(model, optimizer, average, step: 0)
        let state = TrainingState(epoch: 1, step: 0, globalStep: 1, seed: 1, learningRate: 0.1)
        let url = try TrainingCheckpoint.save(model: model, optimizer: optimizer, average: average, state: state, in: folder.url, name: "epoch-1")
        let saved = try String(contentsOf: url, encoding: .utf8)
        XCTAssertNoThrow(try TrainingCheckpoint.load(from: url))
        let edits = [
            ("\"epoch\" : 1,", "\"epoch\" : -9223372036854775808,", "epoch = -9223372036854775808"),
            ("\"globalStep\" : 1,", "\"globalStep\" : 9223372036854775807,", "globalStep = 9223372036854775807"),
            ("\"averageUpdateCount\" : 1,", "\"averageUpdateCount\" : 9223372036854775807,", "averageUpdateCount = 9223372036854775807"),
            ("\"bias\" : 1", "\"bias\" : 9223372036854775807", "optimizerSteps[\"bias\"] = 9223372036854775807"),
        ]
        for (original, replacement, named) in edits {
            XCTAssertTrue(saved.contains(original), "the saved JSON has no \(original)")
            try saved.replacingOccurrences(of: original, with: replacement).write(to: url, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try TrainingCheckpoint.load(from: url)) { error in
                guard case let .unreadable(path, reason)? = error as? TrainingCheckpointError, path == url.path,
                      reason.hasPrefix(named) else { return XCTFail("unexpected \(error)") }
            }
        }
    }

    func testRestoreRefusesWhatDoesNotFit() throws {
        let folder = try TemporaryFolder()
        let (model, optimizer, average) = try makeRun("rmsprop")
        trainStep(model, optimizer, average, step: 0)
        let url = try TrainingCheckpoint.save(
            model: model, optimizer: optimizer, average: average, state: TrainingState(epoch: 0, step: 1, globalStep: 1, seed: 1, learningRate: 0.1),
            in: folder.url, name: "snapshot")
        let checkpoint = try TrainingCheckpoint.load(from: url)
        let (other, otherOptimizer, _) = try makeRun("rmsprop")
        XCTAssertThrowsError(try checkpoint.restore(model: other, optimizer: otherOptimizer)) { error in
            XCTAssertEqual(error as? TrainingCheckpointError, .averageMismatch(expected: false))
        }
        let (_, sgd, sgdAverage) = try makeRun("sgd")
        XCTAssertThrowsError(try checkpoint.restore(model: other, optimizer: sgd, average: sgdAverage)) { error in
            XCTAssertEqual(error as? OptimizerError, .stateKind(expected: "sgd", actual: "rmsprop"))
        }
    }

    func testRealModelRoundTrip() throws {
        let model = try makeModel(ModelConfiguration(.v3Small, widthMultiplier: 0.5, classCount: 10), seed: 3)
        let optimizer = try SGD(parameters: model.namedParameters(), momentum: 0.9)
        for (_, parameter) in model.namedParameters() { parameter.gradient = Tensor(repeating: 0.01, shape: parameter.shape) }
        try optimizer.step()
        let folder = try TemporaryFolder()
        let url = try TrainingCheckpoint.save(
            model: model, optimizer: optimizer, state: TrainingState(epoch: 1, step: 0, globalStep: 1, seed: 3, learningRate: 0.1),
            in: folder.url, name: "epoch-001")
        let restored = try makeModel(ModelConfiguration(.v3Small, widthMultiplier: 0.5, classCount: 10), seed: 4)
        let restoredOptimizer = try SGD(parameters: restored.namedParameters(), momentum: 0.9)
        try TrainingCheckpoint.load(from: url).restore(model: restored, optimizer: restoredOptimizer)
        for ((key, a), (_, b)) in zip(model.namedState(), restored.namedState()) {
            XCTAssertEqual(bits(a.value), bits(b.value), key)
        }
        XCTAssertEqual(restoredOptimizer.state.tensors.count, model.namedParameters().count)
    }
}
