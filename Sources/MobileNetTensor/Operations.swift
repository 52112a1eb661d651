// The tensor operations MobileNets are made of. Each function checks its operands' shapes, so a
// wrong shape is a typed error naming the operation, and then runs on `Engine.current`. When a
// `GradientTape` tracks an operand, the operation runs its training form and records its backward
// rule (GradientTape+Operations.swift); otherwise it runs exactly as without autograd.

/// A 2-D convolution of an NHWC input with OIHW weights (PyTorch's `F.conv2d`, channels last).
public func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, geometry: ConvolutionGeometry) throws -> Tensor {
    let operation = "conv2d"
    try input.expectRank(4, layout: "NHWC", for: operation)
    try weight.expectRank(4, layout: "OIHW", for: operation + " weight")
    let channels = input.shape[3]
    let outputChannels = weight.shape[0]
    guard geometry.groups >= 1, channels % geometry.groups == 0, outputChannels % geometry.groups == 0 else {
        throw TensorError.invalidArgument(
            operation: operation, argument: "groups",
            reason: "\(geometry.groups) must divide input channels \(channels) and output channels \(outputChannels)")
    }
    guard weight.shape[1] == channels / geometry.groups else {
        throw TensorError.shapeMismatch(
            operation: operation + " weight",
            expected: "[\(outputChannels), \(channels / geometry.groups), kH, kW] for \(channels) input channels in \(geometry.groups) groups",
            actual: weight.shape)
    }
    guard geometry.stride >= 1, geometry.dilation >= 1, geometry.padding >= 0 else {
        throw TensorError.invalidArgument(
            operation: operation, argument: "geometry", reason: "\(geometry) needs stride ≥ 1, dilation ≥ 1, padding ≥ 0")
    }
    let outputHeight = geometry.outputExtent(input: input.shape[1], kernel: weight.shape[2])
    let outputWidth = geometry.outputExtent(input: input.shape[2], kernel: weight.shape[3])
    guard outputHeight >= 1, outputWidth >= 1 else {
        throw TensorError.shapeMismatch(
            operation: operation,
            expected: "an input map of at least the dilated kernel's size \(weight.shape[2])x\(weight.shape[3]) after padding",
            actual: input.shape)
    }
    if let bias {
        try bias.expectShape([outputChannels], for: operation + " bias")
    }
    if let tape = GradientTape.recording(input, weight, bias) {
        return try tape.convolution2D(input, weight: weight, bias: bias, geometry: geometry)
    }
    return try Engine.current.convolution2D(input, weight: weight, bias: bias, geometry: geometry)
}

/// Checks that every per-channel tensor of a batch norm is `[C]` for an NHWC input.
private func validateBatchNorm(_ input: Tensor, _ perChannel: [(String, Tensor)]) throws {
    try input.expectRank(4, layout: "NHWC", for: "batchNorm")
    let channels = input.shape[3]
    for (name, tensor) in perChannel {
        try tensor.expectShape([channels], for: "batchNorm \(name)")
    }
}

/// Batch normalization with fixed statistics (inference): `(x - mean) / sqrt(variance + epsilon) * scale + shift`.
public func batchNorm(
    _ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
) throws -> Tensor {
    try validateBatchNorm(input, [("mean", mean), ("variance", variance), ("scale", scale), ("shift", shift)])
    if let tape = GradientTape.recording(input, scale, shift) {
        return try tape.batchNormalization(
            input, mean: mean, variance: variance, scale: scale, shift: shift, epsilon: epsilon)
    }
    return try Engine.current.batchNormalization(
        input, mean: mean, variance: variance, scale: scale, shift: shift, epsilon: epsilon)
}

/// Batch normalization with the batch's own statistics (training). The variance returned is the
/// biased one used to normalize.
public func batchNormTraining(
    _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
) throws -> (output: Tensor, mean: Tensor, variance: Tensor) {
    try validateBatchNorm(input, [("scale", scale), ("shift", shift)])
    if let tape = GradientTape.recording(input, scale, shift) {
        return try tape.batchNormalizationTraining(input, scale: scale, shift: shift, epsilon: epsilon)
    }
    return try Engine.current.batchNormalizationTraining(input, scale: scale, shift: shift, epsilon: epsilon)
}

/// Applies `kind` to every element.
public func activation(_ input: Tensor, _ kind: Activation) throws -> Tensor {
    if kind == .identity { return input }
    if let tape = GradientTape.recording(input) {
        return try tape.activation(input, kind)
    }
    return try Engine.current.activation(input, kind)
}

public func relu(_ input: Tensor) throws -> Tensor { try activation(input, .relu) }
public func relu6(_ input: Tensor) throws -> Tensor { try activation(input, .relu6) }
public func hardSwish(_ input: Tensor) throws -> Tensor { try activation(input, .hardSwish) }
public func hardSigmoid(_ input: Tensor) throws -> Tensor { try activation(input, .hardSigmoid) }

/// Element-wise sum, e.g. an inverted residual's shortcut.
public func add(_ lhs: Tensor, _ rhs: Tensor) throws -> Tensor {
    try rhs.expectShape(lhs.shape, for: "add")
    if let tape = GradientTape.recording(lhs, rhs) {
        return try tape.add(lhs, rhs)
    }
    return try Engine.current.add(lhs, rhs)
}

/// Scales each channel of an NHWC map by a per-sample, per-channel factor `[N, 1, 1, C]`:
/// the excitation step of squeeze-and-excitation.
public func multiplyChannels(_ input: Tensor, by scale: Tensor) throws -> Tensor {
    try input.expectRank(4, layout: "NHWC", for: "multiplyChannels")
    try scale.expectShape([input.shape[0], 1, 1, input.shape[3]], for: "multiplyChannels scale")
    if let tape = GradientTape.recording(input, scale) {
        return try tape.multiplyChannels(input, by: scale)
    }
    return try Engine.current.multiplyChannels(input, by: scale)
}

/// Averages each channel's map: `[N, H, W, C]` to `[N, 1, 1, C]`.
public func globalAveragePool(_ input: Tensor) throws -> Tensor {
    try input.expectRank(4, layout: "NHWC", for: "globalAveragePool")
    if let tape = GradientTape.recording(input) {
        return try tape.globalAveragePool(input)
    }
    return try Engine.current.globalAveragePool(input)
}

/// A fully connected layer: `input [N, I]`, `weight [O, I]` (PyTorch's order), `bias [O]`.
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
    try input.expectRank(2, layout: "[batch, features]", for: "linear")
    try weight.expectShape([weight.shape.first ?? 0, input.shape[1]], for: "linear weight")
    if let bias {
        try bias.expectShape([weight.shape[0]], for: "linear bias")
    }
    if let tape = GradientTape.recording(input, weight, bias) {
        return try tape.linear(input, weight: weight, bias: bias)
    }
    return try Engine.current.linear(input, weight: weight, bias: bias)
}

/// Joins `tensors` along `axis` (`torch.cat`): every other dimension must agree. SSD joins the
/// predictions of its six feature maps so, `[N, anchors_i, K]` into `[N, anchors, K]`.
public func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor {
    let operation = "concatenate"
    guard let first = tensors.first else {
        throw TensorError.invalidArgument(operation: operation, argument: "tensors", reason: "needs at least one tensor")
    }
    guard (0..<first.shape.count).contains(axis) else {
        throw TensorError.invalidArgument(
            operation: operation, argument: "axis", reason: "\(axis) is not an axis of a rank-\(first.shape.count) tensor")
    }
    for (position, tensor) in tensors.enumerated().dropFirst() {
        var expected = first.shape
        expected.dimensions[axis] = tensor.shape.count == first.shape.count ? tensor.shape[axis] : -1
        guard tensor.shape == expected else {
            throw TensorError.shapeMismatch(
                operation: operation + " operand \(position)",
                expected: "\(first.shape) in every dimension but \(axis)", actual: tensor.shape)
        }
    }
    if tensors.count == 1 { return first }
    if let tape = GradientTape.recording(tensors) {
        return try tape.concatenate(tensors, axis: axis)
    }
    return try Engine.current.concatenate(tensors, axis: axis)
}

/// Resamples an NHWC map to `height` × `width` by bilinear interpolation, as PyTorch's
/// `F.interpolate(mode="bilinear", align_corners=False)` (no antialiasing): torchvision's
/// detection transform resizes pictures so, and LR-ASPP upsamples its predictions so.
public func resizeBilinear(_ input: Tensor, height: Int, width: Int) throws -> Tensor {
    try input.expectRank(4, layout: "NHWC", for: "resizeBilinear")
    guard height >= 1, width >= 1, input.shape[1] >= 1, input.shape[2] >= 1 else {
        throw TensorError.invalidArgument(
            operation: "resizeBilinear", argument: "size",
            reason: "\(input.shape[1])x\(input.shape[2]) to \(height)x\(width) needs sides of at least 1")
    }
    if let tape = GradientTape.recording(input) {
        return try tape.resizeBilinear(input, height: height, width: width)
    }
    return try Engine.current.resizeBilinear(input, height: height, width: width)
}

/// Softmax over the last axis of `[N, K]` logits.
public func softmax(_ input: Tensor) throws -> Tensor {
    try input.expectRank(2, layout: "[batch, classes]", for: "softmax")
    if let tape = GradientTape.recording(input) {
        return try tape.softmax(input)
    }
    return try Engine.current.softmax(input)
}

/// Zeroes each element with probability `probability` and scales the survivors by
/// `1 / (1 - probability)` (inverted dropout, as PyTorch). Only used in training.
public func dropout<Generator: RandomNumberGenerator>(
    _ input: Tensor, probability: Double, using generator: inout Generator
) throws -> Tensor {
    guard probability >= 0, probability < 1 else {
        throw TensorError.invalidArgument(operation: "dropout", argument: "probability", reason: "\(probability) is not in [0, 1)")
    }
    if probability == 0 { return input }
    let keepScale = Float(1 / (1 - probability))
    // The mask holds each element's factor, 0 or 1 / (1 - p); backward multiplies by it again.
    var mask = Tensor(uninitializedShape: input.shape)
    mask.withUnsafeMutableBufferPointer { factors in
        for index in factors.indices {
            factors[index] = Double.random(in: 0..<1, using: &generator) < probability ? 0 : keepScale
        }
    }
    let output = applyDropoutMask(input, mask)
    guard let tape = GradientTape.recording(input) else { return output }
    return tape.recordOperation("dropout", inputs: [input], output: output) { gradient, _ in
        [applyDropoutMask(gradient, mask)]
    }
}

/// `values` times `mask` element by element, with dropped elements exactly 0 (even for inf or NaN).
private func applyDropoutMask(_ values: Tensor, _ mask: Tensor) -> Tensor {
    var result = values
    result.withUnsafeMutableBufferPointer { elements in
        mask.withUnsafeBufferPointer { factors in
            for index in elements.indices {
                elements[index] = factors[index] == 0 ? 0 : elements[index] * factors[index]
            }
        }
    }
    return result
}

/// Reorders an NHWC tensor to NCHW (PyTorch's activation layout).
public func nhwcToNCHW(_ input: Tensor) throws -> Tensor {
    try input.expectRank(4, layout: "NHWC", for: "nhwcToNCHW")
    let (n, h, w, c) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    var result = Tensor(uninitializedShape: [n, c, h, w])
    input.withUnsafeBufferPointer { source in
        result.withUnsafeMutableBufferPointer { target in
            for b in 0..<n { for y in 0..<h { for x in 0..<w { for k in 0..<c {
                target[((b * c + k) * h + y) * w + x] = source[((b * h + y) * w + x) * c + k]
            } } } }
        }
    }
    guard let tape = GradientTape.recording(input) else { return result }
    return tape.recordOperation("nhwcToNCHW", inputs: [input], output: result) { gradient, _ in
        [try nchwToNHWC(gradient)]
    }
}

/// Reorders an NCHW tensor (PyTorch's activation layout) to NHWC.
public func nchwToNHWC(_ input: Tensor) throws -> Tensor {
    try input.expectRank(4, layout: "NCHW", for: "nchwToNHWC")
    let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    var result = Tensor(uninitializedShape: [n, h, w, c])
    input.withUnsafeBufferPointer { source in
        result.withUnsafeMutableBufferPointer { target in
            for b in 0..<n { for k in 0..<c { for y in 0..<h { for x in 0..<w {
                target[((b * h + y) * w + x) * c + k] = source[((b * c + k) * h + y) * w + x]
            } } } }
        }
    }
    guard let tape = GradientTape.recording(input) else { return result }
    return tape.recordOperation("nchwToNHWC", inputs: [input], output: result) { gradient, _ in
        [try nhwcToNCHW(gradient)]
    }
}
