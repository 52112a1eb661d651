import Foundation
import XCTest

/// `train --task detection`, `detect`, `evaluate --task detection`, `info --task detection` and
/// `bench --task detection` as a user runs them, and their one-line refusals.
final class DetectionCommandTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func requireFashionMNIST() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    }

    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("detection-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    func testTrainDetectEvaluateOnScenes() throws {
        try requireFashionMNIST()
        let folder = try temporaryFolder()
        let runFolder = folder.appendingPathComponent("run").path
        let train = try MobileNetProcess.run([
            "train", "--task", "detection", "--dataset", "fashion-mnist-scenes", "--train-scenes", "16", "--test-scenes", "4",
            "--resolution", "64", "--width", "0.5", "--epochs", "1", "--batch-size", "8", "--optimizer", "adamw",
            "--output", runFolder, "--threads", "2",
        ])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("test AP"), train.output)
        let csv = try String(contentsOfFile: runFolder + "/metrics.csv", encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second,ema_val_loss,ema_val_accuracy,ap,ap50,ap75\n"), csv)

        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path
        let picture = folder.appendingPathComponent("boxes.png").path
        let detect = try MobileNetProcess.run(["detect", cat, "--weights", runFolder, "--score-threshold", "0", "--json", "--output", picture])
        XCTAssertEqual(detect.status, 0, detect.error)
        let entries = try XCTUnwrap(try json(detect.output) as? [[String: Any]])
        XCTAssertEqual(entries.first?["image"] as? String, cat)
        let detections = try XCTUnwrap(entries.first?["detections"] as? [[String: Any]])
        XCTAssertFalse(detections.isEmpty, "at threshold 0 an untrained detector reports its best candidates")
        for detection in detections {
            let box = try XCTUnwrap(detection["box"] as? [Double])
            XCTAssertEqual(box.count, 4)
            // Boxes in the photo's own pixels (cat.jpg is larger than the 64x64 input).
            XCTAssertTrue(box[0] <= box[2] && box[1] <= box[3] && box.allSatisfy { $0 >= 0 }, "\(box)")
            XCTAssertTrue((1...10).contains(try XCTUnwrap(detection["label"] as? Int)))
            XCTAssertNotNil(detection["name"] as? String)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: picture))
        let again = try MobileNetProcess.run(["detect", cat, "--weights", runFolder, "--output", picture])
        XCTAssertNotEqual(again.status, 0, "an existing picture is not replaced without --overwrite")
        XCTAssertTrue(again.error.hasPrefix("mobilenet: ") && again.error.contains("--overwrite"), again.error)

        let evaluate = try MobileNetProcess.run([
            "evaluate", "--task", "detection", "--checkpoint", runFolder, "--dataset", "fashion-mnist-scenes", "--scenes", "4", "--json",
        ])
        XCTAssertEqual(evaluate.status, 0, evaluate.error)
        let report = try XCTUnwrap(try json(evaluate.output) as? [String: Any])
        XCTAssertEqual(report["images"] as? Int, 4)
        for key in ["ap", "ap50", "ap75"] { XCTAssertNotNil(report[key] as? Double, key) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: try XCTUnwrap(report["picture"] as? String)))
    }

    func testInfoCountsTorchvisionsParametersAndMultiplyAdds() throws {
        let run = try MobileNetProcess.run(["info", "--task", "detection", "--classes", "11", "--json"])
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(try json(run.output) as? [String: Any])
        XCTAssertEqual(report["parameters"] as? Int, 2_331_260)
        // Every Conv2d's multiply-adds for one 320x320 picture, as the fixture generator counts them.
        XCTAssertEqual(report["macs"] as? Int, 423_305_024)
        XCTAssertEqual(report["resolution"] as? Int, 320)
        let table = try MobileNetProcess.run(["info", "--task", "detection"])
        XCTAssertEqual(table.status, 0, table.error)
        XCTAssertTrue(table.output.contains("3,440,060 parameters"), table.output)
    }

    func testBenchReportsTheInstructionSet() throws {
        try requireFashionMNIST()
        let run = try MobileNetProcess.run([
            "bench", "--task", "detection", "--classes", "11", "--resolution", "128", "--iterations", "2", "--warmup", "0", "--json",
        ])
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(try json(run.output) as? [String: Any])
        XCTAssertEqual(report["mode"] as? String, "detection")
        XCTAssertNotNil(report["isa"] as? String)
        XCTAssertGreaterThan(try XCTUnwrap(report["latency_ms_p50"] as? Double), 0)
    }

    func testBadInputsFailWithOneLine() throws {
        let folder = try temporaryFolder()
        let notAModel = folder.appendingPathComponent("notes.pth")
        try Data("not a checkpoint".utf8).write(to: notAModel)
        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path
        let cases: [([String], String)] = [
            (["detect", cat, "--weights", folder.appendingPathComponent("missing").path], "--weights"),
            (["detect", cat, "--weights", notAModel.path], "notes.pth"),
            (["detect", cat, "--weights", folder.path], "checkpoint"),
            (["detect", cat, "--weights", notAModel.path, "--score-threshold", "1.5"], "--score-threshold"),
            (["detect", cat, "--weights", notAModel.path, "--output", "boxes.jpg"], "--output"),
            (["train", "--task", "detection", "--dataset", "imagenet", "--epochs", "1", "--batch-size", "2", "--output", folder.path + "/a"], "--dataset"),
            (["train", "--task", "detection", "--dataset", "fashion-mnist-scenes", "--variant", "v2", "--epochs", "1", "--batch-size", "2",
              "--output", folder.path + "/b"], "--variant"),
            (["train", "--task", "detection", "--dataset", "fashion-mnist-scenes", "--schedule", "step", "--epochs", "1",
              "--batch-size", "2", "--output", folder.path + "/c"], "--schedule"),
            (["train", "--task", "detection", "--dataset", "coco:" + folder.path + "/nowhere", "--epochs", "1", "--batch-size", "2",
              "--output", folder.path + "/d"], "nowhere"),
            (["train", "--dataset", "fashion-mnist", "--train-scenes", "5", "--epochs", "1", "--batch-size", "2", "--output", folder.path + "/e"],
             "--train-scenes"),
            (["info", "--task", "detection", "--classes", "1"], "classes"),
            (["bench", "--task", "detection", "--train"], "--train"),
            (["info", "--task", "detection", "--variant", "v2"], "--variant"),
            (["bench", "--task", "detection", "--variant", "v1", "--iterations", "1"], "--variant"),
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
