import Foundation
import MobileNetTensor

/// PyTorch checkpoints (`.pth`, `.pt`) as `torch.save(model.state_dict(), path)` writes them.
///
/// Reading never runs Python code from the file: the pickle inside is interpreted by a
/// symbolic machine that knows only dictionaries, tensors and storages (``PickleMachine``), and
/// refuses any other Python global, e.g. `os.system`, with ``CheckpointError/forbiddenGlobal(file:module:name:)``.
/// Both of `torch.save`'s layouts are read: the zip archive of PyTorch 1.6 and later, and the
/// older pickles-back-to-back format that torchvision's published MobileNet weights still use.
///
/// ```swift
/// let state = try PyTorchCheckpoint.read(contentsOf: URL(fileURLWithPath: "mobilenet_v2-b0353104.pth"))
/// state["features.0.0.weight"]?.shape  // [32, 3, 3, 3]
/// try PyTorchCheckpoint.write(state, to: URL(fileURLWithPath: "copy.pth"))
/// ```
public enum PyTorchCheckpoint {
    /// Reads the state dictionary of a `.pth` checkpoint, every tensor converted to float32.
    ///
    /// float16, bfloat16 and float64 tensors are widened or narrowed to float32; int64 and int32
    /// tensors (batch norm's `num_batches_tracked`) become floats too. Strided views (transposed,
    /// offset into a larger storage) are copied into row-major order. A checkpoint that wraps its
    /// state dictionary, `{"state_dict": ...}`, `{"model": ...}` (or `"model_state_dict"`,
    /// `"model_ema"`, `"state_dict_ema"`, in that order of preference), yields the inner one.
    ///
    /// - Throws: ``CheckpointError`` naming the file, and the key or byte offset, for a missing,
    ///   truncated or malformed file, a forbidden global, an unsupported element type, or a
    ///   tensor whose shape does not fit its storage; nothing is allocated for a tensor before its
    ///   sizes are checked.
    public static func read(contentsOf url: URL) throws -> [String: Tensor] {
        let mapped = try MappedFile(url: url)
        switch try CheckpointFormat(sniffing: mapped.bytes, file: mapped.path) {
        case .pytorchArchive:
            return try readArchive(mapped)
        case .pytorchLegacy:
            return try readLegacy(mapped)
        case .safetensors:
            throw CheckpointError.unrecognizedFormat(
                file: mapped.path, expected: "a PyTorch checkpoint (a zip archive or a legacy pickle)",
                found: "a safetensors file (read it with SafeTensors.read or readStateDictionary)")
        }
    }

    /// Keys under which training scripts nest the model's state dictionary, in order of preference.
    static let wrapperKeys = ["state_dict", "model", "model_state_dict", "model_ema", "state_dict_ema"]

    /// The tensors of the state dictionary in an unpickled checkpoint, with their keys in file order.
    static func stateDictionary(in value: PickleValue, file: String) throws -> [(key: String, record: PyTorchTensorRecord)] {
        // A pickle can make a dictionary that contains itself; real checkpoints nest once or twice.
        var current = value
        for _ in 0..<4 {
            guard case let .dictionary(dictionary) = current else {
                throw CheckpointError.notAStateDictionary(file: file, found: current.summary)
            }
            if let wrapped = wrapperKeys.lazy.compactMap({ dictionary[$0] }).first(where: {
                if case .dictionary = $0 { true } else { false }
            }) {
                current = wrapped
                continue
            }
            return try tensors(of: dictionary, file: file)
        }
        throw CheckpointError.notAStateDictionary(file: file, found: "dictionaries nested more than 4 deep")
    }

    private static func tensors(of dictionary: PickleDictionary, file: String) throws -> [(key: String, record: PyTorchTensorRecord)] {
        let hasTensors = dictionary.items.contains { if case .tensor = $0.value { true } else { false } }
        guard hasTensors || dictionary.count == 0 else {
            let keys = dictionary.items.prefix(6).map(\.key.summary).joined(separator: ", ")
            throw CheckpointError.notAStateDictionary(
                file: file, found: "a dictionary of \(dictionary.count) item(s) without tensors (keys \(keys))")
        }
        return try dictionary.items.map { key, value in
            guard let name = key.string else {
                throw CheckpointError.notAStateDictionary(file: file, found: "a dictionary with the key \(key.summary)")
            }
            guard case let .tensor(record) = value else {
                throw CheckpointError.invalidTensor(file: file, key: name, expected: "a tensor", found: value.summary)
            }
            return (name, record)
        }
    }
}
