import Foundation
import XCTest

/// `mobilenet bench` as a user runs it (what it reports, not how fast: timing is no test).
final class BenchCommandTests: XCTestCase {
    func testJSONReportNamesTheInstructionSetItRanOn() throws {
        let run = try MobileNetProcess.run([
            "bench", "--variant", "v3-small", "--width", "0.25", "--resolution", "32", "--batch", "2", "--iterations", "3",
            "--warmup", "1", "--threads", "1", "--json",
        ])
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], run.output)
        XCTAssertEqual(report["variant"] as? String, "v3-small")
        XCTAssertEqual(report["batch"] as? Int, 2)
        XCTAssertEqual(report["threads"] as? Int, 1)
        XCTAssertEqual(report["iterations"] as? Int, 3)
        let isa = try XCTUnwrap(report["instruction_set"] as? String, run.output)
        XCTAssertFalse(isa.isEmpty || isa.hasPrefix("cpu_isa"), isa)
        // The cap holds for the CLI too: an AVX2 leg reports AVX2.
        if ProcessInfo.processInfo.environment["ONEDNN_MAX_CPU_ISA"]?.uppercased() == "AVX2" {
            XCTAssertEqual(isa, "avx2")
        }
        for key in ["latency_ms_p50", "latency_ms_p90", "images_per_second", "peak_rss_mb"] {
            XCTAssertGreaterThan(try XCTUnwrap(report[key] as? Double, key), 0, key)
        }
    }

    /// `--profile --json`: every column present and consistent with the others and with `info`.
    func testProfileJSONIsConsistentWithItselfAndWithInfo() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let picture = folder.appendingPathComponent("profile.svg")
        let model = ["--variant", "v3-small", "--width", "0.5", "--resolution", "96"]
        let run = try MobileNetProcess.run(["bench"] + model + [
            "--batch", "2", "--iterations", "3", "--warmup", "1", "--threads", "1", "--profile", "--json",
            "--peak-gflops", "100", "--peak-gbps", "10", "--svg", picture.path,
        ])
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], run.output)
        XCTAssertEqual(report["mode"] as? String, "profile")
        XCTAssertEqual(report["precision"] as? String, "fp32")
        XCTAssertEqual(report["threads"] as? Int, 1)
        XCTAssertEqual(report["batch"] as? Int, 2)
        XCTAssertEqual(report["peak_gflops"] as? Double, 100)
        XCTAssertEqual(report["peak_source"] as? String, "flag")
        XCTAssertFalse(try XCTUnwrap(report["isa"] as? String).isEmpty)
        let steps = try XCTUnwrap(report["steps"] as? [[String: Any]])
        let kinds = try XCTUnwrap(report["kinds"] as? [[String: Any]])

        let info = try MobileNetProcess.run(["info"] + model + ["--json"])
        XCTAssertEqual(info.status, 0, info.error)
        let layers = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(info.output.utf8)) as? [String: Any])?["layers"] as? [[String: Any]])
        let infoMACs = Dictionary(layers.map { ($0["name"] as! String, $0["macs"] as! Int) }, uniquingKeysWith: { a, _ in a })

        var sum = 0.0, macs = 0
        for (index, step) in steps.enumerated() {
            let name = try XCTUnwrap(step["name"] as? String)
            XCTAssertEqual(step["index"] as? Int, index)
            let microseconds = try XCTUnwrap(step["us_p50"] as? Double, name)
            let stepMACs = try XCTUnwrap(step["macs"] as? Int, name)
            let bytes = try XCTUnwrap(step["bytes"] as? Int, name)
            XCTAssertGreaterThan(microseconds, 0, name)
            sum += microseconds
            macs += stepMACs
            if ["convolution", "inner_product"].contains(step["primitive"] as? String) {
                // Batch 2: twice what info counts for one image.
                XCTAssertEqual(stepMACs, 2 * (infoMACs[name] ?? -1), name)
            }
            let operands = (step["inputs"] as! [[String: Any]]) + (step["weights"] as! [[String: Any]]) + [step["output"] as! [String: Any]]
            XCTAssertEqual(operands.reduce(0) { $0 + ($1["bytes"] as! Int) }, bytes, name)
            let gflops = try XCTUnwrap(step["gflops"] as? Double, name)
            XCTAssertEqual(gflops, 2 * Double(stepMACs) / microseconds / 1e3, accuracy: 1e-6 * max(1, gflops), name)
            XCTAssertEqual(try XCTUnwrap(step["peak_share"] as? Double), gflops / 100, accuracy: 1e-9, name)
            XCTAssertEqual(try XCTUnwrap(step["gbps"] as? Double), Double(bytes) / microseconds / 1e3, accuracy: 1e-6, name)
            for key in ["kind", "implementation", "primitive"] { XCTAssertFalse((step[key] as? String ?? "").isEmpty, "\(name) \(key)") }
        }
        XCTAssertEqual(macs, 2 * (infoMACs.values.reduce(0, +)), "every multiply-add of info, twice")
        XCTAssertEqual(try XCTUnwrap(report["step_sum_us_p50"] as? Double), sum, accuracy: 1e-6 * sum)
        XCTAssertEqual(kinds.reduce(0) { $0 + ($1["steps"] as! Int) }, steps.count)
        XCTAssertEqual(kinds.reduce(0.0) { $0 + ($1["share"] as! Double) }, 1, accuracy: 1e-9)
        XCTAssertEqual(
            try XCTUnwrap(report["overhead_us"] as? Double),
            try XCTUnwrap(report["end_to_end_us_p50"] as? Double) - sum, accuracy: 1e-6 * sum)

        let svg = try String(contentsOf: picture, encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg"), String(svg.prefix(80)))
        XCTAssertTrue(svg.contains("features.1.block.0.0"), "a bar per step, named")
        XCTAssertTrue(svg.contains("compute 100 GFLOP/s"), "the compute ceiling")
    }

    func testProfileTableEndsWithTheSumAgainstEndToEnd() throws {
        let run = try MobileNetProcess.run([
            "bench", "--variant", "v1", "--width", "0.25", "--resolution", "64", "--iterations", "2", "--warmup", "0",
            "--threads", "1", "--profile",
        ])
        XCTAssertEqual(run.status, 0, run.error)
        XCTAssertTrue(run.output.contains("blocks.4.1.conv_pw"), run.output)
        XCTAssertTrue(run.output.contains("(measured)"), "the peak was measured: \(run.output.prefix(300))")
        XCTAssertNotNil(run.output.range(of: #"steps sum to [0-9.]+ µs; end to end \(no waits between steps\) p50 [0-9.]+ µs"#, options: .regularExpression),
                        String(run.output.suffix(300)))
    }
}
