import CDNNL

// The operation descriptors of every primitive this package creates, one function per kind and
// direction. Each takes memory descriptors (`dnnl_format_tag_any` where the primitive should
// choose), initializes oneDNN's descriptor and creates the primitive. Backward primitives take
// their forward training primitive as the hint, which oneDNN requires and uses to pick a
// consistent kernel.

extension ConvolutionGeometry {
    /// oneDNN's convolution arguments: strides, dilations (oneDNN counts the gaps, so 0 is dense)
    /// and the padding on each side.
    var dnnlStrides: [Int64] { [Int64(stride), Int64(stride)] }
    var dnnlDilations: [Int64] { [Int64(dilation - 1), Int64(dilation - 1)] }
    var dnnlPadding: [Int64] { [Int64(padding), Int64(padding)] }

    /// The weight dimensions oneDNN expects: OIHW, or `[groups, O / groups, I / groups, kH, kW]`.
    func dnnlWeightDimensions(_ weight: Shape) -> [Int] {
        groups == 1 ? weight.dimensions : [groups, weight[0] / groups, weight[1], weight[2], weight[3]]
    }

    /// PyTorch's OIHW weights (grouped: GOIHW) as a descriptor, the layout checkpoints hold.
    func dnnlUserWeights(_ weight: Shape, _ type: DType = .float32) throws -> dnnl_memory_desc_t {
        try DNNL.memoryDescriptor(dnnlWeightDimensions(weight), groups == 1 ? dnnl_oihw : dnnl_goihw, type)
    }

    /// The weights in whatever layout the primitive prefers.
    func dnnlAnyWeights(_ weight: Shape, _ type: DType = .float32) throws -> dnnl_memory_desc_t {
        try DNNL.memoryDescriptor(dnnlWeightDimensions(weight), dnnl_format_tag_any, type)
    }

    /// The NHWC output shape for an NHWC `input` and OIHW `weight`.
    func outputShape(input: Shape, weight: Shape) -> Shape {
        [input[0], outputExtent(input: input[1], kernel: weight[2]), outputExtent(input: input[2], kernel: weight[3]), weight[0]]
    }
}

extension DNNL {
    /// `withUnsafeMutablePointer` for an optional argument, passing nil when there is none.
    private static func withOptional<Result>(
        _ value: dnnl_memory_desc_t?, _ body: (UnsafeMutablePointer<dnnl_memory_desc_t>?) throws -> Result
    ) rethrows -> Result {
        guard var value else { return try body(nil) }
        return try withUnsafeMutablePointer(to: &value) { try body($0) }
    }

    // MARK: Convolution

    static func convolutionForward(
        _ kind: dnnl_prop_kind_t, source: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, bias: dnnl_memory_desc_t?,
        destination: dnnl_memory_desc_t, geometry: ConvolutionGeometry, attributes: Attributes? = nil
    ) throws -> DNNLPrimitive {
        var (source, weights, destination) = (source, weights, destination)
        var descriptor = dnnl_convolution_desc_t()
        try check(
            withOptional(bias) { bias in
                dnnl_dilated_convolution_forward_desc_init(
                    &descriptor, kind, dnnl_convolution_direct, &source, &weights, bias, &destination,
                    geometry.dnnlStrides, geometry.dnnlDilations, geometry.dnnlPadding, geometry.dnnlPadding)
            },
            "convolution descriptor")
        return try DNNLPrimitive("convolution", describedBy: &descriptor, attributes: attributes)
    }

    /// The gradient with respect to the input: a transposed convolution of the output gradient.
    static func convolutionBackwardData(
        inputGradient: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, outputGradient: dnnl_memory_desc_t,
        geometry: ConvolutionGeometry, hint: DNNLPrimitive
    ) throws -> DNNLPrimitive {
        var (source, weights, destination) = (inputGradient, weights, outputGradient)
        var descriptor = dnnl_convolution_desc_t()
        try check(
            dnnl_dilated_convolution_backward_data_desc_init(
                &descriptor, dnnl_convolution_direct, &source, &weights, &destination,
                geometry.dnnlStrides, geometry.dnnlDilations, geometry.dnnlPadding, geometry.dnnlPadding),
            "convolution backward data descriptor")
        return try DNNLPrimitive("convolution backward data", describedBy: &descriptor, hint: hint)
    }

    /// The gradients with respect to the weights and bias: correlations of input and output gradient.
    static func convolutionBackwardWeights(
        input: dnnl_memory_desc_t, weightGradient: dnnl_memory_desc_t, biasGradient: dnnl_memory_desc_t?,
        outputGradient: dnnl_memory_desc_t, geometry: ConvolutionGeometry, hint: DNNLPrimitive
    ) throws -> DNNLPrimitive {
        var (source, weights, destination) = (input, weightGradient, outputGradient)
        var descriptor = dnnl_convolution_desc_t()
        try check(
            withOptional(biasGradient) { bias in
                dnnl_dilated_convolution_backward_weights_desc_init(
                    &descriptor, dnnl_convolution_direct, &source, &weights, bias, &destination,
                    geometry.dnnlStrides, geometry.dnnlDilations, geometry.dnnlPadding, geometry.dnnlPadding)
            },
            "convolution backward weights descriptor")
        return try DNNLPrimitive("convolution backward weights", describedBy: &descriptor, hint: hint)
    }

    // MARK: Batch normalization

    static func batchNormalizationForward(
        _ kind: dnnl_prop_kind_t, data: dnnl_memory_desc_t, epsilon: Float, flags: UInt32
    ) throws -> DNNLPrimitive {
        var data = data
        var descriptor = dnnl_batch_normalization_desc_t()
        try check(dnnl_batch_normalization_forward_desc_init(&descriptor, kind, &data, epsilon, flags), "batch norm descriptor")
        return try DNNLPrimitive("batch norm", describedBy: &descriptor)
    }

    /// `dnnl_backward` (not `_data`): the scale and shift gradients come from the same pass.
    static func batchNormalizationBackward(
        data: dnnl_memory_desc_t, epsilon: Float, flags: UInt32, hint: DNNLPrimitive
    ) throws -> DNNLPrimitive {
        var (gradient, source) = (data, data)
        var descriptor = dnnl_batch_normalization_desc_t()
        try check(
            dnnl_batch_normalization_backward_desc_init(&descriptor, dnnl_backward, &gradient, &source, epsilon, flags),
            "batch norm backward descriptor")
        return try DNNLPrimitive("batch norm backward", describedBy: &descriptor, hint: hint)
    }

    // MARK: Element-wise and binary

    static func eltwiseForward(
        _ kind: dnnl_prop_kind_t, _ algorithm: dnnl_alg_kind_t, data: dnnl_memory_desc_t, alpha: Float, beta: Float
    ) throws -> DNNLPrimitive {
        var data = data
        var descriptor = dnnl_eltwise_desc_t()
        try check(dnnl_eltwise_forward_desc_init(&descriptor, kind, algorithm, &data, alpha, beta), "eltwise descriptor")
        return try DNNLPrimitive("eltwise", describedBy: &descriptor)
    }

    static func eltwiseBackward(
        _ algorithm: dnnl_alg_kind_t, data: dnnl_memory_desc_t, alpha: Float, beta: Float, hint: DNNLPrimitive
    ) throws -> DNNLPrimitive {
        var (gradient, source) = (data, data)
        var descriptor = dnnl_eltwise_desc_t()
        try check(
            dnnl_eltwise_backward_desc_init(&descriptor, algorithm, &gradient, &source, alpha, beta), "eltwise backward descriptor")
        return try DNNLPrimitive("eltwise backward", describedBy: &descriptor, hint: hint)
    }

    /// `destination = lhs ∘ rhs`, `rhs` broadcast along its dimensions of size 1.
    static func binary(
        _ algorithm: dnnl_alg_kind_t, lhs: dnnl_memory_desc_t, rhs: dnnl_memory_desc_t, destination: dnnl_memory_desc_t,
        attributes: Attributes? = nil
    ) throws -> DNNLPrimitive {
        var (lhs, rhs, destination) = (lhs, rhs, destination)
        var descriptor = dnnl_binary_desc_t()
        try check(dnnl_binary_desc_init(&descriptor, algorithm, &lhs, &rhs, &destination), "binary descriptor")
        return try DNNLPrimitive("binary", describedBy: &descriptor, attributes: attributes)
    }

    // MARK: Pooling

    /// Average pooling over windows of `kernel` (height, width) with stride 1 and no padding; a
    /// window of the whole map is a global average pool.
    static func averagePoolingForward(
        _ kind: dnnl_prop_kind_t, source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t, kernel: (Int, Int),
        attributes: Attributes? = nil
    ) throws -> DNNLPrimitive {
        var (source, destination) = (source, destination)
        var descriptor = dnnl_pooling_v2_desc_t()
        try check(
            dnnl_pooling_v2_forward_desc_init(
                &descriptor, kind, dnnl_pooling_avg_exclude_padding, &source, &destination,
                [1, 1], [Int64(kernel.0), Int64(kernel.1)], [0, 0], [0, 0], [0, 0]),
            "pooling descriptor")
        return try DNNLPrimitive("pooling", describedBy: &descriptor, attributes: attributes)
    }

    static func averagePoolingBackward(
        inputGradient: dnnl_memory_desc_t, outputGradient: dnnl_memory_desc_t, kernel: (Int, Int), hint: DNNLPrimitive
    ) throws -> DNNLPrimitive {
        var (source, destination) = (inputGradient, outputGradient)
        var descriptor = dnnl_pooling_v2_desc_t()
        try check(
            dnnl_pooling_v2_backward_desc_init(
                &descriptor, dnnl_pooling_avg_exclude_padding, &source, &destination,
                [1, 1], [Int64(kernel.0), Int64(kernel.1)], [0, 0], [0, 0], [0, 0]),
            "pooling backward descriptor")
        return try DNNLPrimitive("pooling backward", describedBy: &descriptor, hint: hint)
    }

    // MARK: Resampling

    /// Bilinear resampling of `source` to `destination`'s spatial size, half-pixel centres
    /// (PyTorch's `align_corners=False`, edges clamped).
    static func bilinearResamplingForward(
        _ kind: dnnl_prop_kind_t, source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t, attributes: Attributes? = nil
    ) throws -> DNNLPrimitive {
        var (source, destination) = (source, destination)
        var descriptor = dnnl_resampling_desc_t()
        try check(
            dnnl_resampling_forward_desc_init(&descriptor, kind, dnnl_resampling_linear, nil, &source, &destination),
            "resampling descriptor")
        return try DNNLPrimitive("resampling", describedBy: &descriptor, attributes: attributes)
    }

    // MARK: Inner product

    static func innerProductForward(
        _ kind: dnnl_prop_kind_t, source: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, bias: dnnl_memory_desc_t?,
        destination: dnnl_memory_desc_t, attributes: Attributes? = nil
    ) throws -> DNNLPrimitive {
        var (source, weights, destination) = (source, weights, destination)
        var descriptor = dnnl_inner_product_desc_t()
        try check(
            withOptional(bias) { bias in
                dnnl_inner_product_forward_desc_init(&descriptor, kind, &source, &weights, bias, &destination)
            },
            "inner product descriptor")
        return try DNNLPrimitive("inner product", describedBy: &descriptor, attributes: attributes)
    }

    static func innerProductBackwardData(
        inputGradient: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, outputGradient: dnnl_memory_desc_t,
        hint: DNNLPrimitive
    ) throws -> DNNLPrimitive {
        var (source, weights, destination) = (inputGradient, weights, outputGradient)
        var descriptor = dnnl_inner_product_desc_t()
        try check(
            dnnl_inner_product_backward_data_desc_init(&descriptor, &source, &weights, &destination),
            "inner product backward data descriptor")
        return try DNNLPrimitive("inner product backward data", describedBy: &descriptor, hint: hint)
    }

    static func innerProductBackwardWeights(
        input: dnnl_memory_desc_t, weightGradient: dnnl_memory_desc_t, biasGradient: dnnl_memory_desc_t?,
        outputGradient: dnnl_memory_desc_t, hint: DNNLPrimitive
    ) throws -> DNNLPrimitive {
        var (source, weights, destination) = (input, weightGradient, outputGradient)
        var descriptor = dnnl_inner_product_desc_t()
        try check(
            withOptional(biasGradient) { bias in
                dnnl_inner_product_backward_weights_desc_init(&descriptor, &source, &weights, bias, &destination)
            },
            "inner product backward weights descriptor")
        return try DNNLPrimitive("inner product backward weights", describedBy: &descriptor, hint: hint)
    }

    // MARK: Softmax

    /// Softmax (`dnnl_softmax_accurate`) or log-softmax (`dnnl_softmax_log`) along `axis`.
    static func softmaxForward(
        _ kind: dnnl_prop_kind_t, _ algorithm: dnnl_alg_kind_t, data: dnnl_memory_desc_t, axis: Int32
    ) throws -> DNNLPrimitive {
        var (source, destination) = (data, data)
        var descriptor = dnnl_softmax_v2_desc_t()
        try check(
            dnnl_softmax_v2_forward_desc_init(&descriptor, kind, algorithm, &source, &destination, axis), "softmax descriptor")
        return try DNNLPrimitive("softmax", describedBy: &descriptor)
    }

    /// The input gradient from the softmax's output (`destination`) and its gradient.
    static func softmaxBackward(
        _ algorithm: dnnl_alg_kind_t, data: dnnl_memory_desc_t, axis: Int32, hint: DNNLPrimitive
    ) throws -> DNNLPrimitive {
        var (inputGradient, outputGradient, output) = (data, data, data)
        var descriptor = dnnl_softmax_v2_desc_t()
        try check(
            dnnl_softmax_v2_backward_desc_init(&descriptor, algorithm, &inputGradient, &outputGradient, &output, axis),
            "softmax backward descriptor")
        return try DNNLPrimitive("softmax backward", describedBy: &descriptor, hint: hint)
    }
}
