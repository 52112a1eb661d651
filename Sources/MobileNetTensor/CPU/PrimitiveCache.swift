import Synchronization

/// What a cached primitive is for. Two calls with equal keys reuse one primitive. Forward keys
/// name their propagation kind: a training primitive differs from an inference one, and it is the
/// hint that backward primitives are built from (those have keys of their own, `.backward`).
enum PrimitiveKey: Hashable, Sendable {
    case convolution(input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry, propagation: Propagation)
    case batchNorm(input: Shape, epsilon: Float, training: Bool, propagation: Propagation)
    case eltwise(count: Int, algorithm: UInt32, alpha: Float, beta: Float, propagation: Propagation)
    case add(count: Int)
    case multiplyChannels(input: Shape)
    case globalAveragePool(input: Shape, propagation: Propagation)
    case linear(input: Shape, weight: Shape, hasBias: Bool, propagation: Propagation)
    case softmax(input: Shape, algorithm: UInt32, propagation: Propagation)
    case backward(BackwardPrimitiveKey)
}

/// Created primitives by key, and the lock that serializes their executions.
final class PrimitiveCache: @unchecked Sendable {
    private let lock = Mutex(())
    private var plans: [PrimitiveKey: AnyObject] = [:]
    private var created = 0

    /// Runs `body` holding the engine's lock, on the process-wide ``CPUEngine/threadCount``.
    /// Plans may only be read or made inside it.
    func serialized<Result>(_ body: () throws -> Result) throws -> Result {
        try lock.withLock { _ in
            CPUEngine.applyThreadCount()
            return try body()
        }
    }

    /// The plan for `key`, made by `make` the first time. Call only inside ``serialized(_:)``.
    func plan<Plan: AnyObject>(for key: PrimitiveKey, make: () throws -> Plan) throws -> Plan {
        if let existing = plans[key] as? Plan { return existing }
        let plan = try make()
        plans[key] = plan
        created += 1
        return plan
    }

    var statistics: (created: Int, cached: Int) {
        (try? serialized { (created, plans.count) }) ?? (created, plans.count)
    }
}

/// The cache keys of backward primitives (``PrimitiveKey/backward(_:)``).
enum BackwardPrimitiveKey: Hashable, Sendable {
    case convolutionData(input: Shape, weight: Shape, geometry: ConvolutionGeometry)
    case convolutionWeights(input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry)
    case batchNorm(input: Shape, epsilon: Float, statistics: NormalizationStatistics)
    case eltwise(count: Int, algorithm: UInt32, alpha: Float, beta: Float)
    case multiply(count: Int)
    case globalAveragePool(input: Shape)
    case linearData(input: Shape, weight: Shape)
    case linearWeights(input: Shape, weight: Shape, hasBias: Bool)
    case softmax(input: Shape)
}
