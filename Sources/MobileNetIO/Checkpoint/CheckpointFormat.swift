import Foundation
import MobileNetTensor

/// The checkpoint containers this package reads, told apart by their first bytes, never by the
/// file name (torchvision's `.pth` files come in both PyTorch layouts).
enum CheckpointFormat: Hashable, Sendable {
    /// `torch.save` since PyTorch 1.6: a zip archive (`PK\u{3}\u{4}`).
    case pytorchArchive
    /// `torch.save` before 1.6 (and `_use_new_zipfile_serialization=False`): pickles back to back,
    /// starting with a protocol 2 pickle of a magic number (`0x80 0x02 0x8A 0x0A`).
    case pytorchLegacy
    /// safetensors: an 8-byte header length, then a JSON object (`{`).
    case safetensors

    /// Recognizes the format of `bytes`, the start of the file at `file`.
    init(sniffing bytes: UnsafeRawBufferPointer, file: String) throws {
        let head = Array(bytes.prefix(9))
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            self = .pytorchArchive
        } else if head.starts(with: [0x80, 0x02, 0x8A, 0x0A]) {
            self = .pytorchLegacy
        } else if head.count == 9, head[8] == UInt8(ascii: "{") {
            self = .safetensors
        } else {
            throw CheckpointError.unrecognizedFormat(
                file: file,
                expected: "a checkpoint: a zip archive (\"PK\"), a legacy PyTorch pickle (80 02 8A 0A) or safetensors (a length, then \"{\")",
                found: head.isEmpty ? "an empty file" : "bytes " + head.map(\.hexadecimal).joined(separator: " "))
        }
    }
}

/// Reads a state dictionary from a PyTorch `.pth` checkpoint or a `.safetensors` file, whichever
/// the file's first bytes say it is, with every tensor converted to float32.
///
/// ```swift
/// let state = try readStateDictionary(contentsOf: URL(fileURLWithPath: "mobilenet_v2-b0353104.pth"))
/// try model.load(state)
/// ```
///
/// - Throws: ``CheckpointError``: for a missing file, an unknown format, or any problem the
///   readers ``PyTorchCheckpoint/read(contentsOf:)`` and ``SafeTensors/read(contentsOf:)`` find.
public func readStateDictionary(contentsOf url: URL) throws -> [String: Tensor] {
    let mapped = try MappedFile(url: url)
    switch try CheckpointFormat(sniffing: mapped.bytes, file: mapped.path) {
    case .pytorchArchive:
        return try PyTorchCheckpoint.readArchive(mapped)
    case .pytorchLegacy:
        return try PyTorchCheckpoint.readLegacy(mapped)
    case .safetensors:
        return try SafeTensors.read(mapped)
    }
}
