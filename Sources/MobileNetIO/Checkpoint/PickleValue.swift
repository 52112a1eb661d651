/// A value on the stack of ``PickleMachine``: the few Python objects a state dictionary is made of.
///
/// Lists and dictionaries are reference types because pickles build them in place (`EMPTY_DICT`,
/// `MEMOIZE`, then `SETITEMS`), and the memo must see the same object the stack holds.
///
/// Every value knows its ``depth``, how deeply containers nest inside it, without walking its
/// items: tuples store it, lists and dictionaries keep it up to date as they grow. That lets
/// ``PickleMachine`` refuse deep nesting as it is built, in constant time per item; releasing a
/// value recurses once per level, so 50,000 nested tuples would overflow the thread's stack.
///
/// The two large payloads are boxed (`indirect`), so that a value takes 24 bytes whatever it
/// holds: a pickle may make millions of them.
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
    /// A tuple and its ``depth``, one more than its deepest item's.
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dictionary(PickleDictionary)
    /// An allow-listed global, only ever used as a callable by `REDUCE` or `NEWOBJ`.
    case global(PickleGlobal)
    /// A tensor storage named by a persistent id; its bytes are read only if a tensor is kept.
    indirect case storage(PyTorchStorageReference)
    indirect case tensor(PyTorchTensorRecord)

    /// How many containers (tuples, lists, dictionaries) nest inside each other here, this one
    /// included: 0 for a scalar, 1 for `()` or `[1, 2]`, 2 for `((),)`.
    var depth: Int {
        switch self {
        case let .tuple(_, depth): depth
        case let .list(list): list.depth
        case let .dictionary(dictionary): dictionary.depth
        default: 0
        }
    }

    /// The list or dictionary this value is, if it is one.
    var container: PickleContainer? {
        switch self {
        case let .list(list): list
        case let .dictionary(dictionary): dictionary
        default: nil
        }
    }

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
        case let .tuple(items, _): "a tuple of \(items.count) item(s)"
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
        guard case let .tuple(items, _) = self else { return nil }
        var result: [Int] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let value = item.integer else { return nil }
            result.append(value)
        }
        return result
    }
}

/// What lists and dictionaries share: their depth, and whether they are inside another value.
///
/// Once a container is placed inside another (a tuple, a list, a dictionary), ``PickleMachine``
/// refuses to change it. Python's pickler always fills a container before nesting it, except
/// for an object that contains itself, so real pickles never need that; and refusing it both rules
/// out reference cycles (`l.append(l)` would leak `l`) and keeps every stored depth true, since a
/// nested container can no longer grow deeper behind its parent's back.
class PickleContainer {
    /// One more than the deepest item's ``PickleValue/depth``; 1 when empty.
    fileprivate(set) var depth = 1
    /// Whether the container has been placed inside another value; see the type's documentation.
    private(set) var isNested = false

    func markNested() {
        isNested = true
    }

    /// Accounts for an item just added.
    fileprivate func include(_ item: PickleValue) {
        depth = max(depth, item.depth + 1)
    }
}

/// A Python list under construction.
final class PickleList: PickleContainer {
    private(set) var items: [PickleValue] = []

    init(_ items: [PickleValue] = []) {
        super.init()
        append(contentsOf: items)
    }

    func append(contentsOf newItems: [PickleValue]) {
        items.append(contentsOf: newItems)
        newItems.forEach(include)
    }
}

/// A Python dict or OrderedDict: items in insertion order, a later value replacing an earlier one
/// under the same string or int key.
final class PickleDictionary: PickleContainer {
    private(set) var items: [(key: PickleValue, value: PickleValue)] = []
    // Indexes keep SETITEMS linear for large state dictionaries; other key types (rare: tuples)
    // are appended without de-duplication.
    private var stringIndex: [String: Int] = [:]
    private var integerIndex: [Int: Int] = [:]

    var count: Int { items.count }

    subscript(key: String) -> PickleValue? {
        stringIndex[key].map { items[$0].value }
    }

    func set(_ value: PickleValue, for key: PickleValue) {
        include(key)
        include(value)
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
