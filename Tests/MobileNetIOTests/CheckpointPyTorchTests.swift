import Foundation
import MobileNetIO
import MobileNetTensor
import XCTest

/// `PyTorchCheckpoint` against files written by `torch.save` (`Scripts/generate_checkpoint_fixtures.py`).
final class CheckpointPyTorchTests: XCTestCase {
    func testReadsEveryElementTypeWithExactValues() throws {
        let state = try PyTorchCheckpoint.read(contentsOf: CheckpointFixtures.url("tiny.pth"))
        assertTinyValues(state)
    }

    func testReadsTheLegacyLayoutWithTheSameValues() throws {
        let state = try PyTorchCheckpoint.read(contentsOf: CheckpointFixtures.url("tiny_legacy.pth"))
        assertTinyValues(state)
    }

    func testStridedViewsComeOutRowMajor() throws {
        let state = try PyTorchCheckpoint.read(contentsOf: CheckpointFixtures.url("tiny.pth"))
        let permuted = try XCTUnwrap(state["permuted"])
        // y[k, i, j] = x[i, j, k] = 12i + 4j + k: spot-check through the subscript too.
        XCTAssertEqual(permuted[3, 1, 2], 12 + 8 + 3)
        XCTAssertEqual(permuted[0, 1, 0], 12)
        XCTAssertEqual(state["transposed"]?[2, 1], 5)
        XCTAssertEqual(state["window"]?.scalars.first, 2, "the storage offset must be applied")
    }

    func testUnwrapsStateDict() throws {
        let state = try PyTorchCheckpoint.read(contentsOf: CheckpointFixtures.url("nested_state_dict.pth"))
        XCTAssertEqual(Set(state.keys), ["fc.weight"])
        XCTAssertEqual(state["fc.weight"]?.shape, [1, 2])
        XCTAssertEqual(state["fc.weight"]?.scalars, [1, 2])
    }

    func testPrefersModelOverModelEMA() throws {
        let state = try PyTorchCheckpoint.read(contentsOf: CheckpointFixtures.url("nested_model.pth"))
        XCTAssertEqual(Set(state.keys), ["fc.bias"])
        XCTAssertEqual(state["fc.bias"]?.scalars, [0.5])
    }

    func testWriteThenReadGivesTheSameTensors() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let state = Self.sampleState()
        let url = folder.appendingPathComponent("sample.pth")
        try PyTorchCheckpoint.write(state, to: url)
        let read = try PyTorchCheckpoint.read(contentsOf: url)
        assertEqualStates(read, state)
    }

    func testReadingTheFixtureAndWritingItAgainKeepsEveryValue() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let original = try PyTorchCheckpoint.read(contentsOf: CheckpointFixtures.url("tiny.pth"))
        let url = folder.appendingPathComponent("again.pt")
        try PyTorchCheckpoint.write(original, to: url)
        assertEqualStates(try PyTorchCheckpoint.read(contentsOf: url), original)
    }

    func testTheSameStateGivesTheSameBytes() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let first = folder.appendingPathComponent("first.pth"), second = folder.appendingPathComponent("second.pth")
        try PyTorchCheckpoint.write(Self.sampleState(), to: first)
        try PyTorchCheckpoint.write(Self.sampleState(), to: second)
        XCTAssertEqual(try Data(contentsOf: first), try Data(contentsOf: second))
    }

    /// Writing was quadratic in the number of tensors (10,000 took 1.6 s, 40,000 19.6 s); 20,000
    /// tiny ones now take a fraction of a second each way.
    func testManyTensorsRoundTrip() throws {
        let state = Dictionary(uniqueKeysWithValues: (0..<20_000).map { index in
            ("layer\(index).weight", Tensor(repeating: Float(index), shape: [index % 3 + 1]))
        })
        let url = try CheckpointFixtures.temporaryDirectory(for: self).appendingPathComponent("many.pth")
        try PyTorchCheckpoint.write(state, to: url)
        let read = try PyTorchCheckpoint.read(contentsOf: url)
        XCTAssertEqual(read.count, state.count)
        XCTAssertEqual(read["layer19999.weight"]?.scalars, [19_999, 19_999])
        XCTAssertEqual(read["layer4.weight"]?.shape, [2])
    }

    func testRefusesToOverwriteUnlessAsked() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("kept.pth")
        try PyTorchCheckpoint.write(["a": Tensor(repeating: 1, shape: [2])], to: url)
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try PyTorchCheckpoint.write(["a": Tensor(repeating: 2, shape: [2])], to: url)) { error in
            XCTAssertEqual(error as? CheckpointError, .fileExists(path: url.path))
        }
        XCTAssertEqual(try Data(contentsOf: url), before)

        try PyTorchCheckpoint.write(["a": Tensor(repeating: 2, shape: [2])], to: url, overwrite: true)
        XCTAssertEqual(try PyTorchCheckpoint.read(contentsOf: url)["a"]?.scalars, [2, 2])
        // Nothing but the checkpoint is left behind: the temporary file was renamed or removed.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["kept.pth"])
    }

    func testWritingIntoAMissingFolderIsATypedError() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("no/such/folder/x.pth")
        XCTAssertThrowsError(try PyTorchCheckpoint.write(Self.sampleState(), to: url)) { error in
            guard case let .fileSystem(path, _, _)? = error as? CheckpointError else {
                return XCTFail("expected a file system error, got \(error)")
            }
            XCTAssertEqual(path, url.path)
        }
    }

    // MARK: - Helpers

    /// Tensors of every rank from 0 to 4, an empty one, and values that float16 could not hold.
    static func sampleState() -> [String: Tensor] {
        var generator = SplitMix64(seed: 7)
        return [
            "features.0.0.weight": Tensor.uniform([4, 3, 3, 3], in: -1...1, using: &generator),
            "features.0.1.running_var": Tensor.uniform([4], in: 0.5...2, using: &generator),
            "features.0.1.num_batches_tracked": Tensor(repeating: 123_456, shape: []),
            "classifier.1.weight": Tensor(shape: [2, 3]) { Float($0) * 1e-7 + 3.1415927 },
            "empty": Tensor.zeros([0, 3]),
            "big.values": Tensor(shape: [3]) { [1e30, -1e-30, .greatestFiniteMagnitude][$0] },
        ]
    }

    private func assertTinyValues(_ state: [String: Tensor], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(state.keys), Set(CheckpointFixtures.tinyValues.keys), file: file, line: line)
        for (key, expected) in CheckpointFixtures.tinyValues {
            guard let tensor = state[key] else { continue }
            XCTAssertEqual(tensor.shape, expected.shape, key, file: file, line: line)
            XCTAssertEqual(tensor.scalars, expected.values, key, file: file, line: line)
        }
    }
}

/// Two state dictionaries hold the same keys, shapes and bit-identical values.
func assertEqualStates(_ actual: [String: Tensor], _ expected: [String: Tensor], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(Set(actual.keys), Set(expected.keys), file: file, line: line)
    for (key, tensor) in expected {
        guard let other = actual[key] else { continue }
        XCTAssertEqual(other.shape, tensor.shape, key, file: file, line: line)
        XCTAssertEqual(other.scalars.map(\.bitPattern), tensor.scalars.map(\.bitPattern), key, file: file, line: line)
    }
}
