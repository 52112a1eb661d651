import Foundation
import MobileNetIO
import MobileNetTensor
import XCTest

/// The checkpoint fixtures made by `Scripts/generate_checkpoint_fixtures.py`, and scratch folders.
enum CheckpointFixtures {
    static let names = [
        "tiny.pth", "tiny_legacy.pth", "nested_state_dict.pth", "nested_model.pth", "tiny.safetensors",
        "malicious_os_system.pth", "malicious_builtins_eval.pth", "huge_shape.pth", "short_storage.pth",
    ]

    static func url(_ name: String) throws -> URL {
        let url = Bundle.module.resourceURL!
            .appendingPathComponent("Fixtures", isDirectory: true)
            .appendingPathComponent("checkpoints", isDirectory: true)
            .appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CheckpointError.fileNotFound(path: url.path)
        }
        return url
    }

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: url(name))
    }

    /// A new empty folder, removed when `testCase` ends.
    static func temporaryDirectory(for testCase: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("mobilenet-checkpoint-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// The values of the tiny fixtures, by the formulas in the generator's docstring.
    static let tinyValues: [String: (shape: Shape, values: [Float])] = {
        let convolution: [Float] = (0..<6).map { Float($0) * 0.5 - 1 }
        // arange(24).reshape(2, 3, 4).permute(2, 0, 1): element [k, i, j] is 12i + 4j + k.
        var permuted: [Float] = []
        for k in 0..<4 {
            for i in 0..<2 {
                for j in 0..<3 { permuted.append(Float(12 * i + 4 * j + k)) }
            }
        }
        var values: [String: (shape: Shape, values: [Float])] = [:]
        values["conv.weight"] = ([2, 3], convolution)
        values["half"] = ([4], [1.5, -2.25, 65504, 0x1p-24])
        values["bfloat"] = ([3], [1, -3.5, 0.15625])
        values["double"] = ([2], [0.25, 3])
        values["counts"] = ([2], [-5, 123_456])
        values["bn.num_batches_tracked"] = ([], [7])
        values["transposed"] = ([3, 2], [0, 3, 1, 4, 2, 5])  // arange(6).reshape(2, 3).t()
        values["permuted"] = ([4, 2, 3], permuted)
        values["window"] = ([4], [2, 3, 4, 5])
        values["window_tail"] = ([3], [7, 8, 9])
        values["scale"] = ([2], [2, -2])
        return values
    }()
}

/// The fixtures are committed, present in the test bundle, and small.
final class CheckpointFixtureTests: XCTestCase {
    func testEveryFixtureIsBundledAndTiny() throws {
        for name in CheckpointFixtures.names {
            let size = try CheckpointFixtures.data(name).count
            XCTAssertGreaterThan(size, 0, name)
            XCTAssertLessThan(size, 8 * 1024, name)
        }
    }
}
