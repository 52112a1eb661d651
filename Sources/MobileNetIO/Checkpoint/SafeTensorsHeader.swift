import Foundation

/// The JSON header of a safetensors file, checked against the data section it describes:
///
/// ```
/// {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}
/// ```
///
/// Offsets count from the start of the data section, which follows the header.
struct SafeTensorsHeader {
    struct Entry: Hashable, Sendable {
        var name: String
        var type: StoredElementType
        var shape: [Int]
        var elementCount: Int
        /// Bytes within the data section.
        var range: Range<Int>
    }

    /// The tensors, in the order of their bytes.
    var entries: [Entry]
    var metadata: [String: String]

    /// The dtypes a reader takes, and what it says of any other.
    struct ElementTypes: Sendable {
        let accepted: [StoredElementType]
        let refusal: @Sendable (_ file: String, _ key: String, _ dtype: String) -> CheckpointError

        /// What ``SafeTensors/read(contentsOf:)`` converts to float32; other dtypes are
        /// ``CheckpointError/unsupportedDType(file:key:dtype:)``.
        static let convertedToFloat = ElementTypes(accepted: StoredElementType.convertedToFloat) { file, key, dtype in
            .unsupportedDType(file: file, key: key, dtype: dtype)
        }

        /// What an archive holds without changing a bit. Any other dtype, known or not, is refused
        /// with that list: the float readers' list in `unsupportedDType` would be the wrong one.
        static let exact = ElementTypes(accepted: [.float32, .int8, .uint8, .int32]) { file, key, dtype in
            .invalidTensor(
                file: file, key: key, expected: "dtype F32, I8, U8 or I32 (the types an archive holds exactly)",
                found: "dtype \"\(dtype)\"")
        }
    }

    /// Parses and checks `json` against a data section of `dataLength` bytes.
    ///
    /// Every entry must have a dtype among `types`, a shape whose byte size fits in 64 bits and
    /// equals the length of its offsets, and offsets inside the data section; no two entries may overlap.
    /// Gaps between entries are tolerated.
    init(json: Data, dataLength: Int, file: String, types: ElementTypes) throws {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: json)
        } catch let error as DecodingError {
            throw Self.headerError(error, file: file)
        } catch {
            throw CheckpointError.invalidHeader(file: file, key: nil, expected: "a JSON object", found: readableReason(error))
        }
        metadata = document.metadata
        entries = try document.tensors.map { name, raw in
            try Self.checkedEntry(name: name, raw: raw, dataLength: dataLength, file: file, types: types)
        }
        entries.sort { ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name) }
        var previous: Entry?
        for entry in entries where !entry.range.isEmpty {
            if let previous, entry.range.lowerBound < previous.range.upperBound {
                throw CheckpointError.invalidTensor(
                    file: file, key: entry.name, expected: "data_offsets that overlap no other tensor",
                    found: "[\(entry.range.lowerBound), \(entry.range.upperBound)] overlapping \"\(previous.name)\" at "
                        + "[\(previous.range.lowerBound), \(previous.range.upperBound)]")
            }
            previous = entry
        }
    }

    private static func checkedEntry(
        name: String, raw: RawEntry, dataLength: Int, file: String, types: ElementTypes
    ) throws -> Entry {
        func refuse(_ expected: String, _ found: String) -> CheckpointError {
            .invalidTensor(file: file, key: name, expected: expected, found: found)
        }
        guard let type = StoredElementType(safetensorsCode: raw.dtype), types.accepted.contains(type) else {
            throw types.refusal(file, name, raw.dtype)
        }
        guard raw.shape.allSatisfy({ $0 >= 0 }) else { throw refuse("non-negative sizes", "shape \(raw.shape)") }
        var elementCount = 1
        for size in raw.shape {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: size)
            guard !overflow else { throw refuse("an element count that fits in 64 bits", "shape \(raw.shape)") }
            elementCount = product
        }
        let (byteCount, overflow) = elementCount.multipliedReportingOverflow(by: type.byteCount)
        guard !overflow else { throw refuse("a byte size that fits in 64 bits", "shape \(raw.shape) of \(raw.dtype)") }
        guard raw.offsets.count == 2 else {
            throw refuse("data_offsets [begin, end]", "\(raw.offsets.count) number(s)")
        }
        let (begin, end) = (raw.offsets[0], raw.offsets[1])
        guard begin >= 0, begin <= end, end <= dataLength else {
            throw refuse("data_offsets within the \(dataLength)-byte data section", "[\(begin), \(end)]")
        }
        guard end - begin == byteCount else {
            throw refuse("\(byteCount) bytes for \(raw.dtype) shape \(raw.shape)", "\(end - begin) bytes at [\(begin), \(end)]")
        }
        return Entry(name: name, type: type, shape: raw.shape, elementCount: elementCount, range: begin..<end)
    }

    private static func headerError(_ error: DecodingError, file: String) -> CheckpointError {
        func key(_ path: [any CodingKey]) -> String? { path.first?.stringValue }
        /// `"shape[0]" to be an integer`: the field in JSON's terms, below the entry `key` names.
        func expected(_ type: Any.Type, at path: [any CodingKey]) -> String {
            let field = JSONErrorText.path(Array(path.dropFirst()))
            return "\(field.isEmpty ? "the value" : "\"\(field)\"") to be \(JSONErrorText.kind(type))"
        }
        switch error {
        case let .typeMismatch(type, context):
            // Foundation says "Expected to decode Array<Any> but found a string instead."; keep its
            // JSON kind, and name the field in JSON's terms.
            let found = context.debugDescription.range(of: "but found ").map {
                String(context.debugDescription[$0.upperBound...]).replacingOccurrences(of: " instead.", with: "")
            } ?? "another kind of value"
            return .invalidHeader(
                file: file, key: key(context.codingPath), expected: expected(type, at: context.codingPath), found: found)
        case let .valueNotFound(type, context):
            // A JSON null where a value belongs.
            return .invalidHeader(
                file: file, key: key(context.codingPath), expected: expected(type, at: context.codingPath), found: "null")
        case let .keyNotFound(missing, context):
            return .invalidHeader(file: file, key: key(context.codingPath), expected: "a field \"\(missing.stringValue)\"", found: "none")
        case let .dataCorrupted(context):
            return .invalidHeader(
                file: file, key: key(context.codingPath), expected: "valid JSON",
                found: context.underlyingError.map(readableReason) ?? context.debugDescription)
        @unknown default:
            return .invalidHeader(file: file, key: nil, expected: "a valid header", found: readableReason(error))
        }
    }

    // MARK: - JSON documents

    /// A tensor's header entry as stored.
    struct RawEntry: Codable {
        var dtype: String
        var shape: [Int]
        var offsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape, offsets = "data_offsets"
        }
    }

    /// The whole header: one entry per tensor, and the optional string-to-string `__metadata__`.
    struct Document: Codable {
        static let metadataKey = "__metadata__"

        var tensors: [String: RawEntry]
        var metadata: [String: String]

        init(tensors: [String: RawEntry], metadata: [String: String]) {
            self.tensors = tensors
            self.metadata = metadata
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: NameKey.self)
            tensors = [:]
            metadata = [:]
            for key in container.allKeys {
                if key.stringValue == Self.metadataKey {
                    metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    tensors[key.stringValue] = try container.decode(RawEntry.self, forKey: key)
                }
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: NameKey.self)
            if !metadata.isEmpty {
                try container.encode(metadata, forKey: NameKey(Self.metadataKey))
            }
            for (name, entry) in tensors {
                try container.encode(entry, forKey: NameKey(name))
            }
        }
    }

    /// A tensor name used as a JSON key.
    struct NameKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }

        init(_ name: String) {
            stringValue = name
        }

        init?(stringValue: String) {
            self.stringValue = stringValue
        }

        init?(intValue: Int) {
            return nil
        }
    }
}
