#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import XCTest
import ZIPFoundation

@testable import MobileNetIO

/// The one-pass zip writer behind `PyTorchCheckpoint.write`, read back by ZIPFoundation.
final class StoredZipWriterTests: XCTestCase {
    /// More than 65,535 entries need the ZIP64 end records, which ZIPFoundation must then find.
    func testArchivesOfMoreThan65535EntriesUseZIP64() throws {
        let url = try CheckpointFixtures.temporaryDirectory(for: self).appendingPathComponent("many.zip")
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        var writer = StoredZipWriter(descriptor: descriptor, path: url.path)
        let count = 70_000
        for index in 0..<count {
            try withUnsafeBytes(of: UInt32(index).littleEndian) { try writer.add("e\(index)", $0) }
        }
        try writer.finish()
        close(descriptor)
        let archive = try Archive(data: Data(contentsOf: url), accessMode: .read)
        var seen = 0
        for entry in archive {
            XCTAssertEqual(entry.path, "e\(seen)")
            seen += 1
        }
        XCTAssertEqual(seen, count)
    }
}
