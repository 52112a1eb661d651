/// A value on the stack of ``PickleMachine``: the few Python objects a state dictionary is made of.
///
/// Lists and dictionaries are reference types because pickles build them in place (`EMPTY_DICT`,
/// `MEMOIZE`, then `SETITEMS`), and the memo must see the same object the stack holds.
enum PickleValue {
    case none
    case bool(Bool)
    case integer(Int)
    /// An integer beyond 64 bits, as its little-endian two's complement bytes (the legacy
    /// `torch.save` format opens with one, its magic number).
    case bigInteger([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dictionary(PickleDictionary)
    /// An allow-listed global, only ever used as a callable by `REDUCE` or `NEWOBJ`.
    case global(PickleGlobal)
    /// A tensor storage named by a persistent id; its bytes are read only if a tensor is kept.
    case storage(PyTorchStorageReference)
    case tensor(PyTorchTensorRecord)

    /// A short description for error messages ("int 3", "a tuple of 2 items").
    var summary: String {
        switch self {
        case .none: "None"
        case let .bool(value): "bool \(value ? "True" : "False")"
        case let .integer(value): "int \(value)"
        case let .bigInteger(bytes): "an int of \(bytes.count) bytes"
        case let .float(value): "float \(value)"
        case let .string(value): "string \"\(value.count > 40 ? value.prefix(40) + "..." : value)\""
        case let .bytes(value): "\(value.count) bytes"
        case let .tuple(items): "a tuple of \(items.count) item(s)"
        case let .list(list): "a list of \(list.items.count) item(s)"
        case let .dictionary(dictionary): "a dictionary of \(dictionary.count) item(s)"
        case let .global(global): "the global \(global)"
        case let .storage(storage): "storage \"\(storage.key)\""
        case let .tensor(tensor): "a tensor of shape \(tensor.layout.shape)"
        }
    }

    var integer: Int? {
        if case let .integer(value) = self { return value }
        return nil
    }

    var string: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The integers of a tuple (a tensor's size or stride); `nil` if any item is not an int.
    var integers: [Int]? {
        guard case let .tuple(items) = self else { return nil }
        var result: [Int] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let value = item.integer else { return nil }
            result.append(value)
        }
        return result
    }
}

/// A Python list under construction.
final class PickleList {
    var items: [PickleValue]

    init(_ items: [PickleValue] = []) {
        self.items = items
    }
}

/// A Python dict or OrderedDict: items in insertion order, a later value replacing an earlier one
/// under the same string or int key.
final class PickleDictionary {
    private(set) var items: [(key: PickleValue, value: PickleValue)] = []
    // Indexes keep SETITEMS linear for large state dictionaries; other key types (rare: tuples)
    // are appended without de-duplication.
    private var stringIndex: [String: Int] = [:]
    private var integerIndex: [Int: Int] = [:]

    var count: Int { items.count }

    subscript(key: String) -> PickleValue? {
        stringIndex[key].map { items[$0].value }
    }

    /// Drops every item, which frees a dictionary that (through its items) contains itself.
    func removeAll() {
        items = []
        stringIndex = [:]
        integerIndex = [:]
    }

    func set(_ value: PickleValue, for key: PickleValue) {
        let existing: Int? = switch key {
        case let .string(string): stringIndex[string]
        case let .integer(integer): integerIndex[integer]
        default: nil
        }
        if let existing {
            items[existing].value = value
            return
        }
        switch key {
        case let .string(string): stringIndex[string] = items.count
        case let .integer(integer): integerIndex[integer] = items.count
        default: break
        }
        items.append((key, value))
    }
}

/// Every list and dictionary one pickle program made.
///
/// They are classes, and a pickle can make them contain each other (`l = []; l.append(l)`, with
/// the memo), which reference counting never frees. The unpickler records each one here, and
/// whoever is done with a ``PickleMachine/Result`` calls ``release()``, which empties them all.
final class PickleContainers {
    private var lists: [PickleList] = []
    private var dictionaries: [PickleDictionary] = []

    func record(_ list: PickleList) -> PickleList {
        lists.append(list)
        return list
    }

    func record(_ dictionary: PickleDictionary) -> PickleDictionary {
        dictionaries.append(dictionary)
        return dictionary
    }

    /// Empties every recorded container: values still holding one see it empty afterwards.
    func release() {
        for list in lists { list.items = [] }
        for dictionary in dictionaries { dictionary.removeAll() }
        lists = []
        dictionaries = []
    }
}
