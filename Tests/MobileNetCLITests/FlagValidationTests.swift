import Foundation
import XCTest

/// Every numeric flag is checked before any work starts: a bad value ends the command within
/// seconds with one line on stderr that names the flag and its bound, and an exit status of a
/// failure (not a signal). Each case below once crashed, trapped, hung or ran out of memory.
final class FlagValidationTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("flags-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs `arguments` and checks the refusal: one `mobilenet:` line naming each of `mentions`.
    private func assertRefused(
        _ arguments: [String], mentioning mentions: [String], environment: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let started = Date()
        let run = try MobileNetProcess.run(arguments, environment: environment)
        let seconds = Date().timeIntervalSince(started)
        let label = "\(environment.map { "\($0)=\($1) " }.joined())\(arguments.joined(separator: " "))"
        XCTAssertTrue((1..<128).contains(run.status), "\(label): status \(run.status)", file: file, line: line)
        XCTAssertEqual(run.output, "", label, file: file, line: line)
        XCTAssertTrue(run.error.hasPrefix("mobilenet: "), "\(label): \(run.error)", file: file, line: line)
        XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, "\(label): \(run.error)", file: file, line: line)
        for mention in mentions {
            XCTAssertTrue(run.error.contains(mention), "\(label): \(run.error) does not name \(mention)", file: file, line: line)
        }
        XCTAssertLessThan(seconds, 20, "\(label) took \(seconds) s to refuse", file: file, line: line)
    }

    func testSizeFlagsHaveUpperBounds() throws {
        let cases: [([String], [String])] = [
            (["info", "--width", "100"], ["--width", "4.0", "100"]),
            (["info", "--width", "1e10"], ["--width", "4.0"]),
            (["info", "--width", "nan"], ["--width", "nan"]),
            (["info", "--resolution", "100000"], ["--resolution", "2048", "100000"]),
            (["info", "--resolution", "99999999999"], ["--resolution", "2048", "99999999999"]),
            (["info", "--classes", "100000000"], ["--classes", "100000", "100000000"]),
            (["classify", "x.jpg", "--width", "100"], ["--width", "4.0"]),
            (["classify", "x.jpg", "--classes", "100000000"], ["--classes", "100000"]),
            (["bench", "--resolution", "100000"], ["--resolution", "2048"]),
            (["bench", "--width", "1e10"], ["--width", "4.0"]),
            (["bench", "--batch", "100000"], ["--batch", "668", "100000"]),
            (["bench", "--batch", "9", "--resolution", "2048"], ["--batch", "8", "2048"]),
            (["bench", "--batch", "0"], ["--batch", "1"]),
            (["evaluate", "--checkpoint", "run", "--dataset", "fashion-mnist", "--batch-size", "100000"], ["--batch-size", "32768"]),
            (["evaluate", "--checkpoint", "run", "--dataset", "fashion-mnist", "--batch-size", "0"], ["--batch-size", "1"]),
        ]
        for (arguments, mentions) in cases {
            try assertRefused(arguments, mentioning: mentions)
        }
    }

    func testBenchAndClassifyCountsAreBounded() throws {
        let cases: [([String], [String])] = [
            (["bench", "--iterations", "1000000000000"], ["--iterations", "1000000"]),
            (["bench", "--iterations", "0"], ["--iterations", "1"]),
            (["bench", "--warmup=-1"], ["--warmup", "0"]),
            (["bench", "--warmup", "1000000000000"], ["--warmup", "1000000"]),
            (["classify", "x.jpg", "--top", "0"], ["--top", "1"]),
        ]
        for (arguments, mentions) in cases {
            try assertRefused(arguments, mentioning: mentions)
        }
    }

    func testProfileFlagsAreChecked() throws {
        let existing = folder.appendingPathComponent("profile.svg")
        try Data("mine".utf8).write(to: existing)
        let cases: [([String], [String])] = [
            (["bench", "--svg", folder.appendingPathComponent("new.svg").path], ["--svg", "--profile"]),
            (["bench", "--peak-gflops", "100"], ["--peak-gflops", "--profile"]),
            (["bench", "--profile", "--train"], ["--profile", "--train"]),
            (["bench", "--profile", "--peak-gflops", "0"], ["--peak-gflops", "positive"]),
            (["bench", "--profile", "--peak-gbps", "nan"], ["--peak-gbps", "positive"]),
            (["bench", "--profile", "--peak-gflops", "inf"], ["--peak-gflops", "positive"]),
            (["bench", "--profile", "--svg", existing.path], ["--svg", existing.path, "--force"]),
            (["bench", "--precision", "fp16"], ["--precision", "fp32"]),
        ]
        for (arguments, mentions) in cases {
            try assertRefused(arguments, mentioning: mentions)
        }
        XCTAssertEqual(try String(contentsOf: existing, encoding: .utf8), "mine", "the user's file is left alone")
    }

    func testTrainingFlagsAreCheckedBeforeTrainingStarts() throws {
        let output = folder.appendingPathComponent("run")
        let base = ["train", "--dataset", "fashion-mnist", "--epochs", "1", "--batch-size", "8", "--output", output.path]
        let cases: [([String], [String])] = [
            (["--ema", "1.5"], ["--ema", "(0, 1)", "1.5"]),
            (["--ema", "nan"], ["--ema", "(0, 1)", "nan"]),
            (["--ema=-1"], ["--ema", "(0, 1)"]),
            (["--clip-norm", "0"], ["--clip-norm", "positive"]),
            (["--clip-norm", "nan"], ["--clip-norm", "positive"]),
            (["--epochs", "9223372036854775807"], ["--epochs", "10000", "9223372036854775807"]),
            (["--epochs", "0"], ["--epochs", "1...10000"]),
            (["--resolution", "5000"], ["--resolution", "2048", "5000"]),
            (["--batch-size", "0"], ["--batch-size", "1"]),
            (["--batch-size", "100000"], ["--batch-size", "32768"]),
            (["--lr", "nan"], ["--lr", "positive"]),
            (["--lr", "0"], ["--lr", "positive"]),
            (["--lr", "inf"], ["--lr", "positive"]),
            (["--weight-decay=-1"], ["--weight-decay", "0"]),
            (["--weight-decay", "inf"], ["--weight-decay", "inf"]),
            (["--warmup-epochs", "2"], ["--warmup-epochs", "0...1", "2"]),
            (["--label-smoothing", "1"], ["--label-smoothing", "[0, 1)"]),
            (["--label-smoothing", "nan"], ["--label-smoothing", "[0, 1)"]),
            (["--limit", "0"], ["--limit", "1"]),
            (["--width", "100"], ["--width", "4.0"]),
            (["--threads", "100000"], ["--threads", "1024"]),
        ]
        for (flags, mentions) in cases {
            // Later values of a flag win, so the base's --epochs and --batch-size can be overridden.
            try assertRefused(base + flags, mentioning: mentions)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "\(flags): the run folder was made")
        }
    }

    /// `--threads 100000` and `OMP_NUM_THREADS=100000` once crashed inside libgomp.
    func testThreadCountsAreBounded() throws {
        for command in [["bench"], ["classify", "x.jpg"]] {
            try assertRefused(command + ["--threads", "100000"], mentioning: ["--threads", "1024", "100000"])
            try assertRefused(command + ["--threads", "0"], mentioning: ["--threads", "1"])
        }
        let output = folder.appendingPathComponent("run").path
        for command in [["bench"], ["classify", "x.jpg"], ["info"], ["evaluate", "--checkpoint", "run", "--dataset", "fashion-mnist"],
                        ["train", "--dataset", "fashion-mnist", "--epochs", "1", "--batch-size", "8", "--output", output]] {
            try assertRefused(command, mentioning: ["OMP_NUM_THREADS", "100000", "1024"], environment: ["OMP_NUM_THREADS": "100000"])
        }
    }

    /// Within the bound, `OMP_NUM_THREADS` is taken as it is, and `--threads` wins over one above it.
    func testThreadCountsWithinTheBoundRun() throws {
        let run = try MobileNetProcess.run(
            ["bench", "--resolution", "32", "--width", "0.35", "--iterations", "1", "--warmup", "0", "--json"],
            environment: ["OMP_NUM_THREADS": "3"])
        XCTAssertEqual(run.status, 0, run.error)
        XCTAssertTrue(run.output.contains("\"threads\":3"), run.output)
        let overridden = try MobileNetProcess.run(
            ["bench", "--resolution", "32", "--width", "0.35", "--iterations", "1", "--warmup", "0", "--threads", "1", "--json"],
            environment: ["OMP_NUM_THREADS": "100000"])
        XCTAssertEqual(overridden.status, 0, overridden.error)
        XCTAssertTrue(overridden.output.contains("\"threads\":1"), overridden.output)
    }
}
