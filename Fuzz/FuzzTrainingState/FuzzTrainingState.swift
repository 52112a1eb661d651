import Foundation
import FuzzSupport
import MobileNetIO
import MobileNetTensor
import MobileNetTraining

/// The JSON files of a training run, as `train --resume` and `evaluate` read them: the input is
/// written to a run folder both as `latest.json` (`TrainingCheckpoint.latest(in:)`, which decodes
/// the pointer and checks the file it names) and as `input.json`, a snapshot's JSON
/// (`TrainingCheckpoint.load(from:)`: the manifest and its `TrainingState`, the two tensor files'
/// sizes and FNV-1a checksums, then the tensor files themselves).
///
/// The folder also holds a real snapshot, `epoch-001` (saved once at start-up, the same bytes
/// every time), whose JSON is the seed: mutations that keep its file records reach the
/// safetensors reading and the split of optimizer tensors and weight averages.
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let folder = runFolder
    let input = fuzzBytes(data, size)
    FuzzScratch.write(input, name: "run/latest.json")
    let snapshot = FuzzScratch.write(input, name: "run/input.json")
    _ = try? TrainingCheckpoint.latest(in: folder)
    if let checkpoint = try? TrainingCheckpoint.load(from: snapshot) {
        let tensors = Array(checkpoint.weights.values) + Array(checkpoint.optimizer.tensors.values) + Array((checkpoint.averages ?? [:]).values)
        for tensor in tensors {
            precondition(tensor.withUnsafeBufferPointer(\.count) == tensor.elementCount, "a tensor's storage does not fit its shape")
        }
    }
    return 0
}

/// The run folder with the reference snapshot `epoch-001`.
let runFolder: URL = {
    let folder = FuzzScratch.folder.appendingPathComponent("run")
    try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let weight = try! Tensor(shape: [2, 3], values: [0.5, -1, 2, 0.25, 3, -0.125])
    let bias = try! Tensor(shape: [2], values: [1, -1])
    let checkpoint = TrainingCheckpoint(
        weights: ["fc.weight": weight, "fc.bias": bias],
        optimizer: OptimizerState(kind: "sgd", tensors: ["momentum_buffer/fc.weight": weight, "momentum_buffer/fc.bias": bias], steps: ["fc.weight": 3, "fc.bias": 3]),
        averages: ["fc.weight": weight, "fc.bias": bias],
        state: TrainingState(
            epoch: 1, step: 0, globalStep: 3, seed: 7, randomStates: ["dropout": 12345],
            schedule: LearningRateSchedule(base: 0.1, decay: .cosine(minimum: 0), epochs: 2, warmupEpochs: 1, granularity: .step, stepsPerEpoch: 3),
            learningRate: 0.05, optimizerKind: "sgd", optimizerSteps: ["fc.weight": 3, "fc.bias": 3], averageUpdateCount: 3,
            history: [EpochMetrics(epoch: 1, trainLoss: 0.69, trainAccuracy: 0.5, validationLoss: 0.7, validationAccuracy: 0.5,
                                   learningRate: 0.05, seconds: 0.01, imagesPerSecond: 600, averageValidationLoss: 0.71, averageValidationAccuracy: 0.5)],
            running: nil, settings: ["variant": "v2", "width": "0.35", "resolution": "32"]))
    try! checkpoint.save(in: folder, name: "epoch-001")
    return folder
}()
