#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MobileNetTensor

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the tensors' bytes. It holds data only,
/// so reading it can never run code.
///
/// ```swift
/// let state = try SafeTensors.read(contentsOf: URL(fileURLWithPath: "mobilenet_v2.safetensors"))
/// try SafeTensors.write(state, to: URL(fileURLWithPath: "copy.safetensors"), metadata: ["format": "pt"])
/// ```
///
/// ``read(contentsOf:)`` gives float32 tensors, for models; ``readArchive(contentsOf:)`` and
/// ``write(_:to:overwrite:)`` keep integer tensors (a quantized model's) and the metadata exactly.
public enum SafeTensors {
    /// Headers larger than this are refused, as the reference implementation does; real ones are
    /// a few kilobytes to a megabyte.
    static let headerSizeLimit = 100_000_000

    /// Reads every tensor of a safetensors file as float32.
    ///
    /// The file is memory-mapped, and float32 tensors view the mapping without a copy (until one
    /// is written to, when copy-on-write applies; writes never reach the file). A float32 tensor
    /// whose bytes are not 4-byte aligned, and F16, BF16, F64, I64 and I32 tensors, are converted
    /// into ordinary storage. I8 and U8 tensors, a quantized model's, are refused: as floats, without
    /// their scales, they would load into a model that computes nonsense; ``readArchive(contentsOf:)``
    /// reads them.
    ///
    /// - Throws: ``CheckpointError`` naming the file and, where one is at fault, the key: a missing
    ///   file, a header length beyond the file, invalid JSON, an unknown dtype, offsets outside the
    ///   data, overlapping, or not matching the shape's size.
    public static func read(contentsOf url: URL) throws -> [String: Tensor] {
        try read(MappedFile(url: url))
    }

    static func read(_ mapped: MappedFile) throws -> [String: Tensor] {
        let (header, dataStart) = try parse(mapped, types: .convertedToFloat)
        var tensors: [String: Tensor] = [:]
        tensors.reserveCapacity(header.entries.count)
        for entry in header.entries {
            tensors[entry.name] = try floatTensor(entry, at: dataStart, in: mapped)
        }
        return tensors
    }

    /// Reads every tensor of a safetensors file exactly as stored, and its `__metadata__`.
    ///
    /// F32 tensors are read as ``read(contentsOf:)`` reads them (a view of the mapped file where
    /// 4-byte aligned); I8, U8 and I32 tensors are copied out bit for bit, never through `Float`.
    /// Every check of ``read(contentsOf:)`` applies.
    ///
    /// - Throws: ``CheckpointError`` naming the file and the key at fault: any dtype but F32, I8,
    ///   U8 and I32 (an archive would not hold it exactly), a `__metadata__` that is not an object
    ///   of strings, and everything ``read(contentsOf:)`` refuses.
    public static func readArchive(contentsOf url: URL) throws -> SafeTensorsArchive {
        let mapped = try MappedFile(url: url)
        let (header, dataStart) = try parse(mapped, types: .exact)
        var archive = SafeTensorsArchive(metadata: header.metadata)
        archive.tensors.reserveCapacity(header.entries.count)
        for entry in header.entries {
            let shape = Shape(entry.shape)
            let source = mapped.base.map { UnsafeRawPointer($0 + dataStart + entry.range.lowerBound) }
            archive.tensors[entry.name] = switch entry.type {
            case .int8: .int8(shape: shape, values: littleEndianIntegers(at: source, count: entry.elementCount))
            case .uint8: .uint8(shape: shape, values: littleEndianIntegers(at: source, count: entry.elementCount))
            case .int32: .int32(shape: shape, values: littleEndianIntegers(at: source, count: entry.elementCount))
            // F32 only: the header admits nothing else (`ElementTypes.exact`).
            default: .float32(try floatTensor(entry, at: dataStart, in: mapped))
            }
        }
        return archive
    }

    /// Checks the header length and parses the header, admitting `types`; returns it with the
    /// byte where the data section begins.
    private static func parse(
        _ mapped: MappedFile, types: SafeTensorsHeader.ElementTypes
    ) throws -> (header: SafeTensorsHeader, dataStart: Int) {
        let file = mapped.path
        let bytes = mapped.bytes
        guard bytes.count >= 8 else {
            throw CheckpointError.truncated(file: file, section: "the header length", offset: 0, needed: 8, available: bytes.count)
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        let available = bytes.count - 8
        guard declared <= UInt64(available) else {
            throw CheckpointError.truncated(
                file: file, section: "the JSON header", offset: 8, needed: Int(clamping: declared), available: available)
        }
        let headerLength = Int(declared)
        guard headerLength <= headerSizeLimit else {
            throw CheckpointError.invalidHeader(
                file: file, key: nil, expected: "a header of at most \(headerSizeLimit) bytes", found: "\(headerLength) bytes")
        }
        let dataStart = 8 + headerLength
        let header = try SafeTensorsHeader(
            json: Data(bytes: bytes.baseAddress! + 8, count: headerLength), dataLength: bytes.count - dataStart, file: file,
            types: types)
        return (header, dataStart)
    }

    /// The tensor of `entry` as float32: a view of the mapping when it is float32 and aligned,
    /// converted into its own storage otherwise.
    private static func floatTensor(_ entry: SafeTensorsHeader.Entry, at dataStart: Int, in mapped: MappedFile) throws -> Tensor {
        let shape = Shape(entry.shape)
        let start = dataStart + entry.range.lowerBound
        guard entry.elementCount > 0, let base = mapped.base else {
            return Tensor.zeros(shape)
        }
        #if _endian(little)
        let canBorrow = entry.type == .float32 && start.isMultiple(of: MemoryLayout<Float>.alignment)
        #else
        let canBorrow = false
        #endif
        if canBorrow {
            let pointer = (base + start).bindMemory(to: Float.self, capacity: entry.elementCount)
            let storage = TensorStorage(borrowing: pointer, count: entry.elementCount, owner: mapped)
            return try Tensor(shape: shape, storage: storage)
        }
        var tensor = Tensor(uninitializedShape: shape)
        tensor.withUnsafeMutableBufferPointer { destination in
            entry.type.convert(base + start, count: entry.elementCount, littleEndian: true, into: destination.baseAddress!)
        }
        return tensor
    }

    /// `count` integers stored little-endian at `source`, at any alignment, copied out.
    private static func littleEndianIntegers<Integer: FixedWidthInteger>(at source: UnsafeRawPointer?, count: Int) -> [Integer] {
        guard count > 0, let source else { return [] }
        return [Integer](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source, byteCount: count * MemoryLayout<Integer>.size)
            #else
            for index in 0..<count {
                buffer[index] = Integer(littleEndian: source.loadUnaligned(
                    fromByteOffset: index * MemoryLayout<Integer>.size, as: Integer.self))
            }
            #endif
            initialized = count
        }
    }

    /// Writes `tensors` as a safetensors file of float32 (`F32`) tensors.
    ///
    /// Keys are sorted, in the header and in the data; the header is padded with spaces to a
    /// multiple of 8 bytes, so that every tensor's bytes stay 8-byte aligned. The file is written
    /// to a temporary file beside `url`, flushed, and renamed into place.
    ///
    /// - Parameters:
    ///   - metadata: free-form strings stored under `__metadata__` (omitted when empty).
    ///   - overwrite: whether to replace an existing file; if `false` (the default) an existing
    ///     file is ``CheckpointError/fileExists(path:)`` and stays untouched.
    public static func write(
        _ tensors: [String: Tensor], to url: URL, metadata: [String: String] = [:], overwrite: Bool = false
    ) throws {
        let archive = SafeTensorsArchive(tensors: tensors.mapValues(StoredTensor.float32), metadata: metadata)
        try write(archive, to: url, overwrite: overwrite)
    }

    /// Writes `archive` as a safetensors file: each tensor in its own dtype (`F32`, `I8`, `U8`,
    /// `I32`, little-endian) and the metadata under `__metadata__` (omitted when empty).
    ///
    /// The header's keys are sorted and it is padded with spaces to a multiple of 8 bytes. The
    /// data holds the widest elements first, then by name (as the Python `safetensors` package
    /// orders them), so that every tensor starts aligned to its element size and F32 tensors read
    /// back as views of the file; with one dtype that is plain name order. The file is written to
    /// a temporary file beside `url`, flushed, and renamed into place.
    ///
    /// - Parameter overwrite: whether to replace an existing file; if `false` (the default) an
    ///   existing file is ``CheckpointError/fileExists(path:)`` and stays untouched.
    /// - Throws: ``CheckpointError/invalidTensor(file:key:expected:found:)`` naming `url` and the
    ///   key, before anything is written, for a tensor named `__metadata__` or one whose values do
    ///   not fill its shape; file-system errors naming `url`.
    public static func write(_ archive: SafeTensorsArchive, to url: URL, overwrite: Bool = false) throws {
        let path = url.path
        let metadataKey = SafeTensorsHeader.Document.metadataKey
        guard archive.tensors[metadataKey] == nil else {
            throw CheckpointError.invalidTensor(
                file: path, key: metadataKey,
                expected: "a tensor name other than the one safetensors reserves for metadata", found: "a tensor")
        }
        for (name, tensor) in archive.tensors {
            guard let expected = tensor.shape.checkedElementCount else {
                throw CheckpointError.invalidTensor(
                    file: path, key: name, expected: "non-negative sizes with an element count that fits in 64 bits",
                    found: "shape \(tensor.shape)")
            }
            guard tensor.elementCount == expected else {
                throw CheckpointError.invalidTensor(
                    file: path, key: name, expected: "\(expected) values for shape \(tensor.shape)",
                    found: "\(tensor.elementCount) value(s)")
            }
        }
        let names = archive.tensors.keys.sorted { first, second in
            let (firstSize, secondSize) = (archive.tensors[first]!.dtype.size, archive.tensors[second]!.dtype.size)
            return firstSize != secondSize ? firstSize > secondSize : first < second
        }
        var entries: [String: SafeTensorsHeader.RawEntry] = [:]
        var offset = 0
        for name in names {
            let tensor = archive.tensors[name]!
            let byteCount = tensor.elementCount * tensor.dtype.size
            entries[name] = .init(dtype: StoredElementType(tensor.dtype).safetensorsCode, shape: tensor.shape.dimensions,
                                  offsets: [offset, offset + byteCount])
            offset += byteCount
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var header = [UInt8](try encoder.encode(SafeTensorsHeader.Document(tensors: entries, metadata: archive.metadata)))
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        let length = UInt64(header.count).littleEndian

        try AtomicFile.write(to: url, overwrite: overwrite) { temporary in
            let descriptor = try AtomicFile.create(temporary, destination: path)
            defer { close(descriptor) }
            try withUnsafeBytes(of: length) { try AtomicFile.append($0, to: descriptor, path: path) }
            try header.withUnsafeBytes { try AtomicFile.append($0, to: descriptor, path: path) }
            for name in names {
                try archive.tensors[name]!.withLittleEndianBytes { try AtomicFile.append($0, to: descriptor, path: path) }
            }
        }
    }
}
