#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MobileNetIO
import MobileNetNN
import MobileNetTensor

/// A resumable snapshot of a training run, as files in the run's folder. ``Trainer`` (through
/// ``TrainingRecorder``) names them after the epoch they end, `epoch-N`, or after the step a
/// stopped run reached, `epoch-N-step-S`:
///
/// ```text
/// epoch-3.safetensors             the model's state dictionary (evaluate and classify read it as is)
/// epoch-3.optimizer.safetensors   optimizer slots ("momentum_buffer/<key>") and weight averages ("ema/<key>")
/// epoch-3.json                    TrainingState, plus the two files' sizes and checksums
/// latest.json                     {"checkpoint": "epoch-3.json"}: the newest complete snapshot
/// ```
///
/// ```swift
/// // after each epoch:
/// try TrainingCheckpoint.save(model: model, optimizer: optimizer, average: average, state: state,
///                             in: output, name: "epoch-\(epoch + 1)")
/// // on --resume:
/// if let url = try TrainingCheckpoint.latest(in: output) {
///     let checkpoint = try TrainingCheckpoint.load(from: url)
///     try checkpoint.restore(model: model, optimizer: optimizer, average: average)
///     // continue at checkpoint.state.epoch, checkpoint.state.step
/// }
/// ```
///
/// Every file is written atomically (temporary file, flush, rename), in that order, so a run
/// killed at any moment leaves `latest.json` naming a complete snapshot: the previous one until
/// the new one's JSON is in place. The JSON records each tensor file's size and FNV-1a checksum,
/// so a snapshot whose files were overwritten separately (the same name saved twice, with a
/// crash in between) is refused rather than mixed. Tensors are stored as float32, so restoring
/// is exact: weights, optimizer state and averages come back bit for bit.
public struct TrainingCheckpoint {
    public var weights: [String: Tensor]
    public var optimizer: OptimizerState
    /// The weight averages by model key, when the run keeps them.
    public var averages: [String: Tensor]?
    public var state: TrainingState

    public init(weights: [String: Tensor], optimizer: OptimizerState, averages: [String: Tensor]? = nil, state: TrainingState) {
        self.weights = weights
        self.optimizer = optimizer
        self.averages = averages
        self.state = state
    }

    static let latestName = "latest.json"
    static let averagePrefix = "ema/"
    static let formatName = "swift-mobilenet training checkpoint 1"

    /// What `<name>.json` holds.
    struct Manifest: Codable {
        var format: String
        var weights: StoredFile
        var optimizerTensors: StoredFile
        var state: TrainingState
    }

    struct StoredFile: Codable, Equatable {
        var name: String
        var bytes: Int
        var fnv1a64: String
    }

    struct Pointer: Codable {
        var checkpoint: String
    }

    /// Captures `model`, `optimizer` and `average` with `state`, and saves them.
    ///
    /// `state.optimizerKind`, `optimizerSteps` and `averageUpdateCount` are filled in from the
    /// objects. Returns the URL of the snapshot's JSON.
    @discardableResult
    public static func save(
        model: some Module, optimizer: any Optimizer, average: ExponentialMovingAverage? = nil, state: TrainingState,
        in directory: URL, name: String
    ) throws -> URL {
        let optimizerState = optimizer.state
        var state = state
        state.optimizerKind = optimizerState.kind
        state.optimizerSteps = optimizerState.steps
        state.averageUpdateCount = average?.updateCount
        let checkpoint = TrainingCheckpoint(
            weights: model.stateDictionary(), optimizer: optimizerState, averages: average?.averages, state: state)
        return try checkpoint.save(in: directory, name: name)
    }

    /// Writes the snapshot's three files and then points `latest.json` at it. Files of the same
    /// name are replaced.
    ///
    /// - Throws: ``CheckpointError`` naming the file that could not be written.
    @discardableResult
    public func save(in directory: URL, name: String) throws -> URL {
        let weightsURL = directory.appendingPathComponent(name + ".safetensors")
        let optimizerURL = directory.appendingPathComponent(name + ".optimizer.safetensors")
        let manifestURL = directory.appendingPathComponent(name + ".json")

        try SafeTensors.write(weights, to: weightsURL, metadata: ["format": "pt"], overwrite: true)
        var tensors = optimizer.tensors
        for (key, tensor) in averages ?? [:] { tensors[Self.averagePrefix + key] = tensor }
        try SafeTensors.write(tensors, to: optimizerURL, overwrite: true)

        var state = state
        state.optimizerKind = optimizer.kind
        state.optimizerSteps = optimizer.steps
        let manifest = Manifest(
            format: Self.formatName, weights: try Self.describe(weightsURL), optimizerTensors: try Self.describe(optimizerURL),
            state: state)
        try AtomicFile.write(Self.encode(manifest), to: manifestURL)
        try AtomicFile.write(Self.encode(Pointer(checkpoint: manifestURL.lastPathComponent)), to: directory.appendingPathComponent(Self.latestName))
        return manifestURL
    }

    /// The JSON of the newest complete snapshot in `directory`, or `nil` when there is none yet.
    ///
    /// `latest.json` and the file it names must lie inside `directory` (see ``RunFolder``).
    ///
    /// - Throws: ``TrainingCheckpointError`` when `latest.json` exists but cannot be read, or
    ///   names a file that does not exist; ``RunFolderError`` when it names a file outside the folder.
    public static func latest(in directory: URL) throws -> URL? {
        let pointerURL = try RunFolder.member(latestName, of: directory, referencedBy: directory.path)
        guard try RunFolder.exists(pointerURL) else { return nil }
        let pointer: Pointer = try decode(Pointer.self, from: pointerURL, expected: #"{"checkpoint": "<name>.json"}"#)
        let url = try RunFolder.member(pointer.checkpoint, of: directory, referencedBy: pointerURL.path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingCheckpointError.missingFile(path: url.path, referencedBy: pointerURL.path)
        }
        return url
    }

    /// Removes the three files of the snapshot `name` in `directory` (the ones ``save(in:name:)``
    /// writes), once a newer one has replaced it in `latest.json`.
    public static func remove(named name: String, in directory: URL) {
        for suffix in [".json", ".safetensors", ".optimizer.safetensors"] {
            unlink(directory.appendingPathComponent(name + suffix).path)
        }
    }

    /// Reads the snapshot whose JSON is at `url`, checking that its tensor files are the ones it
    /// was saved with.
    ///
    /// - Throws: ``TrainingCheckpointError`` for an unreadable or foreign JSON, a missing tensor
    ///   file, or one whose size or checksum differs from the record; ``CheckpointError`` for
    ///   an unreadable safetensors file.
    public static func load(from url: URL) throws -> TrainingCheckpoint {
        let manifest: Manifest = try decode(Manifest.self, from: url, expected: "a training checkpoint's JSON (format, weights, optimizerTensors, state)")
        guard manifest.format == formatName else {
            throw TrainingCheckpointError.unreadable(path: url.path, reason: "format '\(manifest.format)', expected '\(formatName)'")
        }
        if let counter = manifest.state.counterOutOfRange {
            throw TrainingCheckpointError.unreadable(
                path: url.path, reason: "\(counter), expected a count from 0 to \(TrainingState.countLimit)")
        }
        let directory = url.deletingLastPathComponent()
        for stored in [manifest.weights, manifest.optimizerTensors] {
            let fileURL = try RunFolder.member(stored.name, of: directory, referencedBy: url.path)
            guard FileManager.default.fileExists(atPath: fileURL.path) else {
                throw TrainingCheckpointError.missingFile(path: fileURL.path, referencedBy: url.path)
            }
            let found = try describe(fileURL)
            guard found == stored else {
                throw TrainingCheckpointError.mismatchedFile(
                    path: fileURL.path, expected: "\(stored.bytes) bytes, FNV-1a \(stored.fnv1a64)",
                    found: "\(found.bytes) bytes, FNV-1a \(found.fnv1a64)")
            }
        }
        let weights = try SafeTensors.read(contentsOf: directory.appendingPathComponent(manifest.weights.name))
        var optimizerTensors: [String: Tensor] = [:]
        var averages: [String: Tensor] = [:]
        for (key, tensor) in try SafeTensors.read(contentsOf: directory.appendingPathComponent(manifest.optimizerTensors.name)) {
            if key.hasPrefix(averagePrefix) {
                averages[String(key.dropFirst(averagePrefix.count))] = tensor
            } else {
                optimizerTensors[key] = tensor
            }
        }
        let state = manifest.state
        return TrainingCheckpoint(
            weights: weights,
            optimizer: OptimizerState(kind: state.optimizerKind, tensors: optimizerTensors, steps: state.optimizerSteps),
            averages: state.averageUpdateCount == nil ? nil : averages, state: state)
    }

    /// Puts the snapshot back into live objects: the model's tensors (strictly: every key, every
    /// shape), the optimizer's state and the weight average.
    ///
    /// - Throws: `StateError` or ``OptimizerError`` naming the key that does not fit, and
    ///   ``TrainingCheckpointError/averageMismatch(expected:)`` when the run keeps an average and the
    ///   snapshot has none, or the other way round.
    public func restore(model: some Module, optimizer: any Optimizer, average: ExponentialMovingAverage? = nil) throws {
        switch (average, averages, state.averageUpdateCount) {
        case let (average?, averages?, count?):
            try average.load(averages: averages, updateCount: count)
        case (nil, nil, _):
            break
        default:
            throw TrainingCheckpointError.averageMismatch(expected: average != nil)
        }
        try optimizer.load(self.optimizer)
        try model.load(weights)
    }

    private static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    /// The largest JSON file of a checkpoint that is read: far above what a run of thousands of
    /// epochs writes, far below what could exhaust memory.
    static let largestJSON = 64 << 20

    /// Decodes the JSON file at `url`, with errors in one line that say what was `expected`.
    private static func decode<Value: Decodable>(_ type: Value.Type, from url: URL, expected: String) throws -> Value {
        let size = try regularFileSize(url, expected: expected)
        guard size <= largestJSON else {
            throw TrainingCheckpointError.unreadable(
                path: url.path, reason: "\(size) bytes, more than the \(largestJSON) a checkpoint's JSON may have")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TrainingCheckpointError.unreadable(path: url.path, reason: "the file cannot be read")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw TrainingCheckpointError.unreadable(path: url.path, reason: "expected \(expected), but \(explain(error))")
        }
    }

    /// The size of the regular file at `url`: a folder, a FIFO or a device is refused before
    /// anything reads it (reading a FIFO would wait forever).
    private static func regularFileSize(_ url: URL, expected: String) throws -> Int {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            throw TrainingCheckpointError.unreadable(path: url.path, reason: String(cString: strerror(errno)))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            let found = status.st_mode & S_IFMT == S_IFDIR ? "a folder" : "not a regular file"
            throw TrainingCheckpointError.unreadable(path: url.path, reason: "\(found), expected \(expected)")
        }
        return Int(status.st_size)
    }

    /// A `DecodingError` in a few words, naming the JSON key where one is known.
    static func explain(_ error: DecodingError) -> String {
        let path = JSONErrorText.path, kind = JSONErrorText.kind
        switch error {
        case let .keyNotFound(key, context):
            return "\"\(path(context.codingPath + [key]))\" is missing"
        case let .valueNotFound(type, context):
            return "\"\(path(context.codingPath))\" is null, not \(kind(type))"
        case let .typeMismatch(type, context):
            return context.codingPath.isEmpty ? "the file is not \(kind(type))" : "\"\(path(context.codingPath))\" is not \(kind(type))"
        case let .dataCorrupted(context):
            return context.codingPath.isEmpty ? "the file is not valid JSON" : "\"\(path(context.codingPath))\": \(context.debugDescription)"
        @unknown default:
            return "the file cannot be decoded"
        }
    }

    /// The name, size and FNV-1a (64-bit) checksum of a written file.
    private static func describe(_ url: URL) throws -> StoredFile {
        _ = try regularFileSize(url, expected: "a safetensors file")
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw TrainingCheckpointError.unreadable(path: url.path, reason: "the file cannot be read")
        }
        let hash = data.withUnsafeBytes { bytes -> UInt64 in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01B3
            }
            return hash
        }
        let digits = String(hash, radix: 16)
        return StoredFile(name: url.lastPathComponent, bytes: data.count, fnv1a64: String(repeating: "0", count: 16 - digits.count) + digits)
    }
}

/// A training checkpoint could not be read or does not fit the run.
public enum TrainingCheckpointError: Error, Hashable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case missingFile(path: String, referencedBy: String)
    case mismatchedFile(path: String, expected: String, found: String)
    case averageMismatch(expected: Bool)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            "\(path): cannot read the checkpoint: \(reason)"
        case let .missingFile(path, referencedBy):
            "\(path): no such file, but \(referencedBy) refers to it"
        case let .mismatchedFile(path, expected, found):
            "\(path): not the file this checkpoint was saved with: expected \(expected), found \(found)"
        case let .averageMismatch(expected):
            expected
                ? "the run keeps an average of its weights but the checkpoint has none"
                : "the checkpoint holds an average of the weights but the run keeps none"
        }
    }
}
