import MobileNetTensor

/// A tensor storage as a pickle's persistent id names it:
/// `('storage', torch.FloatStorage, key, location, numel)`, with a sixth item, a view or `None`,
/// in the legacy format.
///
/// The key names the storage's bytes: the zip entry `<archive>/data/<key>`, or a record after
/// the pickles in a legacy file. The element count in the id is not trusted; the bytes are.
struct PyTorchStorageReference: Hashable, Sendable {
    /// The storage class, e.g. `FloatStorage`.
    var typeName: String
    var key: String
    /// For a legacy storage view (`(view_key, offset, size)`): the first element of the view in
    /// the storage named by `key`, and its length.
    var viewOffset = 0
    var viewCount: Int?

    init(persistentID: PickleValue, file: String, offset: Int) throws {
        func refuse() -> CheckpointError {
            .malformedPickle(
                file: file, offset: offset,
                expected: "a persistent id ('storage', storage type, key, location, element count[, view])",
                found: persistentID.summary)
        }
        guard case let .tuple(items, _) = persistentID, items.count == 5 || items.count == 6,
              items[0].string == "storage",
              case let .global(.storageType(typeName)) = items[1],
              let key = items[2].string
        else { throw refuse() }
        self.typeName = typeName
        self.key = key
        if items.count == 6, case let .tuple(view, _) = items[5] {
            guard view.count == 3, let start = view[1].integer, let count = view[2].integer else { throw refuse() }
            viewOffset = start
            viewCount = count
        }
    }
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a storage and where the tensor's
/// elements lie in it. Only ``makeTensor(storageBytes:littleEndian:file:key:)`` reads the bytes.
struct PyTorchTensorRecord: Sendable {
    var storage: PyTorchStorageReference
    var layout: StridedLayout

    /// Reads `(storage, storage_offset, size, stride, ...)`, the arguments of `_rebuild_tensor_v2`.
    init(arguments: [PickleValue], file: String, offset: Int) throws {
        guard arguments.count >= 4,
              case let .storage(storage) = arguments[0],
              let storageOffset = arguments[1].integer,
              let shape = arguments[2].integers,
              let strides = arguments[3].integers
        else {
            throw CheckpointError.malformedPickle(
                file: file, offset: offset,
                expected: "_rebuild_tensor_v2(storage, offset, size tuple, stride tuple, ...)",
                found: "arguments (" + arguments.map(\.summary).joined(separator: ", ") + ")")
        }
        self.storage = storage
        layout = StridedLayout(offset: storageOffset, shape: shape, strides: strides)
    }

    /// Converts the elements to a row-major float tensor, after checking that the layout fits the
    /// storage's `storageBytes`.
    func makeTensor(storageBytes: UnsafeRawBufferPointer, littleEndian: Bool, file: String, key: String) throws -> Tensor {
        guard let type = StoredElementType(torchStorage: storage.typeName) else {
            throw CheckpointError.unsupportedDType(file: file, key: key, dtype: "torch.\(storage.typeName)")
        }
        guard storageBytes.count % type.byteCount == 0 else {
            throw CheckpointError.invalidTensor(
                file: file, key: key, expected: "a \(storage.typeName) of whole \(type.byteCount)-byte elements",
                found: "\(storageBytes.count) bytes")
        }
        var first = 0
        var available = storageBytes.count / type.byteCount
        if let viewCount = storage.viewCount {
            guard storage.viewOffset >= 0, storage.viewOffset <= available,
                  viewCount >= 0, viewCount <= available - storage.viewOffset
            else {
                throw CheckpointError.invalidTensor(
                    file: file, key: key, expected: "a storage view inside its \(available)-element storage",
                    found: "a view of \(viewCount) element(s) from element \(storage.viewOffset)")
            }
            first = storage.viewOffset
            available = viewCount
        }
        let extent = try layout.validated(storageCount: available, file: file, key: key)
        let shape = Shape(layout.shape)
        guard extent.elementCount > 0, let base = storageBytes.baseAddress else { return Tensor.zeros(shape) }
        let source = base + (first + layout.offset) * type.byteCount
        var tensor = Tensor(uninitializedShape: shape)
        tensor.withUnsafeMutableBufferPointer { destination in
            if layout.isRowMajor {
                type.convert(source, count: extent.elementCount, littleEndian: littleEndian, into: destination.baseAddress!)
            } else {
                // Convert the span once, then pick the elements in row-major order.
                let span = UnsafeMutablePointer<Float>.allocate(capacity: extent.span)
                defer { span.deallocate() }
                type.convert(source, count: extent.span, littleEndian: littleEndian, into: span)
                layout.gather(from: span, into: destination.baseAddress!, elementCount: extent.elementCount)
            }
        }
        return tensor
    }
}
