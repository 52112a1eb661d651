/// The whole content of a safetensors file: tensors of any ``StoredTensor`` type, and the
/// free-form strings of its `__metadata__` (for a quantized model, the recipe that made it).
///
/// ```swift
/// var archive = SafeTensorsArchive(metadata: ["method": "minmax", "samples": "512"])
/// archive.tensors["conv.weight"] = .int8(shape: [8, 3, 3, 3], values: weights)
/// archive.tensors["conv.scale"] = .float32(scales)
/// try SafeTensors.write(archive, to: url)
/// let back = try SafeTensors.readArchive(contentsOf: url)
/// ```
public struct SafeTensorsArchive: Sendable {
    public var tensors: [String: StoredTensor]
    public var metadata: [String: String]

    public init(tensors: [String: StoredTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }
}
