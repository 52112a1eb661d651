import Foundation
import MobileNetIO
import MobileNetTensor
import XCTest

/// `readStateDictionary` recognizes each format by its bytes, and conversions keep every value.
final class CheckpointFormatTests: XCTestCase {
    func testReadsEachFormatWhateverItsExtension() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        for (fixture, renamed) in [("tiny.pth", "a.bin"), ("tiny_legacy.pth", "b.safetensors"), ("tiny.safetensors", "c.pth")] {
            let url = folder.appendingPathComponent(renamed)
            try FileManager.default.copyItem(at: CheckpointFixtures.url(fixture), to: url)
            XCTAssertFalse(try readStateDictionary(contentsOf: url).isEmpty, fixture)
        }
    }

    func testPyTorchToSafeTensorsAndBack() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let original = try readStateDictionary(contentsOf: CheckpointFixtures.url("tiny.pth"))
        let safetensors = folder.appendingPathComponent("tiny.safetensors")
        try SafeTensors.write(original, to: safetensors)
        let viaSafeTensors = try readStateDictionary(contentsOf: safetensors)
        assertEqualStates(viaSafeTensors, original)

        let pth = folder.appendingPathComponent("tiny.pth")
        try PyTorchCheckpoint.write(viaSafeTensors, to: pth)
        assertEqualStates(try readStateDictionary(contentsOf: pth), original)
    }

    func testSafeTensorsFromPythonToPyTorch() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let original = try readStateDictionary(contentsOf: CheckpointFixtures.url("tiny.safetensors"))
        let pth = folder.appendingPathComponent("from-safetensors.pth")
        try PyTorchCheckpoint.write(original, to: pth)
        assertEqualStates(try PyTorchCheckpoint.read(contentsOf: pth), original)
    }

    func testPyTorchReaderPointsSafeTensorsElsewhere() throws {
        let url = try CheckpointFixtures.url("tiny.safetensors")
        XCTAssertThrowsError(try PyTorchCheckpoint.read(contentsOf: url)) { error in
            guard case .unrecognizedFormat(url.path, _, _)? = error as? CheckpointError else {
                return XCTFail("expected unrecognizedFormat, got \(error)")
            }
        }
    }
}
