import Synchronization

/// Marks a ``Tensor`` as a value recorded on a ``GradientTape``: which tape, and which slot.
///
/// Tensors stay values; a tracked tensor merely carries this small reference. Copies carry it
/// too (they hold the same value); writing into a tensor drops it, since the written tensor is no
/// longer the value the tape saw.
public final class TapeNode: Sendable {
    let tape: UInt64
    let index: Int

    init(tape: UInt64, index: Int) {
        self.tape = tape
        self.index = index
    }
}

/// Reverse-mode automatic differentiation: records the differentiable operations run inside
/// ``record(_:)`` and later runs their backward rules from a scalar loss.
///
/// ```swift
/// let tape = GradientTape()
/// let loss = try tape.record {
///     try crossEntropy(logits: model(images), labels: labels)
/// }
/// try tape.backward(from: loss)   // fills every trained Parameter's `gradient`
/// ```
///
/// Which values are differentiated is decided by ``watch(_:)``: a watched tensor is a leaf, and an
/// operation is recorded only when one of its operands is a leaf or was computed from one. Model
/// parameters register themselves when a layer reads them (`Parameter.tracked` in MobileNetNN),
/// deduplicated by identity, so a parameter used twice has one leaf whose gradient sums both uses.
///
/// Without a tape an operation pays only the task-local lookup of ``current``. A tape records one
/// forward pass and runs ``backward(from:seed:)`` once, then drops what it saved.
public final class GradientTape: @unchecked Sendable {
    /// The tape that operations in this task record onto, if any.
    @TaskLocal public static var current: GradientTape?

    /// The backward rule of one operation: given the gradient of its output and which operands
    /// need one, the gradients of its operands (nil where not needed). Rules call engine kernels
    /// directly, so backward itself is never recorded.
    public typealias BackwardRule = (_ outputGradient: Tensor, _ needsGradient: [Bool]) throws -> [Tensor?]

    private struct Operation {
        var name: String
        var inputs: [Int?]
        var output: Int
        var backward: BackwardRule
    }

    private static let counter = Atomic<UInt64>(0)

    /// Distinguishes this tape's nodes from those of tapes that lived at the same address before.
    private let identifier: UInt64
    private let lock = Mutex(())
    private var shapes: [Shape] = []
    private var operations: [Operation] = []
    /// Leaves that deliver their gradient somewhere (a parameter), by node.
    private var sinks: [Int: (Tensor) throws -> Void] = [:]
    /// Leaves registered with an owner, so that a second read of the same parameter reuses the node.
    private var ownerNodes: [ObjectIdentifier: Int] = [:]
    /// Keeps the owners alive while the tape is, so that their identifiers stay unique.
    private var owners: [AnyObject] = []
    /// Nodes whose gradient ``gradient(for:)`` returns after backward.
    private var retained: Set<Int> = []
    private var retainedGradients: [Int: Tensor] = [:]
    private var hasRunBackward = false

    public init() {
        identifier = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Runs `body` with this tape recording the operations it calls.
    public func record<Result>(_ body: () throws -> Result) rethrows -> Result {
        try GradientTape.$current.withValue(self) { try body() }
    }

    /// The number of operations recorded so far.
    public var operationCount: Int {
        lock.withLock { _ in operations.count }
    }

    /// Whether `tensor` is a value on this tape.
    func tracks(_ tensor: Tensor?) -> Bool {
        guard let node = tensor?.tapeNode else { return false }
        return node.tape == identifier
    }

    /// The current tape when it tracks one of the operands, else nil: the only check an
    /// operation makes before running untracked.
    @inline(__always)
    static func recording(_ first: Tensor?, _ second: Tensor? = nil, _ third: Tensor? = nil) -> GradientTape? {
        guard let tape = current else { return nil }
        return tape.tracks(first) || tape.tracks(second) || tape.tracks(third) ? tape : nil
    }

    /// The same for any number of operands.
    static func recording(_ operands: [Tensor]) -> GradientTape? {
        guard let tape = current else { return nil }
        return operands.contains(where: tape.tracks) ? tape : nil
    }

    private func makeNode(shape: Shape) -> TapeNode {
        shapes.append(shape)
        return TapeNode(tape: identifier, index: shapes.count - 1)
    }

    // MARK: Leaves

    /// Starts tracking `tensor` and returns it marked as a leaf; after ``backward(from:seed:)``,
    /// ``gradient(for:)`` gives its gradient. A tensor this tape already tracks is returned as it is
    /// (its gradient is then kept as well).
    public func watch(_ tensor: Tensor) -> Tensor {
        lock.withLock { _ in
            if let node = tensor.tapeNode, node.tape == identifier {
                retained.insert(node.index)
                return tensor
            }
            var leaf = tensor
            leaf.tapeNode = makeNode(shape: tensor.shape)
            retained.insert(leaf.tapeNode!.index)
            return leaf
        }
    }

    /// Tracks `tensor` as the value of `owner` (a parameter): the first call creates a leaf whose
    /// gradient backward hands to `receive`; later calls with the same owner return the same leaf.
    public func watch(_ tensor: Tensor, owner: AnyObject, receive: @escaping (Tensor) throws -> Void) -> Tensor {
        lock.withLock { _ in
            var leaf = tensor
            if let index = ownerNodes[ObjectIdentifier(owner)] {
                leaf.tapeNode = TapeNode(tape: identifier, index: index)
                return leaf
            }
            let node = makeNode(shape: tensor.shape)
            ownerNodes[ObjectIdentifier(owner)] = node.index
            owners.append(owner)
            sinks[node.index] = receive
            leaf.tapeNode = node
            return leaf
        }
    }

    /// The gradient of the loss with respect to a watched tensor, after ``backward(from:seed:)``;
    /// nil if the loss does not depend on it.
    public func gradient(for tensor: Tensor) -> Tensor? {
        guard let node = tensor.tapeNode, node.tape == identifier else { return nil }
        return lock.withLock { _ in retainedGradients[node.index] }
    }

    // MARK: Recording

    /// Records an operation whose forward pass produced `output` from `inputs` (nil or untracked
    /// operands are constants) and returns `output` marked as its result. `backward` receives the
    /// output's gradient and returns one gradient (or nil) per input, in order.
    ///
    /// The operations in this module record themselves; this is for operations defined elsewhere.
    public func recordOperation(
        _ name: String, inputs: [Tensor?], output: Tensor, backward: @escaping BackwardRule
    ) -> Tensor {
        lock.withLock { _ in
            let inputNodes = inputs.map { input -> Int? in
                guard let node = input?.tapeNode, node.tape == identifier else { return nil }
                return node.index
            }
            guard inputNodes.contains(where: { $0 != nil }) else {
                var constant = output
                constant.tapeNode = nil
                return constant
            }
            var result = output
            let node = makeNode(shape: output.shape)
            result.tapeNode = node
            operations.append(Operation(name: name, inputs: inputNodes, output: node.index, backward: backward))
            return result
        }
    }

    // MARK: Backward

    /// Propagates gradients from `loss` back to every leaf: parameters receive theirs (added to
    /// what they hold), watched tensors keep theirs for ``gradient(for:)``.
    ///
    /// - Parameter seed: the gradient of the final objective with respect to `loss`; ones when nil
    ///   (for a scalar loss, d loss / d loss = 1).
    public func backward(from loss: Tensor, seed: Tensor? = nil) throws {
        guard let node = loss.tapeNode, node.tape == identifier else {
            throw TensorError.invalidArgument(
                operation: "backward", argument: "loss", reason: "it was not computed on this tape from a watched value")
        }
        if let seed {
            try seed.expectShape(loss.shape, for: "backward seed")
        }
        var (recorded, sinks) = try lock.withLock { _ in
            guard !hasRunBackward else {
                throw TensorError.invalidArgument(
                    operation: "backward", argument: "tape", reason: "backward already ran on this tape; record a new one")
            }
            hasRunBackward = true
            defer { operations = []; self.sinks = [:]; owners = []; ownerNodes = [:] }
            return (operations, self.sinks)
        }
        let (shapes, retained) = lock.withLock { _ in (self.shapes, self.retained) }
        var kept: [Int: Tensor] = [:]
        // Rules must not record onto any tape, including an enclosing one.
        try GradientTape.$current.withValue(nil) {
            var gradients: [Int: Tensor] = [node.index: seed ?? Tensor(repeating: 1, shape: loss.shape)]
            // Popping releases each rule, and the activations it saved, as soon as it has run.
            while let operation = recorded.popLast() {
                // Each output's gradient is complete once every later operation has run.
                guard let outputGradient = gradients.removeValue(forKey: operation.output) else { continue }
                if retained.contains(operation.output) { kept[operation.output] = outputGradient }
                let needs = operation.inputs.map { $0 != nil }
                let inputGradients = try operation.backward(outputGradient, needs)
                for (position, input) in operation.inputs.enumerated() {
                    guard let input, position < inputGradients.count, let gradient = inputGradients[position] else { continue }
                    guard gradient.shape == shapes[input] else {
                        throw TensorError.shapeMismatch(
                            operation: operation.name + " backward",
                            expected: "a gradient of shape \(shapes[input]) for operand \(position)", actual: gradient.shape)
                    }
                    gradients[input] = try gradients[input].map { try Engine.current.add($0, gradient) } ?? gradient
                }
            }
            // What is left belongs to leaves (and to the loss itself when it is one).
            for (index, gradient) in gradients {
                try sinks[index]?(gradient)
                if retained.contains(index) { kept[index] = gradient }
            }
        }
        lock.withLock { _ in retainedGradients = kept }
    }
}
