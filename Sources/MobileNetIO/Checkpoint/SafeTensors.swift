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
public enum SafeTensors {
    /// Headers larger than this are refused, as the reference implementation does; real ones are
    /// a few kilobytes to a megabyte.
    static let headerSizeLimit = 100_000_000

    /// Reads every tensor of a safetensors file as float32.
    ///
    /// The file is memory-mapped, and float32 tensors view the mapping without a copy (until one
    /// is written to, when copy-on-write applies; writes never reach the file). A float32 tensor
    /// whose bytes are not 4-byte aligned, and F16, BF16, F64, I64 and I32 tensors, are converted
    /// into ordinary storage.
    ///
    /// - Throws: ``CheckpointError`` naming the file and, where one is at fault, the key: a missing
    ///   file, a header length beyond the file, invalid JSON, an unknown dtype, offsets outside the
    ///   data, overlapping, or not matching the shape's size.
    public static func read(contentsOf url: URL) throws -> [String: Tensor] {
        try read(MappedFile(url: url))
    }

    static func read(_ mapped: MappedFile) throws -> [String: Tensor] {
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
            json: Data(bytes: bytes.baseAddress! + 8, count: headerLength), dataLength: bytes.count - dataStart, file: file)

        var tensors: [String: Tensor] = [:]
        tensors.reserveCapacity(header.entries.count)
        for entry in header.entries {
            let shape = Shape(entry.shape)
            let start = dataStart + entry.range.lowerBound
            guard entry.elementCount > 0, let base = mapped.base else {
                tensors[entry.name] = Tensor.zeros(shape)
                continue
            }
            #if _endian(little)
            let canBorrow = entry.type == .float32 && start.isMultiple(of: MemoryLayout<Float>.alignment)
            #else
            let canBorrow = false
            #endif
            if canBorrow {
                let pointer = (base + start).bindMemory(to: Float.self, capacity: entry.elementCount)
                let storage = TensorStorage(borrowing: pointer, count: entry.elementCount, owner: mapped)
                tensors[entry.name] = try Tensor(shape: shape, storage: storage)
            } else {
                var tensor = Tensor(uninitializedShape: shape)
                tensor.withUnsafeMutableBufferPointer { destination in
                    entry.type.convert(base + start, count: entry.elementCount, littleEndian: true, into: destination.baseAddress!)
                }
                tensors[entry.name] = tensor
            }
        }
        return tensors
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
        let path = url.path
        guard tensors[SafeTensorsHeader.Document.metadataKey] == nil else {
            throw CheckpointError.invalidTensor(
                file: path, key: SafeTensorsHeader.Document.metadataKey,
                expected: "a tensor name other than the one safetensors reserves for metadata", found: "a tensor")
        }
        let names = tensors.keys.sorted()
        var entries: [String: SafeTensorsHeader.RawEntry] = [:]
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            let byteCount = tensor.elementCount * MemoryLayout<Float>.size
            entries[name] = .init(dtype: StoredElementType.float32.safetensorsCode, shape: tensor.shape.dimensions,
                                  offsets: [offset, offset + byteCount])
            offset += byteCount
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var header = [UInt8](try encoder.encode(SafeTensorsHeader.Document(tensors: entries, metadata: metadata)))
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        let length = UInt64(header.count).littleEndian

        try AtomicFile.write(to: url, overwrite: overwrite) { temporary in
            let descriptor = try AtomicFile.create(temporary, destination: path)
            defer { close(descriptor) }
            try withUnsafeBytes(of: length) { try AtomicFile.append($0, to: descriptor, path: path) }
            try header.withUnsafeBytes { try AtomicFile.append($0, to: descriptor, path: path) }
            for name in names {
                try tensors[name]!.withLittleEndianBytes { try AtomicFile.append($0, to: descriptor, path: path) }
            }
        }
    }
}
