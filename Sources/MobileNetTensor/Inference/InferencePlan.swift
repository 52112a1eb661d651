import CDNNL
import CQuantizedAdd

/// The primitives, buffers and argument lists of one graph at one input shape.
///
/// Compiling walks the graph's steps once (`InferencePlan+Steps.swift`): each step becomes one
/// primitive with its post-ops (and a reorder where a layout must change), its output gets a
/// buffer from the ``BufferPool`` and every argument a memory object. Running sets the two edge
/// memories to the caller's buffers and submits the primitives in order.
final class InferencePlan {
    struct Execution {
        enum Work {
            case primitive(DNNLPrimitive)
            /// An int8 residual add, by a loop of the plan's own (oneDNN's binary add computes
            /// neither arithmetic ``GraphQuantization/AddArithmetic`` names).
            case quantizedAdd(QuantizedAdd)
        }

        let work: Work
        var arguments: [dnnl_exec_arg_t]
        /// The graph step it computes (or converts a layout for); `nil` for the final reorder
        /// into the caller's output.
        let step: Int?

        var primitive: DNNLPrimitive? {
            if case let .primitive(primitive) = work { primitive } else { nil }
        }

        /// The kernel that runs it: oneDNN's choice (`brgconv_1x1:avx512_core`) or the plan's own loop.
        var implementationName: String {
            switch work {
            case let .primitive(primitive): primitive.implementationName
            case let .quantizedAdd(add): add.implementationName
            }
        }

        /// Runs on `stream`, without waiting for a primitive; a loop of the plan's own first
        /// waits for the primitives before it.
        func submit(on stream: dnnl_stream_t) throws {
            switch work {
            case let .primitive(primitive):
                try primitive.submit("inference step", arguments, on: stream)
            case let .quantizedAdd(add):
                try DNNL.wait(stream, "inference step")
                add.run()
            }
        }
    }

    /// `c = a + b` over `count` bytes of `uint8` values in one layout, `c` possibly `a`.
    struct QuantizedAdd {
        let a: UnsafePointer<UInt8>
        let b: UnsafePointer<UInt8>
        let c: UnsafeMutablePointer<UInt8>
        let count: Int
        let terms: GraphQuantization.AddTerms
        /// The layout of all three, for a profile.
        let descriptor: dnnl_memory_desc_t

        func run() {
            switch terms {
            case let .float(ratioA, ratioB, constant):
                mobilenet_quantized_add_float(a, b, c, count, ratioA, ratioB, constant)
            case let .fixedPoint(multiplierA, multiplierB, bias, shift, zeroPoint):
                mobilenet_quantized_add_fixed(a, b, c, count, multiplierA, multiplierB, bias, shift, zeroPoint)
            }
        }

        var implementationName: String {
            let arithmetic = if case .float = terms { "float" } else { "fixed_point" }
            return "quantized_add_\(arithmetic):" + String(cString: mobilenet_quantized_add_isa())
        }
    }

    /// Where a value lives: its layout, element type and buffer.
    struct Placement {
        var descriptor: dnnl_memory_desc_t
        var buffer: BufferID
        /// Logical oneDNN dims: `[N, C, H, W]` or `[N, C]`.
        var dimensions: [Int]
        var type: DType = .float32

        /// The value's shape as the API sees it: NHWC `[N, H, W, C]`.
        var nhwcShape: Shape { [dimensions[0], dimensions[2], dimensions[3], dimensions[1]] }
    }

    var executions: [Execution] = []
    /// Memory objects of every argument, kept alive for the executions that name them.
    var memories: [DNNLMemory] = []
    /// Weights and biases in the layouts their primitives chose (held by the session, shared with
    /// its other plans).
    let sharedConstants: InferenceConstants
    var pool = BufferPool()
    /// The caller's NHWC batch and the caller's outputs (one per graph output); their buffers
    /// are set on every run.
    let inputMemory: DNNLMemory
    var outputMemories: [DNNLMemory] = []
    /// The shape of each of the graph's ``InferenceGraph/outputs``: NHWC, or `[N, C]` after a linear step.
    private(set) var outputShapes: [Shape] = []
    var outputShape: Shape { outputShapes[0] }
    /// The scratch space primitives ask for, one buffer the plan owns for all of them (oneDNN's
    /// own is shared between threads).
    private var scratchpad: TensorStorage?
    /// The kernel of every execution, in order.
    var implementations: [String] { executions.map(\.implementationName) }
    /// The graph step being compiled, recorded with each execution appended for it.
    private var compilingStep: Int?

    /// The int8 parameters, for a plan of a quantized session; nil in fp32.
    let quantized: QuantizedParameters?

    init(
        graph: InferenceGraph, inputShape: Shape, constants sharedConstants: InferenceConstants,
        quantized: QuantizedParameters? = nil
    ) throws {
        self.sharedConstants = sharedConstants
        self.quantized = quantized
        guard inputShape.rank == 4 else {
            throw TensorError.shapeMismatch(operation: "inference input", expected: "rank 4 (NHWC)", actual: inputShape)
        }
        let lastUses = graph.lastUses
        var placements: [Placement?] = Array(repeating: nil, count: graph.steps.count)
        let inputDimensions = [inputShape[0], inputShape[3], inputShape[1], inputShape[2]]
        inputMemory = try DNNLMemory(try DNNL.activationDescriptor(inputShape), nil)
        memories.append(inputMemory)

        for (index, step) in graph.steps.enumerated() {
            compilingStep = index
            defer {
                // Buffers of values read for the last time here return to the pool, after this
                // step's own output buffer was taken (it must not overwrite what it reads).
                for value in step.inputs where lastUses[value.index] == index {
                    pool.release(placements[value.index]!.buffer)
                }
            }
            switch step {
            case let .input(channels):
                guard inputShape[3] == channels else {
                    throw TensorError.shapeMismatch(operation: "inference input", expected: "\(channels) channels last", actual: inputShape)
                }
                placements[index] = try compileInput(
                    Placement(descriptor: inputMemory.descriptor, buffer: .callerInput, dimensions: inputDimensions), step: index)
            case let .convolution(x, weight, bias, geometry, post):
                placements[index] = try compileConvolution(
                    source: placements[x.index]!, weight: weight, bias: bias, geometry: geometry, post: post,
                    placements: placements, lastUses: lastUses, sourceStep: x.index, step: index)
            case let .globalAveragePool(x):
                placements[index] = try compilePooling(source: placements[x.index]!, sourceStep: x.index, step: index)
            case let .multiplyChannels(x, scale):
                placements[index] = try compileMultiply(
                    source: placements[x.index]!, scale: placements[scale.index]!, inPlace: lastUses[x.index] == index,
                    sourceStep: x.index, step: index)
            case let .linear(x, weight, bias, post):
                placements[index] = try compileLinear(
                    source: placements[x.index]!, weight: weight, bias: bias, post: post, placements: placements, lastUses: lastUses,
                    sourceStep: x.index, step: index)
            case let .add(x, shortcut, post):
                placements[index] = try compileAdd(
                    value: placements[x.index]!, shortcut: placements[shortcut.index]!, post: post,
                    inPlace: lastUses[x.index] == index, valueStep: x.index, shortcutStep: shortcut.index, step: index)
            case let .resizeBilinear(x, reference):
                placements[index] = try compileResize(
                    source: placements[x.index]!, height: placements[reference.index]!.dimensions[2],
                    width: placements[reference.index]!.dimensions[3], step: index)
            }
        }
        compilingStep = nil
        for output in graph.outputs {
            let flat: Bool
            if case .linear = graph.steps[output.index] { flat = true } else { flat = false }
            outputShapes.append(try compileOutput(placements[output.index]!, step: output.index, flat: flat))
        }
        try attachScratchpad()
    }

    /// Gives every primitive that needs scratch space the plan's scratchpad buffer, sized for the largest.
    private func attachScratchpad() throws {
        let needs = executions.map { $0.primitive?.scratchpad }
        let bytes = needs.map { $0?.bytes ?? 0 }.max() ?? 0
        guard bytes > 0 else { return }
        let storage = TensorStorage(uninitializedCount: (bytes + 3) / 4)
        scratchpad = storage
        for (index, need) in needs.enumerated() {
            guard let need, need.bytes > 0 else { continue }
            let memory = try DNNLMemory(need.layout, UnsafeMutableRawPointer(storage.pointer))
            memories.append(memory)
            executions[index].arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory.memory))
        }
    }

    func run(_ input: Tensor) throws -> [Tensor] {
        let outputs = outputShapes.map { Tensor(uninitializedShape: $0) }
        try run(input: input.storage.pointer, outputs: outputs.map(\.storage.pointer), on: DNNL.stream)
        return outputs
    }

    /// Runs the plan from the NHWC batch at `input` into `outputs` (one of each of ``outputShapes``).
    func run(input: UnsafePointer<Float>, outputs: [UnsafeMutablePointer<Float>], on stream: dnnl_stream_t) throws {
        try setBuffers(input: input, outputs: outputs)
        for execution in executions {
            try execution.submit(on: stream)
        }
        try DNNL.wait(stream, "inference")
    }

    /// Points the edge memories at the caller's buffers.
    func setBuffers(input: UnsafePointer<Float>, outputs: [UnsafeMutablePointer<Float>]) throws {
        precondition(outputs.count == outputMemories.count, "one buffer per output")
        try inputMemory.setBuffer(UnsafeMutableRawPointer(mutating: input))
        for (memory, output) in zip(outputMemories, outputs) {
            try memory.setBuffer(UnsafeMutableRawPointer(output))
        }
    }

    // MARK: Memory objects

    /// A memory object for `descriptor` over `buffer`.
    func memory(_ descriptor: dnnl_memory_desc_t, buffer: BufferID) throws -> dnnl_memory_t {
        switch buffer {
        case .callerInput:
            return inputMemory.memory
        case let .pooled(index):
            let memory = try DNNLMemory(descriptor, pool.pointer(index))
            memories.append(memory)
            return memory.memory
        }
    }

    /// A memory object over `source` in `descriptor`, reordered from `userLayout` once per session.
    func constant(_ descriptor: dnnl_memory_desc_t, from source: TensorStorage, userLayout: dnnl_memory_desc_t) throws -> dnnl_memory_t {
        let storage = try sharedConstants.storage(for: source, in: descriptor, userLayout: userLayout)
        let memory = try DNNLMemory(descriptor, UnsafeMutableRawPointer(storage.pointer))
        memories.append(memory)
        return memory.memory
    }

    func append(_ primitive: DNNLPrimitive, _ arguments: [(Int32, dnnl_memory_t)]) {
        executions.append(Execution(
            work: .primitive(primitive), arguments: arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }, step: compilingStep))
    }

    func append(_ add: QuantizedAdd) {
        executions.append(Execution(work: .quantizedAdd(add), arguments: [], step: compilingStep))
    }

    /// The start of a pooled buffer (a loop of the plan's own reads and writes it directly).
    func pointer(_ buffer: BufferID) -> UnsafeMutableRawPointer? {
        if case let .pooled(index) = buffer { pool.pointer(index) } else { nil }
    }

    /// A fresh placement for a value of `dimensions` laid out as `descriptor`.
    func allocate(_ descriptor: dnnl_memory_desc_t, dimensions: [Int], type: DType = .float32) -> Placement {
        Placement(descriptor: descriptor, buffer: pool.allocate(DNNL.size(of: descriptor)), dimensions: dimensions, type: type)
    }
}
