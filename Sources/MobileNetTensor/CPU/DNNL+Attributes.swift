import CDNNL

// What a primitive does besides its operation: post-ops fused at its end, where its scratch
// space comes from; and the algorithm choices that map this package's concepts to oneDNN's.

extension Propagation {
    /// oneDNN's forward propagation kind.
    var forwardKind: dnnl_prop_kind_t {
        self == .training ? dnnl_forward_training : dnnl_forward_inference
    }
}

extension DNNL {
    /// Work fused into the end of a primitive, in order.
    enum PostOperation {
        /// `result = scale · (destination - zeroPoint) + result`: adds what the destination
        /// buffer already holds (in int8, `scale` and `zeroPoint` bring it to the result's units).
        case sum(scale: Float, zeroPoint: Int32 = 0)
        /// An element-wise function of the result so far.
        case eltwise(dnnl_alg_kind_t, alpha: Float, beta: Float)
        /// `result = result ∘ operand`, the operand (of this layout, broadcast along its
        /// dimensions of size 1) passed at execution as
        /// `postOperationArgument(position) | DNNL_ARG_SRC_1`.
        case binary(dnnl_alg_kind_t, dnnl_memory_desc_t)

        /// An activation as the eltwise post-ops that compute it.
        static func activation(_ kind: Activation) -> [PostOperation] {
            eltwiseSteps(kind).map { .eltwise($0.0, alpha: $0.1, beta: $0.2) }
        }
    }

    /// An activation as oneDNN eltwise algorithms `(algorithm, alpha, beta)`, applied in order.
    /// oneDNN 2.6 has no hard-sigmoid, so it runs as `x / 6 + 0.5` followed by a clip to [0, 1].
    static func eltwiseSteps(_ kind: Activation) -> [(dnnl_alg_kind_t, Float, Float)] {
        switch kind {
        case .identity: []
        case .relu: [(dnnl_eltwise_relu, 0, 0)]
        case .relu6: [(dnnl_eltwise_clip_v2, 0, 6)]
        case .hardSwish: [(dnnl_eltwise_hardswish, 0, 0)]
        case .hardSigmoid: [(dnnl_eltwise_linear, 1.0 / 6.0, 0.5), (dnnl_eltwise_clip_v2, 0, 1)]
        case .sigmoid: [(dnnl_eltwise_logistic, 0, 0)]
        }
    }

    /// The eltwise steps of `kind` on values in units of `scale` (`v / scale`): ReLU as it is,
    /// ReLU6's clip at `6 / scale`; nil for the activations that are not piecewise linear
    /// through 0 (hard-swish, hard-sigmoid), which need real values.
    static func eltwiseSteps(_ kind: Activation, unitsOf scale: Float) -> [(dnnl_alg_kind_t, Float, Float)]? {
        switch kind {
        case .identity: []
        case .relu: [(dnnl_eltwise_relu, 0, 0)]
        case .relu6: [(dnnl_eltwise_clip_v2, 0, 6 / scale)]
        case .hardSwish, .hardSigmoid, .sigmoid: nil
        }
    }

    /// Batch-norm flags: learned scale and shift, and the given running statistics unless
    /// `batchStatistics` (training mode, which computes the batch's own).
    static func batchNormalizationFlags(batchStatistics: Bool) -> UInt32 {
        let flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        return batchStatistics ? flags : flags | dnnl_use_global_stats.rawValue
    }

    /// The execution argument of the operand of the post-op at `position` in the chain
    /// (`DNNL_ARG_ATTR_MULTIPLE_POST_OP`, a macro Swift does not import).
    static func postOperationArgument(_ position: Int) -> Int32 {
        Int32(DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE) * Int32(position + 1)
    }

    /// Scales an int8 primitive applies, in oneDNN 2.x's terms: output scales multiply the
    /// accumulated result (one per output channel, or one for all), argument scales one input
    /// (a binary primitive's `DNNL_ARG_SRC_0`). oneDNN 3.x replaces both with per-argument scales of
    /// source, weights and destination; ``GraphQuantization/Layer`` keeps that shape and this is
    /// the one place that translates it.
    struct Scales {
        var output: [Float] = []
        /// `1 << 1` for per-output-channel scales (dimension 1 of the destination), 0 for one.
        var outputMask: Int32 = 0
        var arguments: [(argument: Int32, scale: Float)] = []
        /// One zero point for all of an argument (`DNNL_ARG_SRC`, `DNNL_ARG_DST`): the integer
        /// that stands for 0, which oneDNN subtracts from a source (compensating the sums
        /// exactly) and adds to a destination before rounding.
        var zeroPoints: [(argument: Int32, zeroPoint: Int32)] = []
    }

    /// A primitive's attributes: `post` fused at its end and, with `userScratchpad`, scratch space
    /// the caller passes at each execution (`DNNL_ARG_SCRATCHPAD`) instead of oneDNN's own buffer,
    /// which is shared between threads; `scales` for int8 primitives.
    final class Attributes {
        let attributes: dnnl_primitive_attr_t

        init(post: [PostOperation] = [], userScratchpad: Bool = false, scales: Scales = Scales()) throws {
            var attributes: dnnl_primitive_attr_t?
            try DNNL.check(dnnl_primitive_attr_create(&attributes), "attributes")
            guard let attributes else { throw TensorError.engineFailure(operation: "attributes", status: "none") }
            self.attributes = attributes
            if userScratchpad {
                try DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "scratchpad mode")
            }
            if !scales.output.isEmpty {
                try DNNL.check(
                    dnnl_primitive_attr_set_output_scales(attributes, Int64(scales.output.count), scales.outputMask, scales.output),
                    "output scales")
            }
            for (argument, scale) in scales.arguments {
                var value = scale
                try DNNL.check(dnnl_primitive_attr_set_scales(attributes, argument, 1, 0, &value), "argument scales")
            }
            for (argument, zeroPoint) in scales.zeroPoints {
                var value = zeroPoint
                try DNNL.check(dnnl_primitive_attr_set_zero_points(attributes, argument, 1, 0, &value), "zero points")
            }
            guard !post.isEmpty else { return }
            var operations: dnnl_post_ops_t?
            try DNNL.check(dnnl_post_ops_create(&operations), "post-ops")
            defer { dnnl_post_ops_destroy(operations) }
            for operation in post {
                switch operation {
                case let .sum(scale, 0):
                    try DNNL.check(dnnl_post_ops_append_sum(operations, scale), "sum post-op")
                case let .sum(scale, zeroPoint):
                    try DNNL.check(dnnl_post_ops_append_sum_v3(operations, scale, zeroPoint, dnnl_data_type_undef), "sum post-op")
                case let .eltwise(algorithm, alpha, beta):
                    try DNNL.check(dnnl_post_ops_append_eltwise(operations, 1, algorithm, alpha, beta), "eltwise post-op")
                case let .binary(algorithm, operand):
                    var operand = operand
                    try DNNL.check(dnnl_post_ops_append_binary(operations, algorithm, &operand), "binary post-op")
                }
            }
            try DNNL.check(dnnl_primitive_attr_set_post_ops(attributes, operations), "post-op attributes")
        }

        deinit {
            dnnl_primitive_attr_destroy(attributes)
        }
    }
}
