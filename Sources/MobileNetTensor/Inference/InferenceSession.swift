import CDNNL
import Dispatch
import Synchronization

/// An ``InferenceGraph`` compiled into fused oneDNN primitives, once per input shape.
///
/// What makes it fast is what it avoids moving: every convolution runs with its bias, residual add
/// (a `sum` post-op writing into the shortcut's buffer) and activations fused; activations stay
/// in the blocked layout oneDNN picks (`format_tag_any`, usually `nChw16c`) from the first layer
/// to the last, with reorders only at the edges; weights are reordered once at compile time; and
/// buffers are allocated once, reused by liveness, so a steady-state run allocates nothing but
/// its output.
///
/// A batch of several images can be spread over the threads in two ways (``BatchParallelism``):
/// every primitive splitting its work over all threads, or each thread running whole images on
/// its own. The second is what a batch wants: a MobileNet has about seventy primitives, and
/// threads that share each of them meet at seventy barriers per image, each waiting for the
/// slowest; threads with images of their own never wait, and one image's activations stay in
/// one core's cache.
public final class InferenceSession: @unchecked Sendable {
    /// How a run spreads a batch over oneDNN's threads (``CPUEngine/threadCount``).
    public enum BatchParallelism: Hashable, Sendable {
        /// Each thread takes the next image of the batch (a few at small resolutions, see
        /// ``pixelsPerTask``) and runs the whole network on it alone, with primitives compiled
        /// for one thread; used when the batch has at least two images and there are at least
        /// two threads.
        case acrossImages
        /// The whole batch goes through each primitive in turn, every primitive using all threads.
        case withinPrimitives
    }

    public let graph: InferenceGraph
    /// How ``run(_:)`` spreads a batch; `.acrossImages` unless set.
    public var batchParallelism: BatchParallelism {
        get { lock.withLock { _ in parallelism } }
        set { lock.withLock { _ in parallelism = newValue } }
    }

    private let lock = Mutex(())
    private var parallelism = BatchParallelism.acrossImages
    private var plans: [Shape: InferencePlan] = [:]
    /// Weights in the layouts the plans chose, shared between plans.
    private let constants = InferenceConstants()
    /// One single-thread plan (and stream) per worker thread, by the shape of a worker's task.
    private var workerPlans: [Shape: [(plan: InferencePlan, stream: DNNL.Stream)]] = [:]

    /// The int8 parameters when the session runs the graph quantized.
    private let quantized: QuantizedParameters?

    public init(graph: InferenceGraph) {
        self.graph = graph
        quantized = nil
    }

    /// A session that runs `graph` in int8 as `quantization` says: oneDNN's int8 convolutions,
    /// the same plans per input shape and the same batch scheduling as in fp32.
    ///
    /// - Throws: ``QuantizationError`` if `quantization` does not describe `graph`.
    public init(graph: InferenceGraph, quantization: GraphQuantization) throws {
        self.graph = graph
        quantized = try QuantizedParameters(quantization, graph: graph)
    }

    /// The quantization the session runs, nil in fp32.
    public var quantization: GraphQuantization? { quantized?.quantization }

    /// Runs the graph on an NHWC batch and returns its output (the first of several, see
    /// ``runOutputs(_:)``); compiles on the first call with a new shape. Uses the process-wide
    /// ``CPUEngine/threadCount``, whichever thread calls.
    public func run(_ input: Tensor) throws -> Tensor {
        try runOutputs(input)[0]
    }

    /// Runs the graph on an NHWC batch and returns each of its ``InferenceGraph/outputs``, in
    /// order, as ``run(_:)`` runs it.
    public func runOutputs(_ input: Tensor) throws -> [Tensor] {
        try serialized {
            let workers = min(input.shape.rank == 4 ? input.shape[0] : 1, CPUEngine.threadCount)
            if parallelism == .acrossImages, workers > 1 {
                return try runAcrossImages(input, workers: workers, times: nil)
            }
            return try plan(for: input.shape).run(input)
        }
    }

    /// Runs the graph on `input` `warmup` times, then `iterations` times twice over, interleaved:
    /// normally (the end-to-end time) and with each step timed on its own (the stream waited
    /// for after every step). Returns the profile and the output of the last profiled run, which
    /// equals ``run(_:)``'s (the first output).
    ///
    /// With ``BatchParallelism/acrossImages`` the steps are those of one worker's plan, and a
    /// step's time is its time summed over all tasks of the run divided by the number of workers.
    public func profile(_ input: Tensor, warmup: Int, iterations: Int) throws -> (profile: InferenceProfile, output: Tensor) {
        try serialized {
            let workers = min(input.shape.rank == 4 ? input.shape[0] : 1, CPUEngine.threadCount)
            let acrossImages = parallelism == .acrossImages && workers > 1
            var described: InferencePlan
            if acrossImages {
                let (batch, height, width, channels) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
                let perTask = Self.imagesPerTask(batch: batch, workers: workers, height: height, width: width)
                described = try workerPlans(for: [perTask, height, width, channels], workers: workers)[0].plan
            } else {
                described = try plan(for: input.shape)
            }
            var steps = described.stepDescriptions(graph)
            // Per worker, the nanoseconds of each step in this iteration.
            let times = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: max(workers, 1) * steps.count)
            defer { times.deallocate() }
            func runOnce(timed: Bool) throws -> Tensor {
                if acrossImages {
                    return try runAcrossImages(input, workers: workers, times: timed ? (times.baseAddress!, steps.count) : nil)[0]
                }
                if !timed { return try described.run(input)[0] }
                let outputs = described.outputShapes.map { Tensor(uninitializedShape: $0) }
                try described.runProfiled(
                    input: input.storage.pointer, outputs: outputs.map(\.storage.pointer), on: DNNL.stream, times: times.baseAddress!)
                return outputs[0]
            }
            for _ in 0..<warmup { _ = try runOnce(timed: false) }
            var endToEnd: [Double] = [], profiled: [Double] = []
            var output = input
            for _ in 0..<iterations {
                var start = DispatchTime.now().uptimeNanoseconds
                _ = try runOnce(timed: false)
                endToEnd.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
                times.initialize(repeating: 0)
                start = DispatchTime.now().uptimeNanoseconds
                output = try runOnce(timed: true)
                profiled.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
                let divisor = Double(acrossImages ? workers : 1) * 1000
                for index in steps.indices {
                    let total = (0..<(acrossImages ? workers : 1)).reduce(UInt64(0)) { $0 + times[$1 * steps.count + index] }
                    steps[index].microseconds.append(Double(total) / divisor)
                }
            }
            let profile = InferenceProfile(
                inputShape: input.shape, steps: steps, threads: CPUEngine.threadCount,
                parallelism: acrossImages ? .acrossImages : .withinPrimitives,
                endToEndP50: InferenceProfile.median(endToEnd), profiledRunP50: InferenceProfile.median(profiled))
            return (profile, output)
        }
    }

    /// The oneDNN kernel of each primitive for this input shape, e.g. `jit:avx512_core`, in order.
    public func implementations(for inputShape: Shape) throws -> [String] {
        try serialized {
            try plan(for: inputShape).implementations
        }
    }

    /// Bytes of weights and biases the session's plans hold, in their chosen layouts (each layout
    /// of a tensor once, however many plans use it).
    public var weightBytes: Int {
        lock.withLock { _ in constants.bytes }
    }

    /// Runs `body` holding the session's lock, with the calling thread on the process-wide
    /// ``CPUEngine/threadCount`` (plans are created and run with it).
    private func serialized<Result>(_ body: () throws -> Result) throws -> Result {
        try lock.withLock { _ in
            CPUEngine.applyThreadCount()
            return try body()
        }
    }

    private func plan(for shape: Shape) throws -> InferencePlan {
        if let plan = plans[shape] { return plan }
        let plan = try InferencePlan(graph: graph, inputShape: shape, constants: constants, quantized: quantized)
        plans[shape] = plan
        return plan
    }

    /// About as many pixels as a worker's task should hold: one image at ImageNet sizes, a few
    /// small ones together (at 32x32 one image is too little work for seventy primitive calls).
    static let pixelsPerTask = 112 * 112

    /// Images per worker task for a batch of `batch` images of `height` x `width`.
    static func imagesPerTask(batch: Int, workers: Int, height: Int, width: Int) -> Int {
        max(1, min(batch / workers, pixelsPerTask / max(1, height * width)))
    }

    /// `workers` single-thread plans for `shape`, compiled on first use.
    private func workerPlans(for shape: Shape, workers: Int) throws -> [(plan: InferencePlan, stream: DNNL.Stream)] {
        var compiled = workerPlans[shape] ?? []
        if compiled.count < workers {
            // oneDNN splits a primitive's work by the thread count it was created with, so these
            // are created, like they will run, with one thread.
            CPUEngine.applyThreadCount(1)
            defer { CPUEngine.applyThreadCount() }
            while compiled.count < workers {
                compiled.append((
                    try InferencePlan(graph: graph, inputShape: shape, constants: constants, quantized: quantized), try DNNL.Stream()))
            }
            workerPlans[shape] = compiled
        }
        return compiled
    }

    /// `workers` threads each take the next few images and run them through plans of their own.
    /// With `times`, each worker adds its steps' nanoseconds to its own row of `stride` counters
    /// (tasks whose plan has another number of steps, a smaller last one, are not timed).
    private func runAcrossImages(_ input: Tensor, workers: Int, times: (UnsafeMutablePointer<UInt64>, stride: Int)?) throws -> [Tensor] {
        let (batch, height, width, channels) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let perTask = Self.imagesPerTask(batch: batch, workers: workers, height: height, width: width)
        // Plans by images per task: `perTask`, and the smaller last task when it does not divide the batch.
        var plansBySize: [Int: [(plan: InferencePlan, stream: DNNL.Stream)]] = [:]
        for size in Set([perTask, batch % perTask]) where size > 0 {
            plansBySize[size] = try workerPlans(for: [size, height, width, channels], workers: workers)
        }
        // Each output's elements per image, and the whole batch's outputs.
        let taskOutputs = plansBySize[perTask]![0].plan.outputShapes
        let outputRows = taskOutputs.map { $0.elementCount / perTask }
        let outputs = taskOutputs.map { Tensor(uninitializedShape: Shape([batch] + $0.dimensions.dropFirst())) }
        let inputRow = height * width * channels
        nonisolated(unsafe) let source = UnsafePointer(input.storage.pointer)
        nonisolated(unsafe) let destinations = outputs.map(\.storage.pointer)
        nonisolated(unsafe) let plans = plansBySize
        nonisolated(unsafe) let timing = times
        let tasks = (batch + perTask - 1) / perTask
        let next = Atomic(0)
        let failure = Mutex<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            // A worker's primitives run on its own thread alone; the thread's count is put back
            // for whatever the thread (one of Dispatch's, or the caller's) runs next.
            let threads = CPUEngine.callingThreadCount
            CPUEngine.applyThreadCount(1)
            defer { CPUEngine.applyThreadCount(threads) }
            while true {
                let task = next.add(1, ordering: .relaxed).oldValue
                guard task < tasks else { return }
                let first = task * perTask
                let (plan, stream) = plans[min(perTask, batch - first)]![worker]
                let taskDestinations = zip(destinations, outputRows).map { $0 + first * $1 }
                do {
                    if let (counters, stride) = timing, plan.executions.count == stride {
                        try plan.runProfiled(
                            input: source + first * inputRow, outputs: taskDestinations, on: stream.stream,
                            times: counters + worker * stride)
                    } else {
                        try plan.run(input: source + first * inputRow, outputs: taskDestinations, on: stream.stream)
                    }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                    return
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return outputs
    }
}
