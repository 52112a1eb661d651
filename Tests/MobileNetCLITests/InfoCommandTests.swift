import Foundation
import XCTest

/// Runs the built `mobilenet` executable as a user would.
final class InfoCommandTests: XCTestCase {
    func testJSONCarriesTheContractFields() throws {
        let run = try MobileNetProcess.run(["info", "--variant", "v2", "--width", "0.35", "--resolution", "96", "--classes", "10", "--json"])
        XCTAssertEqual(run.status, 0, run.error)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        XCTAssertEqual(object["variant"] as? String, "v2")
        XCTAssertEqual(object["width"] as? Double, 0.35)
        XCTAssertEqual(object["resolution"] as? Int, 96)
        XCTAssertEqual(object["classes"] as? Int, 10)
        // torchvision: 1,677,128 parameters at 1000 classes; the classifier shrinks by 1280 · 990 + 990.
        XCTAssertEqual(object["parameters"] as? Int, 1_677_128 - 1280 * 990 - 990)
        let layers = try XCTUnwrap(object["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.reduce(0) { $0 + ($1["macs"] as? Int ?? 0) }, object["macs"] as? Int)
        XCTAssertEqual(layers.first?["output_shape"] as? [Int], [1, 48, 48, 16])
    }

    func testTableEndsWithTotals() throws {
        let run = try MobileNetProcess.run(["info", "--variant", "v3-large"])
        XCTAssertEqual(run.status, 0, run.error)
        XCTAssertTrue(run.output.contains("features.16.0"), run.output)
        XCTAssertTrue(run.output.hasSuffix("5,483,032 parameters, 216.6 M multiply-adds\n"), String(run.output.suffix(200)))
    }

    func testBadFlagsFailWithOneLine() throws {
        for arguments in [["info", "--variant", "v5"], ["info", "--resolution", "16"], ["info", "--width=0"],
                          ["info", "--classes", "0"], ["info", "--nonsense"],
                          // Once killed at 24 GB, out of memory (SIGILL), or trapped on overflow.
                          ["info", "--width", "100"], ["info", "--width", "1e10"], ["info", "--width", "nan"],
                          ["info", "--resolution", "100000"], ["info", "--resolution", "99999999999"],
                          ["info", "--classes", "100000000"]] {
            let run = try MobileNetProcess.run(arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertEqual(run.output, "", "\(arguments)")
            XCTAssertTrue(run.error.hasPrefix("mobilenet: "), "\(arguments): \(run.error)")
            XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.error)")
        }
    }
}

/// The built `mobilenet` executable, run with arguments; its exit status and both outputs.
enum MobileNetProcess {
    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    /// Starts the executable without waiting; its output is discarded.
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func executable() throws -> URL {
        // The test bundle sits in the build products folder, beside the executable.
        var folder = Bundle(for: InfoCommandTests.self).bundleURL
        while !FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("mobilenet").path) {
            guard folder.pathComponents.count > 1 else { throw CocoaError(.fileNoSuchFile) }
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("mobilenet")
    }

    /// Runs the executable to its end; `environment` adds to (or overrides) this process's.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      output: String(decoding: outputData, as: UTF8.self),
                      error: String(decoding: errorData, as: UTF8.self))
    }
}
