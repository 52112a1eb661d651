/// A small FlatBuffers writer (the binary format TFLite files are), enough for tables of
/// scalars, offsets, strings and vectors.
///
/// FlatBuffers are written back to front: an object refers to what it holds by an unsigned
/// 32-bit offset that must point forward, so children are written first, at the end of the
/// buffer, and parents before them. Bytes go into `reversed` in reverse order; a position is
/// counted from the end of the finished buffer (an ``Offset``), so it never moves as more is
/// written. Every scalar is aligned to its size and the finished buffer to `minimumAlignment`,
/// measured from the end, which makes them aligned from the start too.
struct FlatBufferBuilder {
    /// A written object: its distance from the end of the buffer.
    struct Offset: Hashable {
        fileprivate let fromEnd: Int
    }

    private var reversed: [UInt8] = []
    private var minimumAlignment = 1
    /// The open table's fields: vtable slot and where the field ends (counted from the end).
    private var fields: [(slot: Int, fromEnd: Int)] = []
    private var tableStart = 0

    private var size: Int { reversed.count }

    /// Zero bytes so that after `additional` more bytes the size is a multiple of `alignment`.
    private mutating func prepare(_ alignment: Int, additional: Int = 0) {
        minimumAlignment = max(minimumAlignment, alignment)
        let padding = (alignment - (size + additional) % alignment) % alignment
        reversed.append(contentsOf: repeatElement(0, count: padding))
    }

    /// `value`'s little-endian bytes, written before what is there.
    private mutating func prepend<T: FixedWidthInteger>(_ value: T) {
        let bytes = MemoryLayout<T>.size
        for index in (0..<bytes).reversed() {
            reversed.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    /// The uoffset from a field about to be written to `target`.
    private mutating func prependOffset(to target: Offset) {
        prepare(4)
        prepend(UInt32(size + 4 - target.fromEnd))
    }

    // MARK: Strings and vectors

    mutating func string(_ text: String) -> Offset {
        let bytes = Array(text.utf8)
        prepare(4, additional: bytes.count + 1)
        reversed.append(0)
        reversed.append(contentsOf: bytes.reversed())
        prepend(UInt32(bytes.count))
        return Offset(fromEnd: size)
    }

    /// A vector of scalars, its elements aligned to `alignment` (at least their size; 16 for
    /// tensor data).
    mutating func vector<T: FixedWidthInteger>(_ values: [T], alignment: Int = MemoryLayout<T>.size) -> Offset {
        let width = MemoryLayout<T>.size
        prepare(4, additional: values.count * width)
        prepare(max(alignment, width), additional: values.count * width)
        for value in values.reversed() { prepend(value) }
        prepend(UInt32(values.count))
        return Offset(fromEnd: size)
    }

    mutating func vector(_ values: [Float]) -> Offset {
        vector(values.map(\.bitPattern))
    }

    mutating func vector(offsets: [Offset]) -> Offset {
        prepare(4, additional: offsets.count * 4)
        for offset in offsets.reversed() { prependOffset(to: offset) }
        prepend(UInt32(offsets.count))
        return Offset(fromEnd: size)
    }

    // MARK: Tables

    mutating func startTable() {
        precondition(fields.isEmpty, "tables do not nest while being written")
        tableStart = size
    }

    /// A scalar field; a value equal to the schema's default is left out, as FlatBuffers does.
    mutating func add<T: FixedWidthInteger>(_ slot: Int, _ value: T, default defaultValue: T = 0) {
        guard value != defaultValue else { return }
        prepare(MemoryLayout<T>.size)
        prepend(value)
        fields.append((slot, size))
    }

    mutating func add(_ slot: Int, _ value: Float) {
        guard value != 0 else { return }
        prepare(4)
        prepend(value.bitPattern)
        fields.append((slot, size))
    }

    mutating func add(_ slot: Int, _ offset: Offset) {
        prependOffset(to: offset)
        fields.append((slot, size))
    }

    /// Closes the table: the soffset to its vtable, then the vtable (field offsets from the
    /// table's start, by slot).
    mutating func endTable() -> Offset {
        prepare(4)
        prepend(Int32(0))
        let table = size
        let slots = (fields.map(\.slot).max() ?? -1) + 1
        var entries = [UInt16](repeating: 0, count: slots)
        for (slot, fromEnd) in fields { entries[slot] = UInt16(table - fromEnd) }
        for entry in entries.reversed() { prepend(entry) }
        prepend(UInt16(table - tableStart))
        prepend(UInt16(4 + 2 * slots))
        let vtable = size
        // The table's first word: the vtable's position relative to the table (signed; the vtable
        // lies before it, so positive).
        let relative = Int32(vtable - table)
        for index in 0..<4 {
            reversed[table - 1 - index] = UInt8(truncatingIfNeeded: relative >> (8 * index))
        }
        fields = []
        return Offset(fromEnd: table)
    }

    /// The finished buffer: the root table's offset, then the 4-character file identifier.
    mutating func finish(_ root: Offset, identifier: String) -> [UInt8] {
        let tag = Array(identifier.utf8)
        precondition(tag.count == 4, "a file identifier has 4 bytes")
        prepare(max(minimumAlignment, 4), additional: 8)
        reversed.append(contentsOf: tag.reversed())
        prependOffset(to: root)
        return reversed.reversed()
    }
}
