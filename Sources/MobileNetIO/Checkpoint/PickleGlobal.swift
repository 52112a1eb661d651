/// The Python globals a checkpoint may name: the allow-list of the symbolic unpickler.
///
/// A pickle can name any importable callable, and `pickle.load` calls it; that is how a
/// malicious `.pth` runs `os.system`. Here a name either maps to one of these cases, whose
/// meaning ``PickleMachine`` interprets itself, or is refused with
/// ``CheckpointError/forbiddenGlobal(file:module:name:)``. Nothing is ever imported or executed.
enum PickleGlobal: Hashable, Sendable {
    /// `collections.OrderedDict`: a state dictionary, and every tensor's empty backward hooks.
    case orderedDictionary
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`,
    /// and its older twin `_rebuild_tensor(storage, offset, size, stride)`.
    case rebuildTensor
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)` and
    /// `_rebuild_parameter_with_state(tensor, requires_grad, hooks, state)`: an `nn.Parameter`.
    case rebuildParameter
    /// `torch.Size(tuple)`.
    case size
    /// `torch.FloatStorage` and the other typed storage classes, named in persistent ids.
    case storageType(name: String)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"):
            self = .orderedDictionary
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            self = .rebuildParameter
        case ("torch", "Size"):
            self = .size
        case ("torch", _) where name.hasSuffix("Storage") && name.allSatisfy({ $0.isLetter || $0.isNumber }):
            // Only a name: whether its element type is readable is decided per tensor, so the
            // error can name the key.
            self = .storageType(name: name)
        default:
            return nil
        }
    }
}
