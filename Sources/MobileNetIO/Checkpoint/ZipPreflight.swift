/// Checks the 64-bit offsets and sizes of a zip archive before ZIPFoundation reads it.
///
/// ZIPFoundation 0.9.20 converts the ZIP64 values it finds (the central directory's offset, an
/// entry's local header offset, its sizes) to `off_t` and `Int64` unchecked, so a damaged or
/// hostile archive with a value of 2^63 or more stops the process with a trap instead of throwing.
/// This walks the records the way ZIPFoundation will (the end-of-central-directory record nearest
/// the end of the file, the ZIP64 record just before its locator, then the central directory)
/// and refuses such values.
///
/// It also refuses an archive without an end-of-central-directory record in its last
/// ``endRecordReach`` bytes, where the format puts it (the record is 22 bytes plus a comment of
/// at most 65,535). ZIPFoundation would scan the whole file for one, at a few megabytes a second:
/// a truncated 56 MB checkpoint took 16 s to be found wanting. Anything else that is wrong is
/// left to ZIPFoundation to report.
struct ZipPreflight {
    /// How far from the end the end-of-central-directory record can start: its 22 bytes and the
    /// longest comment.
    static let endRecordReach = 22 + 65_535

    private static let endOfDirectorySignature: UInt32 = 0x0605_4B50
    private static let zip64EndOfDirectorySignature: UInt32 = 0x0606_4B50
    private static let directoryEntrySignature: UInt32 = 0x0201_4B50
    /// Uncompressed sizes may exceed the file (compression); this bound keeps their sums in range.
    private static let uncompressedSizeLimit: UInt64 = 1 << 62

    private let bytes: UnsafeRawBufferPointer
    private let file: String

    static func check(_ bytes: UnsafeRawBufferPointer, file: String) throws {
        try ZipPreflight(bytes: bytes, file: file).check()
    }

    private var fileSize: UInt64 { UInt64(bytes.count) }

    private func check() throws {
        // ZIPFoundation takes the end record nearest the end of the file.
        let lowest = max(bytes.count - Self.endRecordReach, 0)
        guard bytes.count >= 22,
              let end = stride(from: bytes.count - 22, through: lowest, by: -1)
                .first(where: { word($0, as: UInt32.self) == Self.endOfDirectorySignature })
        else {
            throw CheckpointError.malformedArchive(
                file: file,
                expected: "a zip archive ending in its end-of-central-directory record (within \(Self.endRecordReach) bytes of the end)",
                found: "none in the last \(bytes.count - lowest) of \(bytes.count) bytes (a truncated or incomplete file?)")
        }
        var directories: [(offset: UInt64, count: UInt64)] = []
        if let count = word(end + 10, as: UInt16.self), let offset = word(end + 16, as: UInt32.self) {
            directories.append((UInt64(offset), UInt64(count)))
        }
        // The ZIP64 end record, when there is one, sits just before the 20-byte locator.
        let record = end - 20 - 56
        if word(record, as: UInt32.self) == Self.zip64EndOfDirectorySignature,
           let count = word(record + 32, as: UInt64.self), let size = word(record + 40, as: UInt64.self),
           let offset = word(record + 48, as: UInt64.self) {
            for value in [size, offset] where value > fileSize {
                throw refuse("the ZIP64 central directory's size and offset", value, limit: fileSize)
            }
            directories.append((offset, count))
        }
        for directory in directories {
            try checkEntries(from: Int(directory.offset), count: directory.count)
        }
    }

    /// Walks central directory entries until `count` are seen or one cannot be read.
    private func checkEntries(from start: Int, count: UInt64) throws {
        var position = start
        var remaining = count
        while remaining > 0, word(position, as: UInt32.self) == Self.directoryEntrySignature,
              let method = word(position + 10, as: UInt16.self),
              let compressed = word(position + 20, as: UInt32.self),
              let uncompressed = word(position + 24, as: UInt32.self),
              let nameLength = word(position + 28, as: UInt16.self),
              let extraLength = word(position + 30, as: UInt16.self),
              let commentLength = word(position + 32, as: UInt16.self),
              let disk = word(position + 34, as: UInt16.self),
              let localOffset = word(position + 42, as: UInt32.self) {
            let extraStart = position + 46 + Int(nameLength)
            let extra = extraStart..<extraStart + Int(extraLength)
            guard extra.upperBound <= bytes.count else { return }
            // The ZIP64 field holds, in this order, those values whose 32-bit slot is all ones.
            let present = [uncompressed == .max, compressed == .max, localOffset == .max, disk == .max]
            if let values = zip64Values(in: extra, present: present) {
                // Stored entries cannot be larger than the file; compressed ones may.
                let limits = [method == 0 ? fileSize : Self.uncompressedSizeLimit, fileSize, fileSize]
                for (value, limit) in zip(values, limits) where value > limit {
                    throw refuse("an entry's ZIP64 sizes and local header offset", value, limit: limit)
                }
            }
            position = extra.upperBound + Int(commentLength)
            remaining -= 1
        }
    }

    /// The uncompressed size, compressed size and local header offset of an entry's ZIP64 extra
    /// field, as ZIPFoundation reads them: those `present` marks, in order, others 0; `nil` when
    /// there is no well-formed field.
    private func zip64Values(in extra: Range<Int>, present: [Bool]) -> [UInt64]? {
        var offset = extra.lowerBound
        while offset + 4 < extra.upperBound {
            guard let identifier = word(offset, as: UInt16.self), let size = word(offset + 2, as: UInt16.self) else { return nil }
            let next = offset + 4 + Int(size)
            guard next <= extra.upperBound else { return nil }
            if identifier == 0x0001 {
                let sizes = [8, 8, 8, 4]
                guard zip(present, sizes).reduce(0, { $0 + ($1.0 ? $1.1 : 0) }) == Int(size) else { return nil }
                var field = offset + 4
                return (0..<3).map { index in
                    guard present[index], let value = word(field, as: UInt64.self) else { return 0 }
                    field += 8
                    return value
                }
            }
            offset = next
        }
        return nil
    }

    private func word<Word: FixedWidthInteger>(_ offset: Int, as _: Word.Type) -> Word? {
        guard offset >= 0, offset <= bytes.count - MemoryLayout<Word>.size else { return nil }
        return Word(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Word.self))
    }

    private func refuse(_ what: String, _ value: UInt64, limit: UInt64) -> CheckpointError {
        .malformedArchive(
            file: file, expected: "\(what) at most \(limit) (the archive is \(fileSize) bytes)", found: "\(value)")
    }
}
