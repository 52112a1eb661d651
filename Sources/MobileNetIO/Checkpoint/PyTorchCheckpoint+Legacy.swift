import MobileNetTensor

/// Reading the layout of `torch.save` before PyTorch 1.6, which torchvision's published
/// MobileNetV2 weights (`mobilenet_v2-b0353104.pth`) still use: five pickles back to back,
///
/// ```
/// 1. a magic number, 0x1950A86A20F9469CFC6C
/// 2. the protocol version, 1001
/// 3. system information: {"protocol_version", "little_endian", "type_sizes"}
/// 4. the object; tensors name their storages by key, as in the zip layout
/// 5. the list of storage keys, in the order their bytes follow
/// ```
///
/// then, for each key of that list, an 8-byte element count and the storage's elements.
extension PyTorchCheckpoint {
    /// The magic number's LONG1 bytes: 0x1950A86A20F9469CFC6C, little-endian.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let legacyProtocolVersion = 1001

    static func readLegacy(_ mapped: MappedFile) throws -> [String: Tensor] {
        let file = mapped.path
        return try withExtendedLifetime(mapped) {
            let bytes = mapped.bytes
            let magic = try PickleMachine.unpickle(bytes, from: 0, file: file)
            defer { magic.containers.release() }
            guard case let .bigInteger(value) = magic.value, value == legacyMagic else {
                throw CheckpointError.unrecognizedFormat(
                    file: file, expected: "the legacy torch.save magic number 0x1950A86A20F9469CFC6C", found: magic.value.summary)
            }
            let version = try PickleMachine.unpickle(bytes, from: magic.end, file: file)
            defer { version.containers.release() }
            guard version.value.integer == legacyProtocolVersion else {
                throw CheckpointError.malformedPickle(
                    file: file, offset: magic.end, expected: "legacy protocol version \(legacyProtocolVersion)",
                    found: version.value.summary)
            }
            let systemInformation = try PickleMachine.unpickle(bytes, from: version.end, file: file)
            defer { systemInformation.containers.release() }
            var littleEndian = true
            if case let .dictionary(information) = systemInformation.value, case let .bool(flag)? = information["little_endian"] {
                littleEndian = flag
            }
            let object = try PickleMachine.unpickle(bytes, from: systemInformation.end, file: file)
            defer { object.containers.release() }
            let keyList = try PickleMachine.unpickle(bytes, from: object.end, file: file)
            defer { keyList.containers.release() }
            guard case let .list(keys) = keyList.value, keys.items.allSatisfy({ $0.string != nil }) else {
                throw CheckpointError.malformedPickle(
                    file: file, offset: object.end, expected: "the list of storage keys", found: keyList.value.summary)
            }
            let locations = try storageLocations(
                keys: keys.items.compactMap(\.string), storages: object.storages, bytes: bytes,
                start: keyList.end, littleEndian: littleEndian, file: file)

            var state: [String: Tensor] = [:]
            for (key, record) in try stateDictionary(in: object.value, file: file) {
                guard let range = locations[record.storage.key] else {
                    if StoredElementType(torchStorage: record.storage.typeName) == nil {
                        throw CheckpointError.unsupportedDType(file: file, key: key, dtype: "torch.\(record.storage.typeName)")
                    }
                    throw CheckpointError.invalidTensor(
                        file: file, key: key, expected: "the bytes of storage \(record.storage.key) after the pickles",
                        found: "none that can be located")
                }
                state[key] = try record.makeTensor(
                    storageBytes: UnsafeRawBufferPointer(rebasing: bytes[range]), littleEndian: littleEndian, file: file, key: key)
            }
            return state
        }
    }

    /// Where each storage's elements lie, walking the records that follow the pickles.
    ///
    /// A record's length depends on its element type; the walk stops at the first type this
    /// package cannot convert, leaving later storages unlocated (an error only if a tensor needs one).
    private static func storageLocations(
        keys: [String], storages: [String: PyTorchStorageReference], bytes: UnsafeRawBufferPointer,
        start: Int, littleEndian: Bool, file: String
    ) throws -> [String: Range<Int>] {
        var locations: [String: Range<Int>] = [:]
        var position = start
        for key in keys {
            guard let storage = storages[key] else {
                throw CheckpointError.malformedPickle(
                    file: file, offset: start, expected: "storage keys named by the object's persistent ids",
                    found: "the unknown key \"\(key)\"")
            }
            guard let type = StoredElementType(torchStorage: storage.typeName) else { break }
            guard bytes.count - position >= 8 else {
                throw CheckpointError.truncated(
                    file: file, section: "the element count of storage \(key)", offset: position, needed: 8,
                    available: bytes.count - position)
            }
            let raw = bytes.loadUnaligned(fromByteOffset: position, as: Int64.self)
            let count = littleEndian ? Int64(littleEndian: raw) : Int64(bigEndian: raw)
            position += 8
            let available = bytes.count - position
            let (byteCount, overflow) = Int(clamping: count).multipliedReportingOverflow(by: type.byteCount)
            guard count >= 0, !overflow, byteCount <= available else {
                throw CheckpointError.truncated(
                    file: file, section: "storage \(key) of \(count) \(type.rawValue) element(s)", offset: position,
                    needed: overflow ? .max : max(byteCount, 0), available: available)
            }
            locations[key] = position..<position + byteCount
            position += byteCount
        }
        return locations
    }
}
