import Foundation
import XCTest

@testable import MobileNetData

/// gzip decompression, on streams written by hand (stored deflate blocks) so that every byte of
/// the input is known.
final class GzipTests: XCTestCase {
    func testDecompressesAStoredMember() throws {
        let payload = Array("Fashion-MNIST".utf8)
        XCTAssertEqual(try Gzip.decompress(GzipBytes.member(payload), path: "a.gz"), payload)
    }

    func testConcatenatedMembersAreJoined() throws {
        let first = [UInt8](repeating: 7, count: 1000)
        let second = Array(0...255).map(UInt8.init)
        let data = GzipBytes.member(first) + GzipBytes.member(second)
        XCTAssertEqual(try Gzip.decompress(data, path: "joined.gz"), first + second)
    }

    func testLargeOutputGrowsTheBuffer() throws {
        // A stored block holds at most 65535 bytes; several of them make 300 kB, far more than 4x the input.
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        XCTAssertEqual(try Gzip.decompress(GzipBytes.member(payload), path: "big.gz"), payload)
    }

    func testInflatingStopsAtTheLimit() throws {
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let data = GzipBytes.member(payload)
        XCTAssertEqual(try Gzip.decompress(data, path: "big.gz", upTo: 1000), Array(payload.prefix(1000)))
        XCTAssertEqual(try Gzip.decompress(data, path: "big.gz", upTo: 200_000), Array(payload.prefix(200_000)))
        XCTAssertEqual(try Gzip.decompress(data, path: "big.gz", upTo: 300_000), payload)
        XCTAssertEqual(try Gzip.decompress(data, path: "big.gz", upTo: 400_000), payload)
    }

    func testTruncatedStreamIsAnError() {
        let data = GzipBytes.member(Array(repeating: 1, count: 500))
        XCTAssertThrowsError(try Gzip.decompress(data.prefix(data.count - 20), path: "cut.gz")) { error in
            guard case let .corruptCompression(path, message)? = error as? DatasetError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(path, "cut.gz")
            XCTAssertTrue(message.contains("truncated"), message)
        }
    }

    func testUncompressedAndEmptyDataAreErrors() {
        XCTAssertThrowsError(try Gzip.decompress(Data([0, 0, 8, 3, 0, 0, 0, 1]), path: "plain.gz")) { error in
            guard case .corruptCompression(path: "plain.gz", _)? = error as? DatasetError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(String(describing: error).hasPrefix("plain.gz: corrupt gzip data: "))
        }
        XCTAssertThrowsError(try Gzip.decompress(Data(), path: "empty.gz")) { error in
            XCTAssertEqual(error as? DatasetError, .corruptCompression(path: "empty.gz", message: "the file is empty"))
        }
    }

    func testDamagedChecksumIsAnError() {
        var data = GzipBytes.member(Array("checksum".utf8))
        data[data.count - 6] ^= 0xFF  // inside the CRC-32 trailer
        XCTAssertThrowsError(try Gzip.decompress(data, path: "crc.gz")) { error in
            guard case .corruptCompression(path: "crc.gz", _)? = error as? DatasetError else {
                return XCTFail("unexpected \(error)")
            }
        }
    }
}

/// gzip members made of stored (uncompressed) deflate blocks: RFC 1952 framing around RFC 1951
/// block type 00.
enum GzipBytes {
    static func member(_ payload: [UInt8]) -> Data {
        var bytes: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        var offset = 0
        repeat {
            let length = min(65_535, payload.count - offset)
            let isLast = offset + length == payload.count
            bytes.append(isLast ? 1 : 0)
            bytes += littleEndian(UInt16(length)) + littleEndian(~UInt16(length))
            bytes += payload[offset..<(offset + length)]
            offset += length
        } while offset < payload.count
        bytes += littleEndian(crc32(payload)) + littleEndian(UInt32(truncatingIfNeeded: payload.count))
        return Data(bytes)
    }

    private static func littleEndian<Integer: FixedWidthInteger>(_ value: Integer) -> [UInt8] {
        (0..<(Integer.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// CRC-32 (IEEE, reflected, polynomial 0xEDB88320), bit by bit.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
