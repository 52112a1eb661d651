/// The pickle opcodes that PyTorch state dictionaries use (protocol 2 and later, plus the few
/// older ones Python still emits there), by their byte values as `pickletools` documents them.
///
/// Anything else, in particular `INST`, `OBJ` and the extension registry opcodes, which would
/// construct objects by other routes, is refused by the unpickler. ``PickleWriter`` uses the same
/// table to write.
enum PickleOpcode: UInt8, Sendable {
    // Control.
    case protocolVersion = 0x80  // PROTO n
    case frame = 0x95            // FRAME length: a buffering hint only
    case stop = 0x2E             // '.'
    case mark = 0x28             // '('
    case pop = 0x30              // '0'
    case popMark = 0x31          // '1'
    case duplicate = 0x32        // '2'

    // Scalars.
    case none = 0x4E             // 'N'
    case newTrue = 0x88
    case newFalse = 0x89
    case binaryInt = 0x4A        // 'J': 4-byte signed
    case binaryInt1 = 0x4B       // 'K': 1-byte unsigned
    case binaryInt2 = 0x4D       // 'M': 2-byte unsigned
    case long1 = 0x8A            // 1-byte length, then a little-endian two's complement integer
    case long4 = 0x8B            // the same with a 4-byte length
    case binaryFloat = 0x47      // 'G': 8-byte big-endian double

    // Strings and bytes.
    case binaryUnicode = 0x58        // 'X': 4-byte length, UTF-8
    case shortBinaryUnicode = 0x8C   // 1-byte length
    case binaryUnicode8 = 0x8D       // 8-byte length
    case binaryString = 0x54         // 'T': Python 2 str, 4-byte length
    case shortBinaryString = 0x55    // 'U': Python 2 str, 1-byte length
    case binaryBytes = 0x42          // 'B': 4-byte length
    case shortBinaryBytes = 0x43     // 'C': 1-byte length
    case binaryBytes8 = 0x8E         // 8-byte length

    // Containers.
    case emptyTuple = 0x29       // ')'
    case tuple = 0x74            // 't': the items since the mark
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case emptyList = 0x5D        // ']'
    case list = 0x6C             // 'l'
    case append = 0x61           // 'a'
    case appends = 0x65          // 'e'
    case emptyDictionary = 0x7D  // '}'
    case dictionary = 0x64       // 'd'
    case setItem = 0x73          // 's'
    case setItems = 0x75         // 'u'

    // Memo.
    case binaryPut = 0x71        // 'q': 1-byte index
    case longBinaryPut = 0x72    // 'r': 4-byte index
    case memoize = 0x94          // the next index
    case binaryGet = 0x68        // 'h'
    case longBinaryGet = 0x6A    // 'j'

    // Objects: only ever applied to allow-listed globals.
    case global = 0x63           // 'c': "module\nname\n"
    case stackGlobal = 0x93      // module and name from the stack
    case reduce = 0x52           // 'R': callable(*arguments)
    case newObject = 0x81        // cls.__new__(cls, *arguments)
    case build = 0x62            // 'b': object.__setstate__(state)
    case binaryPersistentID = 0x51  // 'Q': an object stored outside the pickle (a tensor storage)
}
