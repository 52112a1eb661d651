import Foundation
import MobileNetTensor

extension PyTorchCheckpoint {
    /// The folder inside the zip archive. `torch.save` names it after the file and `torch.load`
    /// finds it by itself, so a fixed name keeps the output independent of the file's name.
    static let archiveName = "archive"

    /// Writes `state` as a `.pth` checkpoint that `torch.load(path, weights_only=True)` reads as
    /// an `OrderedDict` of float32 tensors, keys in sorted order.
    ///
    /// The file is PyTorch's zip layout: a protocol 2 pickle whose tensors are rebuilt by
    /// `torch._utils._rebuild_tensor_v2` from storages under `archive/data/`, the version record
    /// `3` and the byte order `little`. It is written to a temporary file beside `url`, flushed,
    /// and renamed into place, so that no reader ever sees part of it; writing takes time linear
    /// in the number of tensors.
    ///
    /// - Parameter overwrite: whether to replace an existing file; if `false` (the default) an
    ///   existing file is ``CheckpointError/fileExists(path:)`` and stays untouched.
    public static func write(_ state: [String: Tensor], to url: URL, overwrite: Bool = false) throws {
        let keys = state.keys.sorted()
        let tensors = keys.map { state[$0]! }
        let pickle = statePickle(keys: keys, shapes: tensors.map(\.shape))
        try AtomicFile.write(to: url, overwrite: overwrite) { temporary in
            try writeArchive(at: temporary, destination: url.path, pickle: pickle, tensors: tensors)
        }
    }

    /// `OrderedDict` of `key: _rebuild_tensor_v2(storage i, 0, size, stride, False, OrderedDict())`,
    /// storage `i` being the row-major float32 elements of the i-th tensor.
    static func statePickle(keys: [String], shapes: [Shape]) -> [UInt8] {
        // Memo slots for the globals every tensor repeats.
        let orderedDictionary = 0, rebuildTensor = 1, floatStorage = 2
        var pickle = PickleWriter()
        pickle.global(module: "collections", name: "OrderedDict")
        pickle.put(orderedDictionary)
        pickle.emit(.emptyTuple)
        pickle.emit(.reduce)
        pickle.emit(.mark)
        for (index, (key, shape)) in zip(keys, shapes).enumerated() {
            pickle.string(key)
            if index == 0 {
                pickle.global(module: "torch._utils", name: "_rebuild_tensor_v2")
                pickle.put(rebuildTensor)
            } else {
                pickle.get(rebuildTensor)
            }
            pickle.emit(.mark)
            // The persistent id ('storage', torch.FloatStorage, key, location, element count).
            pickle.emit(.mark)
            pickle.string("storage")
            if index == 0 {
                pickle.global(module: "torch", name: StoredElementType.float32.torchStorageName)
                pickle.put(floatStorage)
            } else {
                pickle.get(floatStorage)
            }
            pickle.string(String(index))
            pickle.string("cpu")
            pickle.integer(shape.elementCount)
            pickle.emit(.tuple)
            pickle.emit(.binaryPersistentID)
            // Storage offset, size, row-major stride, requires_grad, backward hooks.
            pickle.integer(0)
            pickle.tuple(shape.dimensions)
            pickle.tuple(rowMajorStrides(shape.dimensions))
            pickle.emit(.newFalse)
            pickle.get(orderedDictionary)
            pickle.emit(.emptyTuple)
            pickle.emit(.reduce)
            pickle.emit(.tuple)
            pickle.emit(.reduce)
        }
        pickle.emit(.setItems)
        pickle.emit(.stop)
        return pickle.bytes
    }

    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropLast().reversed() {
            strides[axis] = strides[axis + 1] * max(shape[axis + 1], 1)
        }
        return strides
    }

    /// Writes the zip archive at `url`, which must not exist yet, in one pass (see ``StoredZipWriter``).
    private static func writeArchive(at url: URL, destination: String, pickle: [UInt8], tensors: [Tensor]) throws {
        let descriptor = try AtomicFile.create(url, destination: destination)
        defer { close(descriptor) }
        var archive = StoredZipWriter(descriptor: descriptor, path: destination)
        try pickle.withUnsafeBytes { try archive.add("\(archiveName)/data.pkl", $0) }
        try Array("little".utf8).withUnsafeBytes { try archive.add("\(archiveName)/byteorder", $0) }
        for (index, tensor) in tensors.enumerated() {
            try tensor.withLittleEndianBytes { try archive.add("\(archiveName)/data/\(index)", $0) }
        }
        try Array("3\n".utf8).withUnsafeBytes { try archive.add("\(archiveName)/version", $0) }
        try archive.finish()
    }
}
