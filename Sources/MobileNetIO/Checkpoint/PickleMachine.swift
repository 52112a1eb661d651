/// A symbolic unpickler: runs the stack machine of Python's pickle format over the opcodes that
/// PyTorch state dictionaries use, and executes nothing.
///
/// `pickle.load` imports and calls whatever globals a pickle names, so loading an untrusted `.pth`
/// with it runs arbitrary code. This machine instead knows a short allow-list (``PickleGlobal``)
/// and interprets those names itself: `OrderedDict()` makes a dictionary, `_rebuild_tensor_v2`
/// records where a tensor's elements are, a persistent id names a storage. Any other global is
/// refused as soon as it is named, before anything could call it.
///
/// Every length and index comes from the file and is checked before use, so a truncated or
/// hostile pickle ends in a ``CheckpointError`` that gives the byte offset, never a crash.
struct PickleMachine {
    private let bytes: UnsafeRawBufferPointer
    private let file: String
    private var position: Int
    /// Where the opcode being run starts, for error messages.
    private var opcodeOffset: Int
    private var stack: [PickleValue] = []
    /// Stack heights at each `MARK`.
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Every storage a persistent id named, by key.
    private var storages: [String: PyTorchStorageReference] = [:]
    /// Every list and dictionary made, so that containers that hold each other can be freed.
    private let containers = PickleContainers()

    /// What one pickle program made.
    struct Result {
        /// The pickled object.
        var value: PickleValue
        /// The offset just after `STOP`, where a legacy checkpoint's next pickle begins.
        var end: Int
        /// Every storage named by a persistent id, by key, whether or not `value` still holds it;
        /// a legacy checkpoint needs them all to find where each storage's bytes lie.
        var storages: [String: PyTorchStorageReference]
        /// The lists and dictionaries `value` is made of: call `containers.release()` when done
        /// with `value` (a `defer` right after unpickling), or a pickle whose containers hold
        /// each other leaks them.
        var containers: PickleContainers
    }

    /// Unpickles the program that starts at byte `start` of `bytes`.
    ///
    /// - Parameter file: names the file (or archive entry) in errors; offsets count from the
    ///   start of `bytes`.
    static func unpickle(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, file: String) throws -> Result {
        var machine = PickleMachine(bytes: bytes, file: file, position: start, opcodeOffset: start)
        let value: PickleValue
        do {
            value = try machine.run()
        } catch {
            machine.containers.release()
            throw error
        }
        return Result(value: value, end: machine.position, storages: machine.storages, containers: machine.containers)
    }

    private mutating func run() throws -> PickleValue {
        while true {
            opcodeOffset = position
            let byte = try readByte("an opcode")
            guard let opcode = PickleOpcode(rawValue: byte) else {
                let character = (0x21...0x7E).contains(byte) ? " '\(Character(Unicode.Scalar(byte)))'" : ""
                throw malformed("an opcode used by PyTorch state dictionaries", "opcode 0x\(byte.hexadecimal)\(character)")
            }
            if opcode == .stop {
                return try pop(for: "STOP")
            }
            try execute(opcode)
        }
    }

    // MARK: - Opcodes

    private mutating func execute(_ opcode: PickleOpcode) throws {
        switch opcode {
        case .protocolVersion:
            let version = try readByte("a protocol version")
            guard version <= 5 else { throw malformed("pickle protocol 2 to 5", "protocol \(version)") }
        case .frame:
            _ = try readInteger(UInt64.self, "a frame length")
        case .stop:
            break  // handled by run()
        case .mark:
            marks.append(stack.count)
        case .pop:
            if let mark = marks.last, mark == stack.count {
                marks.removeLast()
            } else {
                _ = try pop(for: "POP")
            }
        case .popMark:
            _ = try popToMark(for: "POP_MARK")
        case .duplicate:
            stack.append(try top(for: "DUP"))

        case .none:
            stack.append(.none)
        case .newTrue:
            stack.append(.bool(true))
        case .newFalse:
            stack.append(.bool(false))
        case .binaryInt:
            stack.append(.integer(Int(try readInteger(Int32.self, "a 4-byte int"))))
        case .binaryInt1:
            stack.append(.integer(Int(try readByte("a 1-byte int"))))
        case .binaryInt2:
            stack.append(.integer(Int(try readInteger(UInt16.self, "a 2-byte int"))))
        case .long1:
            let count = Int(try readByte("a LONG1 length"))
            stack.append(Self.integer(littleEndian: Array(try read(count, "a LONG1 int"))))
        case .long4:
            let count = Int(try readInteger(Int32.self, "a LONG4 length"))
            guard count >= 0 else { throw malformed("a non-negative LONG4 length", "\(count)") }
            stack.append(Self.integer(littleEndian: Array(try read(count, "a LONG4 int"))))
        case .binaryFloat:
            let bits = try readInteger(UInt64.self, "an 8-byte float", bigEndian: true)
            stack.append(.float(Double(bitPattern: bits)))

        case .binaryUnicode:
            stack.append(.string(try readUTF8(length: Int(try readInteger(UInt32.self, "a string length")))))
        case .shortBinaryUnicode:
            stack.append(.string(try readUTF8(length: Int(try readByte("a string length")))))
        case .binaryUnicode8:
            stack.append(.string(try readUTF8(length: try readLength64("a string length"))))
        case .binaryString:
            stack.append(.string(try readLatin1(length: Int(try readInteger(Int32.self, "a string length")))))
        case .shortBinaryString:
            stack.append(.string(try readLatin1(length: Int(try readByte("a string length")))))
        case .binaryBytes:
            stack.append(.bytes(Array(try read(Int(try readInteger(UInt32.self, "a bytes length")), "bytes"))))
        case .shortBinaryBytes:
            stack.append(.bytes(Array(try read(Int(try readByte("a bytes length")), "bytes"))))
        case .binaryBytes8:
            stack.append(.bytes(Array(try read(try readLength64("a bytes length"), "bytes"))))

        case .emptyTuple:
            stack.append(.tuple([]))
        case .tuple:
            stack.append(.tuple(try popToMark(for: "TUPLE")))
        case .tuple1, .tuple2, .tuple3:
            let count = Int(opcode.rawValue - PickleOpcode.tuple1.rawValue) + 1
            guard stack.count - (marks.last ?? 0) >= count else {
                throw malformed("\(count) value(s) on the stack for TUPLE\(count)", "\(stack.count - (marks.last ?? 0))")
            }
            let items = Array(stack.suffix(count))
            stack.removeLast(count)
            stack.append(.tuple(items))
        case .emptyList:
            stack.append(.list(containers.record(PickleList())))
        case .list:
            stack.append(.list(containers.record(PickleList(try popToMark(for: "LIST")))))
        case .append:
            let item = try pop(for: "APPEND")
            try list(for: "APPEND").items.append(item)
        case .appends:
            let items = try popToMark(for: "APPENDS")
            try list(for: "APPENDS").items.append(contentsOf: items)
        case .emptyDictionary:
            stack.append(.dictionary(containers.record(PickleDictionary())))
        case .dictionary:
            let dictionary = containers.record(PickleDictionary())
            try insertPairs(try popToMark(for: "DICT"), into: dictionary)
            stack.append(.dictionary(dictionary))
        case .setItem:
            let value = try pop(for: "SETITEM")
            let key = try pop(for: "SETITEM")
            try dictionary(for: "SETITEM").set(value, for: key)
        case .setItems:
            let items = try popToMark(for: "SETITEMS")
            try insertPairs(items, into: try dictionary(for: "SETITEMS"))

        case .binaryPut:
            memo[Int(try readByte("a memo index"))] = try top(for: "BINPUT")
        case .longBinaryPut:
            memo[Int(try readInteger(UInt32.self, "a memo index"))] = try top(for: "LONG_BINPUT")
        case .memoize:
            memo[memo.count] = try top(for: "MEMOIZE")
        case .binaryGet:
            stack.append(try recall(Int(try readByte("a memo index"))))
        case .longBinaryGet:
            stack.append(try recall(Int(try readInteger(UInt32.self, "a memo index"))))

        case .global:
            let module = try readLine("a module name")
            let name = try readLine("a global name")
            stack.append(.global(try allowedGlobal(module: module, name: name)))
        case .stackGlobal:
            let name = try pop(for: "STACK_GLOBAL")
            let module = try pop(for: "STACK_GLOBAL")
            guard let moduleName = module.string, let globalName = name.string else {
                throw malformed("a module and a name (strings) for STACK_GLOBAL", "\(module.summary), \(name.summary)")
            }
            stack.append(.global(try allowedGlobal(module: moduleName, name: globalName)))
        case .reduce, .newObject:
            // For the allow-listed classes, `cls.__new__(cls, *args)` and `cls(*args)` agree.
            let arguments = try pop(for: "REDUCE")
            let callable = try pop(for: "REDUCE")
            stack.append(try call(callable, arguments))
        case .build:
            // `__setstate__` only adds attributes here: `_metadata` on a state dictionary's
            // OrderedDict (per-module versions), which no tensor depends on.
            let state = try pop(for: "BUILD")
            let object = try top(for: "BUILD")
            switch object {
            case .dictionary, .tensor: break
            default: throw malformed("a dictionary or tensor to BUILD", "\(object.summary) with state \(state.summary)")
            }
        case .binaryPersistentID:
            let identifier = try pop(for: "BINPERSID")
            let storage = try PyTorchStorageReference(persistentID: identifier, file: file, offset: opcodeOffset)
            storages[storage.key] = storage
            stack.append(.storage(storage))
        }
    }

    // MARK: - Interpreting globals

    private func allowedGlobal(module: String, name: String) throws -> PickleGlobal {
        guard let global = PickleGlobal(module: module, name: name) else {
            throw CheckpointError.forbiddenGlobal(file: file, module: module, name: name)
        }
        return global
    }

    /// What calling an allow-listed global with `arguments` would make, built symbolically.
    private func call(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case let .global(global) = callable else {
            throw malformed("an allow-listed global to call", callable.summary)
        }
        guard case let .tuple(items) = arguments else {
            throw malformed("an argument tuple for \(global)", arguments.summary)
        }
        switch global {
        case .orderedDictionary:
            let dictionary = containers.record(PickleDictionary())
            if let initial = items.first {
                // OrderedDict([(key, value), ...]), as older pickles spell a filled one.
                let pairs: [PickleValue]
                switch initial {
                case let .list(list) where items.count == 1: pairs = list.items
                case let .tuple(tuple) where items.count == 1: pairs = tuple
                default: throw malformed("OrderedDict() or OrderedDict(list of pairs)", "arguments \(arguments.summary)")
                }
                for pair in pairs {
                    guard case let .tuple(keyValue) = pair, keyValue.count == 2 else {
                        throw malformed("a (key, value) pair", pair.summary)
                    }
                    dictionary.set(keyValue[1], for: keyValue[0])
                }
            }
            return .dictionary(dictionary)
        case .rebuildTensor:
            return .tensor(try PyTorchTensorRecord(arguments: items, file: file, offset: opcodeOffset))
        case .rebuildParameter:
            // A parameter is its data tensor; gradients and hooks do not survive loading.
            guard let data = items.first, case .tensor = data else {
                throw malformed("_rebuild_parameter(tensor, requires_grad, hooks)", "arguments \(arguments.summary)")
            }
            return data
        case .size:
            guard items.count <= 1, items.first?.integers != nil || items.isEmpty else {
                throw malformed("torch.Size(tuple of ints)", "arguments \(arguments.summary)")
            }
            return items.first ?? .tuple([])
        case let .storageType(name):
            throw malformed("a callable", "the storage type torch.\(name) called")
        }
    }

    // MARK: - Stack

    private mutating func pop(for operation: String) throws -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else {
            throw malformed("a value on the stack for \(operation)", stack.isEmpty ? "an empty stack" : "a mark")
        }
        stack.removeLast()
        return value
    }

    private func top(for operation: String) throws -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else {
            throw malformed("a value on the stack for \(operation)", stack.isEmpty ? "an empty stack" : "a mark")
        }
        return value
    }

    private mutating func popToMark(for operation: String) throws -> [PickleValue] {
        guard let mark = marks.popLast() else {
            throw malformed("a MARK before \(operation)", "none")
        }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func list(for operation: String) throws -> PickleList {
        let target = try top(for: operation)
        guard case let .list(list) = target else { throw malformed("a list to \(operation) to", target.summary) }
        return list
    }

    private func dictionary(for operation: String) throws -> PickleDictionary {
        let target = try top(for: operation)
        guard case let .dictionary(dictionary) = target else {
            throw malformed("a dictionary for \(operation)", target.summary)
        }
        return dictionary
    }

    private func insertPairs(_ items: [PickleValue], into dictionary: PickleDictionary) throws {
        guard items.count.isMultiple(of: 2) else {
            throw malformed("key-value pairs", "\(items.count) item(s)")
        }
        for index in stride(from: 0, to: items.count, by: 2) {
            dictionary.set(items[index + 1], for: items[index])
        }
    }

    private func recall(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw malformed("a memo entry \(index)", "none stored") }
        return value
    }

    // MARK: - Reading bytes

    private mutating func read(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        let available = bytes.count - position
        guard count >= 0, count <= available else {
            throw CheckpointError.truncated(
                file: file, section: "pickle data (\(what))", offset: position, needed: count, available: available)
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    private mutating func readByte(_ what: String) throws -> UInt8 {
        try read(1, what)[0]
    }

    private mutating func readInteger<Word: FixedWidthInteger>(
        _: Word.Type, _ what: String, bigEndian: Bool = false
    ) throws -> Word {
        let raw = try read(MemoryLayout<Word>.size, what).loadUnaligned(as: Word.self)
        return bigEndian ? Word(bigEndian: raw) : Word(littleEndian: raw)
    }

    /// An 8-byte length; one beyond `Int` cannot fit in the file anyway.
    private mutating func readLength64(_ what: String) throws -> Int {
        Int(exactly: try readInteger(UInt64.self, what)) ?? .max
    }

    private mutating func readUTF8(length: Int) throws -> String {
        let start = position
        guard let string = String(validating: try read(length, "a string"), as: UTF8.self) else {
            throw CheckpointError.malformedPickle(file: file, offset: start, expected: "a UTF-8 string", found: "invalid UTF-8")
        }
        return string
    }

    /// Python 2 `str` bytes, which pickle defines as Latin-1 when read by Python 3.
    private mutating func readLatin1(length: Int) throws -> String {
        String(String.UnicodeScalarView(try read(length, "a string").map { Unicode.Scalar($0) }))
    }

    /// A newline-terminated name of a `GLOBAL` opcode; Python names are short, so long lines are refused.
    private mutating func readLine(_ what: String) throws -> String {
        let start = position
        let limit = min(bytes.count, start + 256)
        guard let newline = bytes[start..<limit].firstIndex(of: 0x0A) else {
            throw CheckpointError.malformedPickle(
                file: file, offset: start, expected: "\(what) ending in a newline within 256 bytes",
                found: limit == bytes.count ? "the end of the pickle" : "a longer line")
        }
        let line = try readUTF8(length: newline - start)
        position += 1
        return line
    }

    /// A `LONG1`/`LONG4` integer from its little-endian two's complement bytes.
    private static func integer(littleEndian bytes: [UInt8]) -> PickleValue {
        guard !bytes.isEmpty else { return .integer(0) }
        let negative = bytes.last! & 0x80 != 0
        let fill: UInt8 = negative ? 0xFF : 0x00
        // It fits in 64 bits when every byte past the eighth repeats the sign, and the eighth
        // byte's top bit agrees with it.
        let fits = bytes.count < 8
            || (bytes.dropFirst(8).allSatisfy { $0 == fill } && (bytes[7] & 0x80 != 0) == negative)
        guard fits else { return .bigInteger(bytes) }
        var bits: UInt64 = 0
        for index in (0..<8).reversed() {
            bits = bits << 8 | UInt64(index < bytes.count ? bytes[index] : fill)
        }
        return .integer(Int(Int64(bitPattern: bits)))
    }

    private func malformed(_ expected: String, _ found: String) -> CheckpointError {
        .malformedPickle(file: file, offset: opcodeOffset, expected: expected, found: found)
    }
}
