// The backward pass of every operation as plain loops over the forward definitions, summing in
// Double: the oracle the oneDNN backward kernels and the finite-difference checks are held to.

extension ReferenceEngine {
    public func convolution2DBackwardData(
        _ outputGradient: Tensor, weight: Tensor, inputShape: Shape, geometry: ConvolutionGeometry
    ) throws -> Tensor {
        var sums = [Double](repeating: 0, count: inputShape.elementCount)
        let w = weight.storage.pointer
        forEachConvolutionTap(outputGradient.shape, weight.shape, inputShape, geometry) { inputIndex, weightIndex, outputIndex in
            sums[inputIndex] += Double(outputGradient.storage.pointer[outputIndex]) * Double(w[weightIndex])
        }
        return try Tensor(shape: inputShape, values: sums.map(Float.init))
    }

    public func convolution2DBackwardWeights(
        _ outputGradient: Tensor, input: Tensor, weightShape: Shape, hasBias: Bool, geometry: ConvolutionGeometry
    ) throws -> (weight: Tensor, bias: Tensor?) {
        var sums = [Double](repeating: 0, count: weightShape.elementCount)
        let x = input.storage.pointer, dy = outputGradient.storage.pointer
        forEachConvolutionTap(outputGradient.shape, weightShape, input.shape, geometry) { inputIndex, weightIndex, outputIndex in
            sums[weightIndex] += Double(dy[outputIndex]) * Double(x[inputIndex])
        }
        let weight = try Tensor(shape: weightShape, values: sums.map(Float.init))
        guard hasBias else { return (weight, nil) }
        // d bias[o] = the output gradient summed over batch and map.
        let outputChannels = weightShape[0]
        var biasSums = [Double](repeating: 0, count: outputChannels)
        for index in 0..<outputGradient.elementCount { biasSums[index % outputChannels] += Double(dy[index]) }
        return (weight, try Tensor(shape: [outputChannels], values: biasSums.map(Float.init)))
    }

    public func batchNormalizationBackward(
        _ outputGradient: Tensor, input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, epsilon: Float,
        statistics: NormalizationStatistics
    ) throws -> (input: Tensor, scale: Tensor, shift: Tensor) {
        let channels = input.shape[3]
        let rows = input.elementCount / max(channels, 1)
        let x = input.storage.pointer, dy = outputGradient.storage.pointer
        let means = mean.scalars.map(Double.init), gammas = scale.scalars.map(Double.init)
        let deviation = variance.scalars.map { (Double($0) + Double(epsilon)).squareRoot() }
        func normalized(_ index: Int) -> Double {
            let c = index % channels
            return (Double(x[index]) - means[c]) / deviation[c]
        }
        // dβ = Σ dy and dγ = Σ dy · x̂ over everything but the channel.
        var shiftSums = [Double](repeating: 0, count: channels)
        var scaleSums = [Double](repeating: 0, count: channels)
        for index in 0..<input.elementCount {
            shiftSums[index % channels] += Double(dy[index])
            scaleSums[index % channels] += Double(dy[index]) * normalized(index)
        }
        var inputGradient = Tensor(uninitializedShape: input.shape)
        inputGradient.withUnsafeMutableBufferPointer { dx in
            for index in 0..<input.elementCount {
                let c = index % channels
                var centered = Double(dy[index])
                if statistics == .batch {
                    // The batch mean and variance depend on every input: their part of the chain rule
                    // removes the gradient's mean and its projection on x̂.
                    centered -= (shiftSums[c] + normalized(index) * scaleSums[c]) / Double(rows)
                }
                dx[index] = Float(gammas[c] / deviation[c] * centered)
            }
        }
        return (inputGradient,
                try Tensor(shape: [channels], values: scaleSums.map(Float.init)),
                try Tensor(shape: [channels], values: shiftSums.map(Float.init)))
    }

    public func activationBackward(_ outputGradient: Tensor, input: Tensor, _ kind: Activation) throws -> Tensor {
        var result = outputGradient
        result.withUnsafeMutableBufferPointer { dx in
            input.withUnsafeBufferPointer { x in
                for index in dx.indices { dx[index] *= kind.derivative(x[index]) }
            }
        }
        return result
    }

    public func multiplyChannelsScaleGradient(_ outputGradient: Tensor, input: Tensor) throws -> Tensor {
        let (batch, channels) = (input.shape[0], input.shape[3])
        let perSample = input.elementCount / max(batch, 1)
        var sums = [Double](repeating: 0, count: batch * channels)
        let x = input.storage.pointer, dy = outputGradient.storage.pointer
        for index in 0..<input.elementCount {
            sums[index / perSample * channels + index % channels] += Double(dy[index]) * Double(x[index])
        }
        return try Tensor(shape: [batch, 1, 1, channels], values: sums.map(Float.init))
    }

    public func globalAveragePoolBackward(_ outputGradient: Tensor, inputShape: Shape) throws -> Tensor {
        let (height, width, channels) = (inputShape[1], inputShape[2], inputShape[3])
        let area = Float(height * width)
        let dy = outputGradient.storage.pointer
        return Tensor(shape: inputShape) { index in
            let n = index / (height * width * channels), c = index % channels
            return dy[n * channels + c] / area
        }
    }

    public func linearBackwardData(_ outputGradient: Tensor, weight: Tensor) throws -> Tensor {
        let (batch, outputs, inputs) = (outputGradient.shape[0], weight.shape[0], weight.shape[1])
        let dy = outputGradient.storage.pointer, w = weight.storage.pointer
        return Tensor(shape: [batch, inputs]) { index in
            let (n, i) = (index / inputs, index % inputs)
            var sum = 0.0
            for o in 0..<outputs { sum += Double(dy[n * outputs + o]) * Double(w[o * inputs + i]) }
            return Float(sum)
        }
    }

    public func linearBackwardWeights(_ outputGradient: Tensor, input: Tensor, hasBias: Bool) throws -> (weight: Tensor, bias: Tensor?) {
        let (batch, outputs, inputs) = (outputGradient.shape[0], outputGradient.shape[1], input.shape[1])
        let dy = outputGradient.storage.pointer, x = input.storage.pointer
        let weight = Tensor(shape: [outputs, inputs]) { index in
            let (o, i) = (index / inputs, index % inputs)
            var sum = 0.0
            for n in 0..<batch { sum += Double(dy[n * outputs + o]) * Double(x[n * inputs + i]) }
            return Float(sum)
        }
        guard hasBias else { return (weight, nil) }
        let bias = Tensor(shape: [outputs]) { o in
            Float((0..<batch).reduce(0.0) { $0 + Double(dy[$1 * outputs + o]) })
        }
        return (weight, bias)
    }

    public func softmaxBackward(_ outputGradient: Tensor, output: Tensor) throws -> Tensor {
        let (batch, classes) = (output.shape[0], output.shape[1])
        let dy = outputGradient.storage.pointer, y = output.storage.pointer
        // dx = y ⊙ (dy - Σ dy · y), row by row.
        let dots = (0..<batch).map { n in
            (0..<classes).reduce(0.0) { $0 + Double(dy[n * classes + $1]) * Double(y[n * classes + $1]) }
        }
        return Tensor(shape: output.shape) { index in
            Float(Double(y[index]) * (Double(dy[index]) - dots[index / classes]))
        }
    }
}
