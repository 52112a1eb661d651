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
}
