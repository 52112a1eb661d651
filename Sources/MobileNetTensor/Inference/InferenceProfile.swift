import CDNNL
import Dispatch

/// Where the time of one inference goes: every compiled step of a plan (each fused oneDNN
/// primitive, reorder, pooling, channel scaling) timed on its own, beside the end-to-end time of
/// the same plan run normally in the same sitting.
///
/// Made by ``InferenceSession/profile(_:warmup:iterations:)``. Profiling waits for the stream
/// after every step, which a normal run does not; the difference between ``endToEndP50`` and
/// ``stepSumP50`` is the cost of everything between steps (argument setup, thread wake-up,
/// the wait itself).
public struct InferenceProfile: Sendable {
    /// One argument of a step: its oneDNN dimensions (`[N, C, H, W]`, `[O, I, H, W]` for
    /// weights), layout (`nChw16c`, `nhwc`, or oneDNN's own name for weight layouts), element
    /// type and size in bytes (blocked layouts pad channels).
    public struct Operand: Hashable, Sendable {
        public var dimensions: [Int]
        public var layout: String
        public var type: String
        public var bytes: Int
    }

    public struct Step: Sendable {
        /// The state-dict path of the layer the step computes (`features.3.conv.1.0`); a reorder
        /// is named after the step it feeds, with `:reorder` (the last one `output:reorder`).
        public var name: String
        /// An ``InferenceGraph/StepKind`` raw value, or `reorder`.
        public var kind: String
        /// oneDNN's primitive kind: `convolution`, `reorder`, `pooling`, `binary`, `inner_product`;
        /// `quantized_add` for the plan's own int8 add.
        public var primitive: String
        /// The kernel oneDNN picked, e.g. `brgconv_1x1:avx512_core`.
        public var implementation: String
        /// Activations read, including the shortcut a residual `sum` post-op adds in.
        public var inputs: [Operand]
        /// Weights and bias.
        public var weights: [Operand]
        public var output: Operand
        /// Multiply-adds for the whole batch (0 for reorders, pooling and scaling).
        public var multiplyAdds: Int
        /// Bytes read and written once each: inputs, weights and output.
        public var bytesMoved: Int { (inputs + weights + [output]).reduce(0) { $0 + $1.bytes } }
        /// The step's time in each timed iteration, in microseconds (for a batch spread across
        /// images, its time summed over the workers' tasks divided by the number of workers).
        public var microseconds: [Double]
        /// The median of ``microseconds``.
        public var p50: Double { InferenceProfile.median(microseconds) }
    }

    public var inputShape: Shape
    public var steps: [Step]
    /// Threads the plans ran with and how the batch was spread.
    public var threads: Int
    public var parallelism: InferenceSession.BatchParallelism
    /// Median microseconds of a normal run (no waits between steps), interleaved with the
    /// profiled runs.
    public var endToEndP50: Double
    /// The sum of the steps' medians.
    public var stepSumP50: Double { steps.reduce(0) { $0 + $1.p50 } }
    /// Median microseconds of a whole profiled run.
    public var profiledRunP50: Double

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

extension InferencePlan {
    /// Runs the plan like ``run(input:outputs:on:)`` but waits for the stream after every
    /// step and adds each step's nanoseconds to `times[step]`.
    func runProfiled(
        input: UnsafePointer<Float>, outputs: [UnsafeMutablePointer<Float>], on stream: dnnl_stream_t, times: UnsafeMutablePointer<UInt64>
    ) throws {
        try setBuffers(input: input, outputs: outputs)
        for (index, execution) in executions.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            try execution.submit(on: stream)
            try DNNL.wait(stream, "inference step")
            times[index] += DispatchTime.now().uptimeNanoseconds - start
        }
    }

    /// What each execution is, for a profile (times empty).
    func stepDescriptions(_ graph: InferenceGraph) -> [InferenceProfile.Step] {
        var seen: [String: Int] = [:]
        return executions.map { execution in
            let primitive = execution.primitive
            // A loop of the plan's own reads two operands of its one layout and writes a third.
            let primitiveKind = primitive?.primitiveKind ?? "quantized_add"
            let isReorder = primitiveKind == "reorder"
            var name = execution.step.map { graph.name(of: $0) } ?? "output"
            if isReorder { name += ":reorder" }
            seen[name, default: 0] += 1
            if seen[name]! > 1 { name += "#\(seen[name]!)" }

            func operands(_ query: dnnl_query_t, _ indices: ClosedRange<Int32>) -> [InferenceProfile.Operand] {
                let descriptors: [dnnl_memory_desc_t]
                switch execution.work {
                case let .primitive(primitive):
                    descriptors = indices.compactMap { primitive.memoryDescriptor(query, index: $0) }
                case let .quantizedAdd(add):
                    let count = query == dnnl_query_src_md ? 2 : query == dnnl_query_dst_md ? 1 : 0
                    descriptors = Array(repeating: add.descriptor, count: min(count, indices.count))
                }
                return descriptors.filter { $0.ndims > 0 }.map { Self.operand($0, weights: query == dnnl_query_weights_md) }
            }
            let output = operands(dnnl_query_dst_md, 0...0).first ?? InferenceProfile.Operand(dimensions: [], layout: "", type: "", bytes: 0)
            var inputs = operands(dnnl_query_src_md, 0...1)
            var multiplyAdds = 0
            var kind = isReorder ? "reorder" : primitiveKind
            if !isReorder, let index = execution.step {
                if let stepKind = graph.labels[index].kind { kind = stepKind.rawValue }
                switch graph.steps[index] {
                case let .convolution(_, weight, _, _, post):
                    // Output elements times the inputs each one sums over (I/groups · kh · kw).
                    multiplyAdds = output.dimensions.reduce(1, *) * (weight.elementCount / weight.shape[0])
                    if post.contains(where: { if case .add = $0 { true } else { false } }) { inputs.append(output) }
                case let .linear(_, weight, _, post):
                    multiplyAdds = output.dimensions[0] * weight.elementCount
                    if post.contains(where: { if case .add = $0 { true } else { false } }) { inputs.append(output) }
                case .input, .globalAveragePool, .multiplyChannels, .add, .resizeBilinear:
                    break
                }
            }
            return InferenceProfile.Step(
                name: name, kind: kind, primitive: primitiveKind, implementation: execution.implementationName,
                inputs: inputs, weights: isReorder ? [] : operands(dnnl_query_weights_md, 0...1), output: output,
                multiplyAdds: multiplyAdds, microseconds: [])
        }
    }

    private static func operand(_ descriptor: dnnl_memory_desc_t, weights: Bool) -> InferenceProfile.Operand {
        let dimensions = withUnsafeBytes(of: descriptor.dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(descriptor.ndims))) }
        return InferenceProfile.Operand(
            dimensions: dimensions.map(Int.init), layout: DNNL.layoutName(descriptor, weights: weights),
            type: String(cString: dnnl_dt2str(descriptor.data_type)), bytes: DNNL.size(of: descriptor))
    }
}

extension DNNL {
    /// A layout's usual name (`nhwc`, `nChw16c`, `nc`; for weights `oihw`, `goihw`, `ohwi`), or
    /// oneDNN's generic one (`aBcd16b` is nChw16c, `ABcd16b16a` a blocked weight layout).
    static func layoutName(_ descriptor: dnnl_memory_desc_t, weights: Bool = false) -> String {
        guard descriptor.format_kind == dnnl_blocked else { return String(cString: dnnl_fmt_kind2str(descriptor.format_kind)) }
        let count = Int(descriptor.ndims)
        let blocking = descriptor.format_desc.blocking
        func values(_ tuple: dnnl_dims_t, _ n: Int) -> [Int64] {
            withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: Int64.self).prefix(n)) }
        }
        let strides = values(blocking.strides, count)
        let blocks = values(blocking.inner_blks, Int(blocking.inner_nblks))
        let blocked = values(blocking.inner_idxs, Int(blocking.inner_nblks)).map(Int.init)
        let letters = Array("abcdefghijkl").prefix(count)
        // Outer dimensions from the largest stride to the smallest (a blocked one upper case),
        // then the inner blocks, innermost last: `aBcd16b` is nChw16c.
        let order = (0..<count).sorted { strides[$0] != strides[$1] ? strides[$0] > strides[$1] : $0 < $1 }
        let outer = order.map { blocked.contains($0) ? Character(letters[$0].uppercased()) : letters[$0] }
        let inner = zip(blocks, blocked).map { "\($0)\(letters[$1])" }.joined()
        let generic = String(outer) + inner
        let usual = weights
            ? ["abcd": "oihw", "acdb": "ohwi", "abcde": "goihw", "ab": "oi", "a": "x"]
            : ["acdb": "nhwc", "abcd": "nchw", "aBcd16b": "nChw16c", "aBcd8b": "nChw8c", "aBcd4b": "nChw4c", "ab": "nc", "a": "x"]
        return usual[generic] ?? generic
    }
}

extension DNNLPrimitive {
    /// oneDNN's name for the primitive's kind (`convolution`, `reorder`, ...).
    var primitiveKind: String {
        var kind = dnnl_undefined_primitive
        _ = dnnl_primitive_desc_query(descriptor, dnnl_query_primitive_kind, 0, &kind)
        return String(cString: dnnl_prim_kind2str(kind))
    }
}
