/// Writes pickle protocol 2 programs, the few instructions a state dictionary needs, for
/// `torch.load` to read back.
struct PickleWriter {
    private(set) var bytes: [UInt8]

    /// Starts a program with `PROTO 2`; `torch.save` writes protocol 2 by default.
    init() {
        bytes = [PickleOpcode.protocolVersion.rawValue, 2]
    }

    /// Appends an opcode that takes no argument.
    mutating func emit(_ opcode: PickleOpcode) {
        bytes.append(opcode.rawValue)
    }

    /// The shortest of `BININT1`, `BININT2`, `BININT` and `LONG1` that holds `value`.
    mutating func integer(_ value: Int) {
        switch value {
        case 0...0xFF:
            emit(.binaryInt1)
            bytes.append(UInt8(value))
        case 0...0xFFFF:
            emit(.binaryInt2)
            append(littleEndian: UInt16(value))
        case Int(Int32.min)...Int(Int32.max):
            emit(.binaryInt)
            append(littleEndian: Int32(value))
        default:
            // Eight two's complement bytes always suffice for an Int.
            emit(.long1)
            bytes.append(8)
            append(littleEndian: Int64(value))
        }
    }

    /// A `str` as `BINUNICODE` (protocol 2 has no shorter form).
    mutating func string(_ value: String) {
        emit(.binaryUnicode)
        append(littleEndian: UInt32(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// A tuple of ints, such as a tensor's size or stride.
    mutating func tuple(_ values: [Int]) {
        switch values.count {
        case 0:
            emit(.emptyTuple)
        case 1...3:
            values.forEach { integer($0) }
            emit([PickleOpcode.tuple1, .tuple2, .tuple3][values.count - 1])
        default:
            emit(.mark)
            values.forEach { integer($0) }
            emit(.tuple)
        }
    }

    mutating func global(module: String, name: String) {
        emit(.global)
        bytes.append(contentsOf: "\(module)\n\(name)\n".utf8)
    }

    /// Stores the value on top of the stack under memo `index`.
    mutating func put(_ index: Int) {
        memo(index, short: .binaryPut, long: .longBinaryPut)
    }

    /// Pushes the value stored under memo `index`.
    mutating func get(_ index: Int) {
        memo(index, short: .binaryGet, long: .longBinaryGet)
    }

    /// A memo opcode with a 1-byte index where it fits, else a 4-byte one.
    private mutating func memo(_ index: Int, short: PickleOpcode, long: PickleOpcode) {
        if index <= 0xFF {
            emit(short)
            bytes.append(UInt8(index))
        } else {
            emit(long)
            append(littleEndian: UInt32(index))
        }
    }

    private mutating func append<Word: FixedWidthInteger>(littleEndian value: Word) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
