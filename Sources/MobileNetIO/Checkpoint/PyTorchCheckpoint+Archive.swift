import Foundation
import MobileNetTensor
import ZIPFoundation

/// Reading the zip layout of `torch.save` (PyTorch 1.6 and later):
///
/// ```
/// <archive>/data.pkl      the pickled object; tensors name their storages by key
/// <archive>/data/<key>    each storage's raw elements
/// <archive>/byteorder     "little" or "big" (absent in early files: little)
/// <archive>/version       the format version
/// ```
///
/// `<archive>` is the file's stem when torch wrote it, so it is found, not assumed.
extension PyTorchCheckpoint {
    /// The largest `data.pkl` accepted; a state dictionary's pickle is a few hundred kilobytes.
    static let pickleSizeLimit: UInt64 = 1 << 30

    static func readArchive(_ mapped: MappedFile) throws -> [String: Tensor] {
        let file = mapped.path
        try ZipPreflight.check(mapped.bytes, file: file)
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: file), accessMode: .read)
        } catch {
            throw CheckpointError.malformedArchive(
                file: file, expected: "a complete zip archive with its central directory",
                found: "an unreadable one (\(error); truncated?)")
        }
        // Declared sizes are trusted for reserving memory only as far as the file could hold them.
        let reader = EntryReader(archive: archive, file: file, fileSize: UInt64(mapped.count))
        var entries: [String: Entry] = [:]
        for entry in archive where entry.type == .file && entries[entry.path] == nil {
            entries[entry.path] = entry
        }
        // The pickle sits exactly one folder deep: "<archive>/data.pkl".
        guard let picklePath = entries.keys
            .filter({ $0.hasSuffix("/data.pkl") && $0.split(separator: "/", omittingEmptySubsequences: false).count == 2 })
            .min(), let pickleEntry = entries[picklePath]
        else {
            let sample = entries.keys.sorted().prefix(5).joined(separator: ", ")
            throw CheckpointError.malformedArchive(
                file: file, expected: "a PyTorch archive with an entry <archive>/data.pkl",
                found: entries.isEmpty ? "no files" : "entries \(sample)\(entries.count > 5 ? ", ..." : "")")
        }
        let prefix = String(picklePath.dropLast("data.pkl".count))
        let littleEndian = try isLittleEndian(entries[prefix + "byteorder"], reader: reader)

        let pickle = try reader.contents(of: pickleEntry, limit: pickleSizeLimit)
        let unpickled = try pickle.withUnsafeBytes {
            try PickleMachine.unpickle($0, file: "\(file):\(picklePath)")
        }
        defer { unpickled.containers.release() }
        let records = try stateDictionary(in: unpickled.value, file: file)

        // Storages are read once each, and dropped after their last tensor.
        var remainingUses: [String: Int] = [:]
        for (_, record) in records { remainingUses[record.storage.key, default: 0] += 1 }
        var storages: [String: Data] = [:]
        var state: [String: Tensor] = [:]
        state.reserveCapacity(records.count)
        for (key, record) in records {
            let storageKey = record.storage.key
            if storages[storageKey] == nil {
                let entryPath = prefix + "data/" + storageKey
                guard let entry = entries[entryPath] else {
                    throw CheckpointError.malformedArchive(
                        file: file, expected: "the storage entry \(entryPath) of the tensor \(key)", found: "no such entry")
                }
                try checkBeforeReading(record, entry: entry, file: file, key: key)
                storages[storageKey] = try reader.contents(of: entry, limit: .max)
            }
            state[key] = try storages[storageKey]!.withUnsafeBytes {
                try record.makeTensor(storageBytes: $0, littleEndian: littleEndian, file: file, key: key)
            }
            remainingUses[storageKey]! -= 1
            if remainingUses[storageKey] == 0 { storages[storageKey] = nil }
        }
        return state
    }

    /// Checks a tensor against the size its storage entry declares, so that a header claiming
    /// 2^40 elements fails before the entry is read.
    private static func checkBeforeReading(_ record: PyTorchTensorRecord, entry: Entry, file: String, key: String) throws {
        guard let type = StoredElementType(torchStorage: record.storage.typeName) else {
            throw CheckpointError.unsupportedDType(file: file, key: key, dtype: "torch.\(record.storage.typeName)")
        }
        let declared = Int(clamping: entry.uncompressedSize) / type.byteCount
        _ = try record.layout.validated(storageCount: declared, file: file, key: key)
    }

    private static func isLittleEndian(_ entry: Entry?, reader: EntryReader) throws -> Bool {
        guard let entry else { return true }
        let text = String(decoding: try reader.contents(of: entry, limit: 64), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        switch text {
        case "little": return true
        case "big": return false
        default:
            throw CheckpointError.malformedArchive(
                file: "\(reader.file):\(entry.path)", expected: "\"little\" or \"big\"", found: "\"\(text.prefix(20))\"")
        }
    }
}

/// Reads whole entries of one archive.
private struct EntryReader {
    let archive: Archive
    let file: String
    let fileSize: UInt64

    /// The bytes of an entry, checked against the size and CRC-32 its directory records.
    func contents(of entry: Entry, limit: UInt64) throws -> Data {
        let location = "\(file):\(entry.path)"
        let expected = entry.uncompressedSize
        guard expected <= limit else {
            throw CheckpointError.malformedArchive(
                file: location, expected: "an entry of at most \(limit) bytes", found: "\(expected) bytes")
        }
        var data = Data()
        data.reserveCapacity(Int(min(expected, fileSize)))
        do {
            let checksum = try archive.extract(entry, skipCRC32: false) { chunk in
                guard UInt64(data.count + chunk.count) <= expected else {
                    throw CheckpointError.malformedArchive(
                        file: location, expected: "\(expected) bytes, as the directory says", found: "more")
                }
                data.append(chunk)
            }
            // Extracting to a consumer computes the checksum but leaves the comparison to the caller.
            guard checksum == entry.checksum else {
                throw CheckpointError.malformedArchive(
                    file: location, expected: "the CRC-32 \(entry.checksum) the directory records",
                    found: "\(checksum) (corrupt data)")
            }
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.malformedArchive(
                file: location, expected: "an intact entry of \(expected) bytes", found: "\(error) (truncated or corrupt?)")
        }
        guard UInt64(data.count) == expected else {
            throw CheckpointError.truncated(
                file: location, section: "entry data", offset: data.count, needed: Int(clamping: expected) - data.count, available: 0)
        }
        return data
    }
}
