import Foundation

/// An array of unsigned bytes in the IDX format of LeCun's MNIST (and of Fashion-MNIST).
///
/// The header is the magic number — two zero bytes, the element type (`0x08`, unsigned byte) and
/// the rank — followed by one big-endian 32-bit size per dimension; the elements follow in
/// row-major order. Only unsigned bytes are read: the other element types never occur in these
/// datasets.
struct IDXFile: Sendable {
    /// The extent of each dimension, outermost first: `[count, rows, columns]` for images.
    let dimensions: [Int]
    /// The elements, row-major.
    let bytes: [UInt8]

    static let unsignedByteType: UInt8 = 0x08

    /// Parses `contents`, checking that it holds an unsigned-byte array of `rank` dimensions and
    /// exactly as many bytes as the header announces; `path` names the file in errors.
    init(parsing contents: [UInt8], rank: Int, path: String) throws {
        guard contents.count >= 4 else {
            throw DatasetError.malformedIDX(path: path, expected: "a 4-byte IDX magic number", found: "\(contents.count) bytes")
        }
        let magic = contents[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
        let expectedMagic = UInt32(Self.unsignedByteType) << 8 | UInt32(rank)
        guard magic == expectedMagic else {
            throw DatasetError.malformedIDX(
                path: path, expected: "magic number \(Self.hex(expectedMagic)) (unsigned bytes, \(rank) dimensions)",
                found: Self.hex(magic))
        }
        let headerLength = 4 + 4 * rank
        guard contents.count >= headerLength else {
            throw DatasetError.malformedIDX(
                path: path, expected: "a \(headerLength)-byte header", found: "\(contents.count) bytes")
        }
        var dimensions: [Int] = []
        var elementCount = 1
        var overflow = false
        for axis in 0..<rank {
            let offset = 4 + 4 * axis
            let size = contents[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            dimensions.append(size)
            let (product, overflowed) = elementCount.multipliedReportingOverflow(by: size)
            elementCount = product
            overflow = overflow || overflowed
        }
        guard !overflow, contents.count - headerLength == elementCount else {
            throw DatasetError.malformedIDX(
                path: path,
                expected: "\(overflow ? "an impossible number of" : String(elementCount)) data bytes for dimensions \(dimensions.map(String.init).joined(separator: "x"))",
                found: "\(contents.count - headerLength)")
        }
        self.dimensions = dimensions
        bytes = Array(contents[headerLength...])
    }

    /// Reads, decompresses when the name ends in `.gz`, and parses the file at `url`.
    init(contentsOf url: URL, rank: Int) throws {
        let contents = url.pathExtension == "gz" ? try Gzip.decompress(contentsOf: url) : [UInt8](try Gzip.readFile(url))
        try self.init(parsing: contents, rank: rank, path: url.path)
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
