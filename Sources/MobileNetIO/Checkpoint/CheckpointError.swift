/// Reading or writing a checkpoint (`.pth`, `.safetensors`) failed.
///
/// Each case says where (the file, and the key or byte offset where one is known), what was
/// expected and what was found; ``description`` puts that in one line. `file` is the path as given,
/// with `:entry` appended for a part of a `.pth` zip archive (`model.pth:archive/data.pkl`).
public enum CheckpointError: Error, Hashable, Sendable, CustomStringConvertible {
    /// There is no file at `path`.
    case fileNotFound(path: String)
    /// Writing would replace the existing file at `path`, and overwriting was not asked for.
    case fileExists(path: String)
    /// The operating system failed to `operation` (open, read, map, write, rename, ...) `path`.
    case fileSystem(path: String, operation: String, reason: String)
    /// The file's first bytes match no checkpoint format this package reads.
    case unrecognizedFormat(file: String, expected: String, found: String)
    /// The file ends inside `section`: it needs `needed` bytes from byte `offset`, `available` remain.
    case truncated(file: String, section: String, offset: Int, needed: Int, available: Int)
    /// The zip container of a `.pth` checkpoint is unreadable, incomplete or not PyTorch's layout.
    case malformedArchive(file: String, expected: String, found: String)
    /// The pickle program at byte `offset` is not one this unpickler accepts.
    case malformedPickle(file: String, offset: Int, expected: String, found: String)
    /// The pickle names the Python global `module.name`, which is not on the allow-list.
    ///
    /// Nothing was executed: the unpickler only recognizes a few names and never runs code.
    case forbiddenGlobal(file: String, module: String, name: String)
    /// The tensor under `key` stores elements of a type this package does not convert.
    case unsupportedDType(file: String, key: String, dtype: String)
    /// The tensor under `key` does not fit its data: shape, strides, offsets or byte ranges.
    case invalidTensor(file: String, key: String, expected: String, found: String)
    /// The safetensors JSON header is invalid; `key` names the entry when one is at fault.
    case invalidHeader(file: String, key: String?, expected: String, found: String)
    /// The checkpoint holds no dictionary of tensors where one was looked for.
    case notAStateDictionary(file: String, found: String)

    /// One line: names and keys from the file are quoted with their control characters escaped.
    public var description: String {
        text.escapingControlCharacters
    }

    private var text: String {
        switch self {
        case let .fileNotFound(path):
            "no such file: \(path)"
        case let .fileExists(path):
            "\(path) already exists; refusing to overwrite it (ask for overwrite, or pass --force)"
        case let .fileSystem(path, operation, reason):
            "\(path): could not \(operation): \(reason)"
        case let .unrecognizedFormat(file, expected, found):
            "\(file): expected \(expected), found \(found)"
        case let .truncated(file, section, offset, needed, available):
            "\(file): truncated: \(section) at byte \(offset) needs \(needed) byte(s), only \(available) remain"
        case let .malformedArchive(file, expected, found):
            "\(file): expected \(expected), found \(found)"
        case let .malformedPickle(file, offset, expected, found):
            "\(file): pickle byte \(offset): expected \(expected), found \(found)"
        case let .forbiddenGlobal(file, module, name):
            "\(file): refusing the Python global \(module).\(name): a checkpoint may only name "
                + "collections.OrderedDict, torch tensor rebuilders, torch.Size and torch storage types"
        case let .unsupportedDType(file, key, dtype):
            "\(file): \(key): unsupported element type \(dtype) "
                + "(expected float32, float64, float16, bfloat16, int64 or int32)"
        case let .invalidTensor(file, key, expected, found):
            "\(file): \(key): expected \(expected), found \(found)"
        case let .invalidHeader(file, key, expected, found):
            "\(file): safetensors header\(key.map { ", entry \"\($0)\"" } ?? ""): expected \(expected), found \(found)"
        case let .notAStateDictionary(file, found):
            "\(file): expected a dictionary of tensors (or one under \"state_dict\" or \"model\"), found \(found)"
        }
    }
}

extension UInt8 {
    /// Two uppercase hexadecimal digits, for quoting file bytes in error messages.
    var hexadecimal: String {
        let digits = String(self, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}
