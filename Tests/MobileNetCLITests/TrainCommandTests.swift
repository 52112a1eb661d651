import Foundation
import XCTest

/// `mobilenet train` and `mobilenet evaluate` as a user runs them, on real Fashion-MNIST.
final class TrainCommandTests: XCTestCase {
    private func requireFashionMNIST() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"),
            "skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist; make test does)")
    }

    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    /// A small, quick run: MobileNetV1 α=0.25 at 32x32, 32 steps of 64 images an epoch.
    private func trainArguments(output: URL, epochs: Int) -> [String] {
        ["train", "--dataset", "fashion-mnist", "--variant", "v1", "--width", "0.25", "--epochs", String(epochs),
         "--batch-size", "64", "--limit", "2048", "--lr", "0.2", "--seed", "7", "--threads", "1", "--output", output.path]
    }

    func testTrainWritesItsRunAndEvaluateReadsIt() throws {
        try requireFashionMNIST()
        let output = try temporaryFolder().appendingPathComponent("run")
        let run = try MobileNetProcess.run(trainArguments(output: output, epochs: 2))
        XCTAssertEqual(run.status, 0, run.error)
        for file in ["metrics.csv", "curves.svg", "confusion_matrix.svg", "latest.json", "epoch-2.safetensors", "epoch-2.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), file)
        }
        let csv = try String(contentsOf: output.appendingPathComponent("metrics.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 3, csv)

        let evaluation = try MobileNetProcess.run(["evaluate", "--checkpoint", output.path, "--dataset", "fashion-mnist", "--json"])
        XCTAssertEqual(evaluation.status, 0, evaluation.error)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evaluation.output.utf8)) as? [String: Any])
        XCTAssertEqual(object["samples"] as? Int, 10_000)
        let accuracy = try XCTUnwrap(object["accuracy"] as? Double)
        XCTAssertGreaterThan(accuracy, 0.3, "64 steps on 2048 images must beat chance (0.1) by a wide margin")
        XCTAssertEqual((object["per_class_accuracy"] as? [Any])?.count, 10)
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("confusion_matrix_test.png").path))

        // This run kept no weight average.
        let noAverage = try MobileNetProcess.run(["evaluate", "--checkpoint", output.path, "--dataset", "fashion-mnist", "--ema"])
        XCTAssertNotEqual(noAverage.status, 0)
        XCTAssertTrue(noAverage.error.contains("--ema") && noAverage.error.contains("without --ema"), noAverage.error)
        XCTAssertEqual(noAverage.error.split(separator: "\n").count, 1, noAverage.error)
    }

    func testKilledRunResumesToTheSameWeights() throws {
        try requireFashionMNIST()
        let folder = try temporaryFolder()
        let whole = folder.appendingPathComponent("whole"), interrupted = folder.appendingPathComponent("interrupted")
        XCTAssertEqual(try MobileNetProcess.run(trainArguments(output: whole, epochs: 3)).status, 0)

        // Start the same run, let it save epoch 1, kill it with SIGKILL during epoch 2, resume.
        let process = try MobileNetProcess.start(trainArguments(output: interrupted, epochs: 3))
        let firstCheckpoint = interrupted.appendingPathComponent("epoch-1.json")
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: firstCheckpoint.path), process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertTrue(process.isRunning, "the run must still be training when it is killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertFalse(FileManager.default.fileExists(atPath: interrupted.appendingPathComponent("epoch-3.json").path))

        let refused = try MobileNetProcess.run(trainArguments(output: interrupted, epochs: 3))
        XCTAssertNotEqual(refused.status, 0, "an existing run is not overwritten without --resume")
        XCTAssertTrue(refused.error.contains("--resume"), refused.error)

        let resumed = try MobileNetProcess.run(trainArguments(output: interrupted, epochs: 3) + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        let expected = try Data(contentsOf: whole.appendingPathComponent("epoch-3.safetensors"))
        let actual = try Data(contentsOf: interrupted.appendingPathComponent("epoch-3.safetensors"))
        XCTAssertEqual(actual, expected, "the resumed run's final weights must be bit-identical")
    }

    /// Fine-tuning: the pretrained MobileNetV2 with a new two-class head, backbone frozen, on a
    /// tiny folder of crops of the two bundled photos.
    func testFineTuningThePretrainedModelOnATinyFolder() throws {
        let weights = (ProcessInfo.processInfo.environment["MOBILENET_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/mobilenet"))
            .appendingPathComponent("mobilenet_v2-b0353104.pth")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: weights.path), "skipped: no pretrained weights; run `make weights`")
        let folder = try temporaryFolder()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        // Ten copies of each photo under its class name; the augmentation makes each a different crop.
        for (name, photo) in [("cat", "Examples/cat.jpg"), ("espresso", "Examples/coffee.jpg")] {
            let classFolder = folder.appendingPathComponent("pictures/\(name)")
            try FileManager.default.createDirectory(at: classFolder, withIntermediateDirectories: true)
            for index in 0..<10 {
                try FileManager.default.copyItem(
                    at: repository.appendingPathComponent(photo), to: classFolder.appendingPathComponent("\(index).jpg"))
            }
        }
        let output = folder.appendingPathComponent("run")
        let run = try MobileNetProcess.run([
            "train", "--dataset", folder.appendingPathComponent("pictures").path, "--variant", "v2", "--pretrained",
            "--freeze-backbone", "--resolution", "64", "--epochs", "3", "--batch-size", "8", "--lr", "0.05", "--seed", "3",
            "--ema", "0.5", "--output", output.path,
        ])
        XCTAssertEqual(run.status, 0, run.error)
        // The weight average is evaluated beside the weights every epoch.
        XCTAssertTrue(run.output.contains("with the weight average"), run.output)
        let csv = try String(contentsOf: output.appendingPathComponent("metrics.csv"), encoding: .utf8)
        let last = try XCTUnwrap(csv.split(separator: "\n").last).split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(last.count, 10, csv)
        let averageAccuracy = try XCTUnwrap(Double(last[9]), csv)
        XCTAssertGreaterThanOrEqual(averageAccuracy, 0.75, "the averaged classifier separates the two photos too")
        let evaluation = try MobileNetProcess.run([
            "evaluate", "--checkpoint", output.path, "--dataset", folder.appendingPathComponent("pictures").path, "--json",
        ])
        XCTAssertEqual(evaluation.status, 0, evaluation.error)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evaluation.output.utf8)) as? [String: Any])
        XCTAssertEqual(object["classes"] as? [String], ["cat", "espresso"])
        XCTAssertEqual(object["samples"] as? Int, 4, "a fifth of 20 pictures held out")
        XCTAssertEqual(object["accuracy"] as? Double, 1, "the ImageNet features separate a cat from an espresso at once")
        XCTAssertEqual(object["weights"] as? String, "trained")
        let averaged = try MobileNetProcess.run([
            "evaluate", "--checkpoint", output.path, "--dataset", folder.appendingPathComponent("pictures").path, "--ema", "--json",
        ])
        XCTAssertEqual(averaged.status, 0, averaged.error)
        let averagedObject = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(averaged.output.utf8)) as? [String: Any])
        XCTAssertEqual(averagedObject["weights"] as? String, "average")
        XCTAssertEqual(try XCTUnwrap(averagedObject["accuracy"] as? Double), averageAccuracy, "what the last epoch reported")
    }

    func testADivergingLearningRateIsReportedWithItsStep() throws {
        try requireFashionMNIST()
        let output = try temporaryFolder().appendingPathComponent("run")
        let run = try MobileNetProcess.run([
            "train", "--dataset", "fashion-mnist", "--variant", "v1", "--width", "0.25", "--epochs", "1", "--batch-size", "64",
            "--limit", "1024", "--lr", "1e12", "--threads", "1", "--output", output.path,
        ])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.error.hasPrefix("mobilenet: training diverged: the loss is"), run.error)
        XCTAssertTrue(run.error.contains("epoch 1, step"), run.error)
        XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, run.error)
    }

    func testBadInputsFailWithOneLine() throws {
        let folder = try temporaryFolder()
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let noImages = folder.appendingPathComponent("no-images")
        try FileManager.default.createDirectory(at: noImages.appendingPathComponent("cats"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: noImages.appendingPathComponent("dogs"), withIntermediateDirectories: true)
        try Data("not a picture".utf8).write(to: noImages.appendingPathComponent("dogs/readme.txt"))
        let output = folder.appendingPathComponent("run").path

        let cases: [([String], String)] = [
            (["train", "--dataset", empty.path, "--epochs", "1", "--batch-size", "4", "--output", output], empty.path),
            (["train", "--dataset", noImages.path, "--epochs", "1", "--batch-size", "4", "--output", output], "cats"),
            (["train", "--dataset", "fashion-mnist", "--epochs", "0", "--batch-size", "4", "--output", output], "--epochs"),
            (["train", "--dataset", "fashion-mnist", "--epochs", "1", "--batch-size", "4", "--lr", "-1", "--output", output], "--lr"),
            (["train", "--dataset", "fashion-mnist", "--variant", "v3-small", "--pretrained", "--epochs", "1", "--batch-size", "4",
              "--output", output], "--pretrained"),
            (["train", "--dataset", "fashion-mnist", "--epochs", "1", "--batch-size", "4", "--output", output, "--resume"], "--resume"),
            (["evaluate", "--checkpoint", folder.appendingPathComponent("nothing").path, "--dataset", "fashion-mnist"], "nothing"),
        ]
        for (arguments, mention) in cases {
            let run = try MobileNetProcess.run(arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertTrue(run.error.hasPrefix("mobilenet: "), "\(arguments): \(run.error)")
            XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.error)")
            XCTAssertTrue(run.error.contains(mention), "\(arguments): \(run.error)")
        }
    }
}
