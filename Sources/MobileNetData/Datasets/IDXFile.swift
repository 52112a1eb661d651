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
        let header = try Header(parsing: contents, rank: rank, path: path)
        guard let count = header.dataLength, contents.count - header.length == count else {
            throw header.mismatch(found: "\(contents.count - header.length)")
        }
        dimensions = header.dimensions
        bytes = Array(contents[header.length...])
    }

    /// Reads, decompresses when the name ends in `.gz`, and parses the file at `url`.
    ///
    /// A compressed file is inflated only as far as its header announces (and one byte more, to
    /// tell a longer stream), and refused first if that is more than ``Gzip/maximumExpansion``
    /// times the file: a small file cannot make this allocate more.
    init(contentsOf url: URL, rank: Int) throws {
        let file = try Gzip.readFile(url)
        guard url.pathExtension == "gz" else {
            try self.init(parsing: [UInt8](file), rank: rank, path: url.path)
            return
        }
        let header = try Header(
            parsing: Gzip.decompress(file, path: url.path, upTo: Header.length(rank: rank)), rank: rank, path: url.path)
        guard let count = header.dataLength else { throw header.mismatch(found: "sizes whose product overflows") }
        let bound = Gzip.maximumExpansion * file.count
        guard count <= bound - header.length else {
            throw DatasetError.malformedIDX(
                path: url.path,
                expected: "at most \(bound) bytes once decompressed (\(Gzip.maximumExpansion) times the \(file.count)-byte file)",
                found: "a header announcing \(header.length + count) bytes for dimensions \(header.shape)")
        }
        let contents = try Gzip.decompress(file, path: url.path, upTo: header.length + count + 1)
        guard contents.count <= header.length + count else { throw header.mismatch(found: "more") }
        try self.init(parsing: contents, rank: rank, path: url.path)
    }

    /// The magic number and dimensions that open an IDX file.
    private struct Header {
        let path: String
        let dimensions: [Int]
        /// The number of data bytes the dimensions call for; `nil` if it overflows.
        let dataLength: Int?
        /// The header's own length in bytes.
        let length: Int

        static func length(rank: Int) -> Int { 4 + 4 * rank }

        /// Reads the header at the start of `contents` (which may hold only its first bytes).
        init(parsing contents: [UInt8], rank: Int, path: String) throws {
            guard contents.count >= 4 else {
                throw DatasetError.malformedIDX(path: path, expected: "a 4-byte IDX magic number", found: "\(contents.count) bytes")
            }
            let magic = contents[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
            let expectedMagic = UInt32(IDXFile.unsignedByteType) << 8 | UInt32(rank)
            guard magic == expectedMagic else {
                throw DatasetError.malformedIDX(
                    path: path, expected: "magic number \(IDXFile.hex(expectedMagic)) (unsigned bytes, \(rank) dimensions)",
                    found: IDXFile.hex(magic))
            }
            length = Self.length(rank: rank)
            guard contents.count >= length else {
                throw DatasetError.malformedIDX(path: path, expected: "a \(length)-byte header", found: "\(contents.count) bytes")
            }
            var dimensions: [Int] = []
            var elementCount: Int? = 1
            for axis in 0..<rank {
                let offset = 4 + 4 * axis
                let size = contents[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
                dimensions.append(size)
                elementCount = elementCount.flatMap { count in
                    let (product, overflow) = count.multipliedReportingOverflow(by: size)
                    return overflow ? nil : product
                }
            }
            self.path = path
            self.dimensions = dimensions
            dataLength = elementCount
        }

        var shape: String { dimensions.map(String.init).joined(separator: "x") }

        /// The error for data whose length is not what the dimensions call for.
        func mismatch(found: String) -> DatasetError {
            .malformedIDX(
                path: path,
                expected: "\(dataLength.map(String.init) ?? "an impossible number of") data bytes for dimensions \(shape)",
                found: found)
        }
    }

    fileprivate static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
