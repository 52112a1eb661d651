import MobileNetNN
import MobileNetTensor

/// Updates parameters from their gradients, one step at a time.
///
/// ```swift
/// let optimizer = try SGD(parameters: model.namedParameters(), momentum: 0.9, nesterov: true, weightDecay: 4e-5)
/// for batch in ... {
///     optimizer.learningRate = schedule.learningRate(epoch: epoch, step: step)
///     model.clearGradients()
///     // forward, loss, backward: fills every trainable parameter's `gradient`
///     try optimizer.step()
/// }
/// ```
///
/// A parameter whose `gradient` is `nil` is left alone, and its state does not advance, as in
/// PyTorch (a frozen backbone, or a branch that did not run). Per-parameter state (momentum
/// buffers, moment estimates, step counts) is created at a parameter's first update and is
/// keyed by its state-dict key, so a checkpoint can save it with ``state`` and restore it with
/// ``load(_:)``, bit for bit.
public protocol Optimizer: AnyObject {
    /// The parameters, with their weight decay and learning-rate scale.
    var groups: [ParameterGroup] { get }
    /// The learning rate of the next step; a ``LearningRateSchedule`` sets it before each step.
    /// A group's rate is this times its ``ParameterGroup/learningRateScale``.
    var learningRate: Double { get set }
    /// Updates every parameter that has a gradient.
    ///
    /// - Throws: ``OptimizerError/gradientShape(key:expected:actual:)`` when a gradient does not
    ///   have its parameter's shape; no parameter changes then.
    func step() throws
    /// The per-parameter state, for a checkpoint.
    var state: OptimizerState { get }
    /// Replaces the per-parameter state with a saved one.
    ///
    /// - Throws: ``OptimizerError`` when the state is another optimizer's, names a parameter this
    ///   optimizer does not hold, misses a slot, or holds a tensor of the wrong shape.
    func load(_ state: OptimizerState) throws
}

/// The saved per-parameter state of an ``Optimizer``.
public struct OptimizerState: Sendable {
    /// Which optimizer wrote it: `"sgd"`, `"rmsprop"` or `"adamw"`.
    public var kind: String
    /// Slot tensors under `"<slot>/<parameter key>"`, e.g. `"momentum_buffer/features.0.0.weight"`
    /// (PyTorch's slot names).
    public var tensors: [String: Tensor]
    /// How many updates each parameter has had, by parameter key (optimizers that count them).
    public var steps: [String: Int]

    public init(kind: String, tensors: [String: Tensor] = [:], steps: [String: Int] = [:]) {
        self.kind = kind
        self.tensors = tensors
        self.steps = steps
    }

    /// The parameter keys the state mentions, sorted.
    public var parameterKeys: [String] {
        Set(tensors.keys.compactMap { $0.split(separator: "/", maxSplits: 1).last.map(String.init) })
            .union(steps.keys).sorted()
    }
}

/// An optimizer was built with impossible settings or given state or gradients that do not fit.
public enum OptimizerError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidHyperparameter(name: String, value: Double, expected: String)
    case duplicateParameter(key: String)
    case gradientShape(key: String, expected: Shape, actual: Shape)
    case stateKind(expected: String, actual: String)
    case stateForUnknownParameter(key: String)
    case missingState(slot: String, key: String)
    case stateShape(slot: String, key: String, expected: Shape, actual: Shape)

    public var description: String {
        switch self {
        case let .invalidHyperparameter(name, value, expected):
            "optimizer: \(name) is \(value), expected \(expected)"
        case let .duplicateParameter(key):
            "optimizer: parameter \(key) appears in more than one group"
        case let .gradientShape(key, expected, actual):
            "optimizer: the gradient of \(key) has shape \(actual), expected \(expected) like the parameter"
        case let .stateKind(expected, actual):
            "optimizer state: written by \(actual), expected \(expected)"
        case let .stateForUnknownParameter(key):
            "optimizer state: holds state for \(key), which this optimizer does not update"
        case let .missingState(slot, key):
            "optimizer state: \(key) has a step count but no \(slot)"
        case let .stateShape(slot, key, expected, actual):
            "optimizer state: \(slot) of \(key) has shape \(actual), expected \(expected)"
        }
    }
}

/// The bookkeeping every optimizer shares: its groups, a parameter lookup by key, and saving and
/// restoring named slots.
struct OptimizerCore {
    let groups: [ParameterGroup]
    let shapes: [String: Shape]

    init(groups: [ParameterGroup]) throws {
        var shapes: [String: Shape] = [:]
        for group in groups {
            for (key, parameter) in group.parameters {
                guard shapes.updateValue(parameter.shape, forKey: key) == nil else {
                    throw OptimizerError.duplicateParameter(key: key)
                }
            }
        }
        self.groups = groups
        self.shapes = shapes
    }

    /// Every (group, key, parameter, gradient) that will be updated, after checking every
    /// gradient's shape, so that a bad one stops the step before anything changes.
    func updates() throws -> [(group: ParameterGroup, key: String, parameter: Parameter, gradient: Tensor)] {
        var result: [(group: ParameterGroup, key: String, parameter: Parameter, gradient: Tensor)] = []
        for group in groups {
            for (key, parameter) in group.parameters {
                guard let gradient = parameter.gradient else { continue }
                guard gradient.shape == parameter.shape else {
                    throw OptimizerError.gradientShape(key: key, expected: parameter.shape, actual: gradient.shape)
                }
                result.append((group, key, parameter, gradient))
            }
        }
        return result
    }

    /// `slots` flattened into ``OptimizerState/tensors`` entries.
    static func flatten(_ slots: [String: [String: Tensor]]) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (slot, byKey) in slots {
            for (key, tensor) in byKey { tensors[slot + "/" + key] = tensor }
        }
        return tensors
    }

    /// The tensors of `slots` from `state`, checked against the parameters: every key must be
    /// one of this optimizer's, and every tensor must have its parameter's shape. Keys listed in
    /// `requiredFor` must have every slot.
    func restore(_ state: OptimizerState, kind: String, slots: [String], requiredFor keys: Set<String> = []) throws -> [String: [String: Tensor]] {
        guard state.kind == kind else { throw OptimizerError.stateKind(expected: kind, actual: state.kind) }
        var result = [String: [String: Tensor]](uniqueKeysWithValues: slots.map { ($0, [:]) })
        for (name, tensor) in state.tensors {
            let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, slots.contains(parts[0]), let shape = shapes[parts[1]] else {
                throw OptimizerError.stateForUnknownParameter(key: name)
            }
            guard tensor.shape == shape else {
                throw OptimizerError.stateShape(slot: parts[0], key: parts[1], expected: shape, actual: tensor.shape)
            }
            result[parts[0]]![parts[1]] = tensor
        }
        for key in state.steps.keys where shapes[key] == nil {
            throw OptimizerError.stateForUnknownParameter(key: key)
        }
        for key in keys.sorted() {
            for slot in slots where result[slot]![key] == nil {
                throw OptimizerError.missingState(slot: slot, key: key)
            }
        }
        return result
    }

    static func require(_ condition: Bool, _ name: String, _ value: Double, _ expected: String) throws {
        guard condition else { throw OptimizerError.invalidHyperparameter(name: name, value: value, expected: expected) }
    }
}
