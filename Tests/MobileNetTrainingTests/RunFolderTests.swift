import Foundation
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest

@testable import MobileNetTraining

/// A run's folder is never replaced, never followed out of, and never left with temporary files.
final class RunFolderTests: XCTestCase {
    private func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
    }

    func testANewRunNeedsANewOrEmptyFolder() throws {
        let folder = try TemporaryFolder()
        // Missing, with missing parents: fine to check (which creates nothing), created when prepared.
        let nested = folder.url.appendingPathComponent("a/b/run")
        try RunFolder.checkForNewRun(at: nested)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("a").path))
        try RunFolder.prepareForNewRun(at: nested)
        try RunFolder.requireFolder(nested)
        // Empty but for what a killed write left: accepted, and the leftover removed.
        try write("half", to: nested.appendingPathComponent(".epoch-1.safetensors.0F1E.partial"))
        try RunFolder.prepareForNewRun(at: nested)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: nested.path), [])

        // A run killed before its first checkpoint, and a folder of other things: refused, untouched.
        try write("epoch,train_loss\n", to: nested.appendingPathComponent("metrics.csv"))
        try write("notes", to: nested.appendingPathComponent("notes.txt"))
        XCTAssertThrowsError(try RunFolder.prepareForNewRun(at: nested)) { error in
            XCTAssertEqual(error as? RunFolderError, .notEmpty(path: nested.path, files: ["metrics.csv", "notes.txt"]))
        }
        XCTAssertEqual(try String(contentsOf: nested.appendingPathComponent("metrics.csv"), encoding: .utf8), "epoch,train_loss\n")
        try write(#"{"checkpoint": "epoch-1.json"}"#, to: nested.appendingPathComponent("latest.json"))
        XCTAssertThrowsError(try RunFolder.prepareForNewRun(at: nested)) { error in
            XCTAssertEqual(error as? TrainingError, .outputNotEmpty(path: nested.path))
        }

        let file = folder.url.appendingPathComponent("file")
        try write("x", to: file)
        XCTAssertThrowsError(try RunFolder.prepareForNewRun(at: file)) { error in
            XCTAssertEqual(error as? RunFolderError, .notAFolder(path: file.path))
        }
        let underFile = file.appendingPathComponent("run/deeper")
        for attempt in [RunFolder.checkForNewRun(at:), RunFolder.prepareForNewRun(at:)] {
            XCTAssertThrowsError(try attempt(underFile)) { error in
                XCTAssertEqual(error as? RunFolderError, .cannotCreate(path: underFile.path, reason: "\(file.path) is a file, not a folder"))
            }
        }
    }

    func testNamesInARunsJSONStayInsideItsFolder() throws {
        let folder = try TemporaryFolder()
        let run = folder.url.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let latest = run.appendingPathComponent("latest.json")
        for name in ["../../../../etc/passwd", "/etc/passwd", "..", "", "sub/epoch-1.json"] {
            try JSONSerialization.data(withJSONObject: ["checkpoint": name]).write(to: latest)
            XCTAssertThrowsError(try TrainingCheckpoint.latest(in: run), name) { error in
                XCTAssertEqual(error as? RunFolderError, .nameOutsideFolder(name: name, referencedBy: latest.path), name)
            }
        }
        // A plain name that is a link out of the folder.
        let outside = folder.url.appendingPathComponent("outside.json")
        try write("{}", to: outside)
        try FileManager.default.createSymbolicLink(at: run.appendingPathComponent("epoch-1.json"), withDestinationURL: outside)
        try write(#"{"checkpoint": "epoch-1.json"}"#, to: latest)
        XCTAssertThrowsError(try TrainingCheckpoint.latest(in: run)) { error in
            XCTAssertEqual(error as? RunFolderError, .linkOutsideFolder(path: run.appendingPathComponent("epoch-1.json").path, target: outside.path))
        }
        // A link within the folder is followed.
        try FileManager.default.removeItem(at: run.appendingPathComponent("epoch-1.json"))
        try write("{}", to: run.appendingPathComponent("epoch-1.real.json"))
        try FileManager.default.createSymbolicLink(atPath: run.appendingPathComponent("epoch-1.json").path, withDestinationPath: "epoch-1.real.json")
        XCTAssertEqual(try TrainingCheckpoint.latest(in: run)?.lastPathComponent, "epoch-1.json")
    }

    /// JSON of the wrong shape is named, with the key, in one line.
    func testMalformedJSONIsExplainedInOneLine() throws {
        let folder = try TemporaryFolder()
        let latest = folder.url.appendingPathComponent("latest.json")
        let cases: [(String, String)] = [
            (#"{"checkpoin": "epoch-1.json"}"#, #"expected {"checkpoint": "<name>.json"}, but "checkpoint" is missing"#),
            (#"{"checkpoint": 5}"#, #"expected {"checkpoint": "<name>.json"}, but "checkpoint" is not a string"#),
            (#"{"checkpoint": null}"#, #"expected {"checkpoint": "<name>.json"}, but "checkpoint" is null, not a string"#),
            (#"[1, 2]"#, #"expected {"checkpoint": "<name>.json"}, but the file is not an object"#),
            ("not json", #"expected {"checkpoint": "<name>.json"}, but the file is not valid JSON"#),
        ]
        for (text, reason) in cases {
            try write(text, to: latest)
            XCTAssertThrowsError(try TrainingCheckpoint.latest(in: folder.url), text) { error in
                XCTAssertEqual(error as? TrainingCheckpointError, .unreadable(path: latest.path, reason: reason), text)
            }
        }
        let manifest = folder.url.appendingPathComponent("epoch-1.json")
        try write(#"{"format": "swift-mobilenet training checkpoint 1", "weights": {"name": "w", "bytes": "many", "fnv1a64": "0"}}"#, to: manifest)
        XCTAssertThrowsError(try TrainingCheckpoint.load(from: manifest)) { error in
            XCTAssertEqual("\(error)", "\(manifest.path): cannot read the checkpoint: expected a training checkpoint's JSON "
                           + #"(format, weights, optimizerTensors, state), but "weights.bytes" is not an integer"#)
        }
        // A folder where a file is expected, and a FIFO, which reading would wait on forever.
        try FileManager.default.createDirectory(at: folder.url.appendingPathComponent("epoch-2.json"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try TrainingCheckpoint.load(from: folder.url.appendingPathComponent("epoch-2.json"))) { error in
            XCTAssertTrue("\(error)".contains("a folder, expected a training checkpoint's JSON"), "\(error)")
        }
        let fifo = folder.url.appendingPathComponent("epoch-3.json")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        XCTAssertThrowsError(try TrainingCheckpoint.load(from: fifo)) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }
}
