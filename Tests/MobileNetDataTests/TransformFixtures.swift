import Foundation
import MobileNetIO
import MobileNetTensor
import XCTest

/// The fixtures of `Scripts/generate_image_fixtures.py` under `Fixtures/transforms`: sources and
/// the results Pillow / torchvision produce from them.
enum TransformFixtures {
    struct Manifest: Decodable {
        var generator: String
        var pillow: String
        var torchvision: String
        var resize: [Case]
        var resize_shorter_side: [Case]
        var resize_sweep: [SweepCase]
        var center_crop: [Case]
        var evaluation: [Case]
        var tensor: [TensorCase]
    }

    /// One transform applied to one source; which size fields are set depends on the section.
    struct Case: Decodable {
        var source: String
        var source_width: Int?
        var source_height: Int?
        var size: Int?
        var resize: Int?
        var crop: Int?
        var note: String?
        var expected: String
        var width: Int
        var height: Int
        var sha256: String
    }

    /// A resize of generated noise, checked through a hash of Pillow's result.
    struct SweepCase: Decodable {
        var seed: UInt64
        var source_width: Int
        var source_height: Int
        /// Set for `Resize(n)` cases; otherwise `width` x `height` is the requested size.
        var shorter_side: Int?
        var width: Int
        var height: Int
        var fnv1a64: String

        /// The generator's input: one byte per SplitMix64 output, its top byte.
        var source: RGBImage {
            var generator = SplitMix64(seed: seed)
            let pixels = (0..<(source_width * source_height * 3)).map { _ in UInt8(generator.next() >> 56) }
            return RGBImage(width: source_width, height: source_height, pixels: pixels)
        }
    }

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        let hash = bytes.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    struct TensorCase: Decodable {
        var source: String
        var width: Int
        var height: Int
        var resize: Int?
        var crop: Int?
        var expected: String
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url("manifest.json")))
    }

    static func url(_ name: String) throws -> URL {
        let base = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        guard let url = Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures/transforms")
        else {
            throw ImageError.fileNotFound(path: "Fixtures/transforms/\(name)")
        }
        return url
    }

    /// A source or expected picture: raw `.rgb` bytes of the given size, or a JPEG / PNG file.
    static func image(_ name: String, width: Int? = nil, height: Int? = nil) throws -> RGBImage {
        let data = try Data(contentsOf: url(name))
        if name.hasSuffix(".rgb") {
            let (width, height) = (try XCTUnwrap(width), try XCTUnwrap(height))
            XCTAssertEqual(data.count, width * height * 3, name)
            return RGBImage(width: width, height: height, pixels: [UInt8](data))
        }
        return try ImageDecoder.decode(data, source: name)
    }

    static func expected(_ fixture: Case) throws -> RGBImage {
        try image(fixture.expected, width: fixture.width, height: fixture.height)
    }

    static func source(_ fixture: Case) throws -> RGBImage {
        try image(fixture.source, width: fixture.source_width, height: fixture.source_height)
    }

    /// Little-endian float32 values.
    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: url(name))
        return stride(from: 0, to: data.count, by: 4).map { offset in
            let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[data.startIndex + offset + $1]) << (8 * UInt32($1)) }
            return Float(bitPattern: bits)
        }
    }

    /// Fails with how many bytes differ and by how much, rather than dumping two arrays.
    static func assertIdentical(
        _ actual: RGBImage, _ expected: RGBImage, _ label: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual([actual.width, actual.height], [expected.width, expected.height], label, file: file, line: line)
        guard actual.pixels != expected.pixels, actual.pixels.count == expected.pixels.count else { return }
        let differences = zip(actual.pixels, expected.pixels).map { abs(Int($0) - Int($1)) }
        let first = differences.firstIndex { $0 != 0 }!
        XCTFail(
            "\(label): \(differences.filter { $0 != 0 }.count) of \(differences.count) bytes differ, worst by "
                + "\(differences.max()!), first at pixel (\(first / 3 % actual.width), \(first / 3 / actual.width))",
            file: file, line: line)
    }
}
