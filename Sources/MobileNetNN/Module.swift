import MobileNetTensor

/// A node of a model's tree: its own tensors and its sub-modules, each under the name that forms
/// its PyTorch state-dict key (`features.3.conv.1.0.weight`).
///
/// Modules are final classes that list their state explicitly; nothing is found by reflection.
///
/// A layer is differentiable when it computes with the tensor operations of MobileNetTensor and
/// reads its parameters through ``Parameter/tracked``: under a ``GradientTape`` the operations
/// record themselves and the parameters register as the tape's leaves, and without one both
/// behave exactly as plain inference.
public protocol Module: AnyObject {
    /// This module's own tensors in PyTorch's order: parameters first, then buffers.
    var localState: [(name: String, parameter: Parameter)] { get }
    /// Sub-modules in registration order.
    var children: [(name: String, module: any Module)] { get }
}

/// A module that maps one tensor to another.
public protocol Layer: Module {
    func callAsFunction(_ input: Tensor) throws -> Tensor
}

/// A module that behaves differently while training (batch norm, dropout).
public protocol ModeDependent: AnyObject {
    var isTraining: Bool { get set }
}

/// A module that (re)draws its parameters' initial values.
public protocol ParameterInitializing: AnyObject {
    func resetParameters(using generator: inout SplitMix64)
}

extension Module {
    public var localState: [(name: String, parameter: Parameter)] { [] }
    public var children: [(name: String, module: any Module)] { [] }

    /// This module and every descendant, depth first, with their dotted paths ("" for self).
    public func namedModules(prefix: String = "") -> [(path: String, module: any Module)] {
        var result: [(path: String, module: any Module)] = [(prefix, self)]
        for (name, child) in children {
            result += child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return result
    }

    /// Every tensor in the tree under its full state-dict key, in PyTorch's order.
    public func namedState() -> [(key: String, parameter: Parameter)] {
        namedModules().flatMap { path, module in
            module.localState.map { (path.isEmpty ? $0.name : path + "." + $0.name, $0.parameter) }
        }
    }

    /// The learnable tensors only.
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        namedState().filter { $0.parameter.isTrainable }
    }

    /// The number of learnable values (batch-norm scale and shift included, running statistics
    /// excluded), as `sum(p.numel() for p in model.parameters())` counts in PyTorch.
    public var parameterCount: Int {
        namedParameters().reduce(0) { $0 + $1.parameter.value.elementCount }
    }

    /// Switches every batch norm and dropout in the tree to training or evaluation behaviour.
    public func setTraining(_ training: Bool) {
        for (_, module) in namedModules() {
            (module as? ModeDependent)?.isTraining = training
        }
    }

    /// Drops every parameter's accumulated gradient (before the next backward pass).
    public func clearGradients() {
        for (_, parameter) in namedState() { parameter.gradient = nil }
    }

    /// Draws fresh initial values for every parameter in the tree.
    public func resetParameters(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for (_, module) in namedModules() {
            (module as? ParameterInitializing)?.resetParameters(using: &generator)
        }
    }

    /// The tree's tensors by key, as a PyTorch `state_dict()` holds them.
    public func stateDictionary() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedState().map { ($0.key, $0.parameter.value) })
    }

    /// Replaces the tree's tensors with `state`.
    ///
    /// Strict by default: a key the model lacks, a key the model has that `state` lacks, and a
    /// shape that differs are errors naming the key. PyTorch's `num_batches_tracked` counters are
    /// ignored. Keys under one of the `excluding` prefixes (`"classifier."`, for a new head on a
    /// pretrained backbone) are left out on both sides: not required, not loaded, not unexpected,
    /// so the model's own values stay. Nothing is changed unless every check passes.
    public func load(_ state: [String: Tensor], strict: Bool = true, excluding prefixes: [String] = []) throws {
        func isExcluded(_ key: String) -> Bool { prefixes.contains { key.hasPrefix($0) } }
        let own = namedState().filter { !isExcluded($0.key) }
        let ownKeys = Set(own.map(\.key))
        if strict {
            let missing = own.map(\.key).filter { state[$0] == nil }
            if !missing.isEmpty { throw StateError.missingKeys(missing) }
            let unexpected = state.keys
                .filter { !ownKeys.contains($0) && !isExcluded($0) && !$0.hasSuffix("num_batches_tracked") }
                .sorted()
            if !unexpected.isEmpty { throw StateError.unexpectedKeys(unexpected) }
        }
        for (key, parameter) in own {
            guard let tensor = state[key] else { continue }
            guard tensor.shape == parameter.shape else {
                throw StateError.shapeMismatch(key: key, expected: parameter.shape, actual: tensor.shape)
            }
        }
        for (key, parameter) in own {
            if let tensor = state[key] { parameter.value = tensor }
        }
    }
}

/// Loading a state dictionary into a module tree failed.
public enum StateError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingKeys([String])
    case unexpectedKeys([String])
    case shapeMismatch(key: String, expected: Shape, actual: Shape)

    public var description: String {
        switch self {
        case let .missingKeys(keys):
            "missing \(keys.count) key(s) the model needs: \(Self.list(keys))"
        case let .unexpectedKeys(keys):
            "\(keys.count) key(s) the model does not have: \(Self.list(keys))"
        case let .shapeMismatch(key, expected, actual):
            "\(key): the model expects shape \(expected), the weights have \(actual)"
        }
    }

    private static func list(_ keys: [String]) -> String {
        keys.prefix(5).joined(separator: ", ") + (keys.count > 5 ? ", ..." : "")
    }
}
