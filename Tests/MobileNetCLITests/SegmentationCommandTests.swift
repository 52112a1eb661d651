import Foundation
import XCTest

/// `train --task segmentation`, `segment`, `evaluate --task segmentation`, `info --task
/// segmentation` and `bench --task segmentation` as a user runs them, and their one-line refusals.
final class SegmentationCommandTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func requireFashionMNIST() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    }

    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("segmentation-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    func testTrainSegmentEvaluateOnScenes() throws {
        try requireFashionMNIST()
        let folder = try temporaryFolder()
        let runFolder = folder.appendingPathComponent("run").path
        let train = try MobileNetProcess.run([
            "train", "--task", "segmentation", "--dataset", "fashion-mnist-scenes", "--train-scenes", "16", "--test-scenes", "4",
            "--scene-canvas", "64", "--resolution", "48", "--width", "0.5", "--epochs", "1", "--batch-size", "8",
            "--optimizer", "adamw", "--norm-momentum", "0.1", "--output", runFolder, "--threads", "2",
        ])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("mean IoU"), train.output)
        let csv = try String(contentsOfFile: runFolder + "/metrics.csv", encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second,ema_val_loss,ema_val_accuracy,mean_iou\n"), csv)

        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path
        let picture = folder.appendingPathComponent("mask.png").path
        let segment = try MobileNetProcess.run(["segment", cat, "--weights", runFolder, "--json", "--output", picture, "--overlay"])
        XCTAssertEqual(segment.status, 0, segment.error)
        let entries = try XCTUnwrap(try json(segment.output) as? [[String: Any]])
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0]["width"] as? Int, 451)
        let classes = try XCTUnwrap(entries[0]["classes"] as? [[String: Any]])
        XCTAssertEqual(classes.reduce(0) { $0 + ($1["pixels"] as? Int ?? 0) }, 451 * 300, "every pixel has a class")
        XCTAssertTrue(FileManager.default.fileExists(atPath: picture))
        // The picture is not replaced without --overwrite.
        let again = try MobileNetProcess.run(["segment", cat, "--weights", runFolder, "--output", picture])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.error.contains("--overwrite"), again.error)

        let evaluate = try MobileNetProcess.run([
            "evaluate", "--task", "segmentation", "--checkpoint", runFolder, "--dataset", "fashion-mnist-scenes", "--scenes", "4", "--json",
        ])
        XCTAssertEqual(evaluate.status, 0, evaluate.error)
        let report = try XCTUnwrap(try json(evaluate.output) as? [String: Any])
        let meanIoU = try XCTUnwrap(report["mean_iou"] as? Double)
        // The same test scenes and model as the run's last evaluation.
        let lastRow = try XCTUnwrap(csv.split(separator: "\n").last?.split(separator: ",", omittingEmptySubsequences: false).last)
        XCTAssertEqual(meanIoU, try XCTUnwrap(Double(String(lastRow))), accuracy: 1e-3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: try XCTUnwrap(report["picture"] as? String)))
    }

    func testInfoCountsTorchvisionsParametersAndMultiplyAdds() throws {
        let run = try MobileNetProcess.run(["info", "--task", "segmentation", "--json"])
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(try json(run.output) as? [String: Any])
        XCTAssertEqual(report["parameters"] as? Int, 3_221_538)
        // Every Conv2d's multiply-adds for one 512x512 picture, as the fixture generator counts them.
        XCTAssertEqual(report["macs"] as? Int, 1_974_665_088)
        XCTAssertEqual(report["resolution"] as? Int, 512)
    }

    func testBenchTimesThePartsOnTheInstructionSet() throws {
        try requireFashionMNIST()
        let run = try MobileNetProcess.run([
            "bench", "--task", "segmentation", "--classes", "11", "--width", "0.5", "--resolution", "64", "--iterations", "2",
            "--warmup", "0", "--json",
        ])
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(try json(run.output) as? [String: Any])
        XCTAssertEqual(report["mode"] as? String, "segmentation")
        XCTAssertNotNil(report["isa"] as? String)
        let parts = try XCTUnwrap(report["parts_ms_p50"] as? [String: Double])
        XCTAssertEqual(Set(parts.keys), ["transform", "network", "postprocess"])
    }

    func testBadInputsFailWithOneLine() throws {
        let folder = try temporaryFolder()
        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path
        let cases: [([String], String)] = [
            (["segment", cat, "--weights", folder.appendingPathComponent("missing").path], "--weights"),
            (["segment", cat, "--weights", folder.path], "checkpoint"),
            (["segment", cat, "--weights", folder.path, "--overlay"], "--overlay"),
            (["segment", cat, "--weights", folder.path, "--output", "mask.jpg"], "--output"),
            (["train", "--task", "segmentation", "--dataset", "imagenet", "--epochs", "1", "--batch-size", "2", "--output", folder.path + "/a"], "--dataset"),
            (["train", "--task", "segmentation", "--dataset", "voc:" + folder.path + "/nowhere", "--epochs", "1", "--batch-size", "2",
              "--output", folder.path + "/b"], "nowhere"),
            (["train", "--task", "segmentation", "--dataset", "fashion-mnist-scenes", "--variant", "v2", "--epochs", "1", "--batch-size", "2",
              "--output", folder.path + "/c"], "--variant"),
            (["train", "--task", "segmentation", "--dataset", "fashion-mnist-scenes", "--norm-momentum", "2", "--epochs", "1",
              "--batch-size", "2", "--output", folder.path + "/d"], "--norm-momentum"),
            (["train", "--task", "detection", "--dataset", "fashion-mnist-scenes", "--base-size", "100", "--epochs", "1",
              "--batch-size", "2", "--output", folder.path + "/e"], "--base-size"),
            (["info", "--task", "segmentation", "--classes", "1"], "classes"),
            (["bench", "--task", "segmentation", "--train"], "--train"),
        ]
        for (arguments, mention) in cases {
            let run = try MobileNetProcess.run(arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            let lines = run.error.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(run.error)")
            XCTAssertTrue(run.error.hasPrefix("mobilenet: ") && run.error.contains(mention), "\(arguments): \(run.error)")
        }
    }
}
