// The recorded (training) form of each operation in Operations.swift: run the forward pass for
// training on the current engine, then record the rule that maps the output's gradient to the
// operands'. The operands are already validated. Each rule keeps the engine of its forward pass,
// so a model run on the reference engine is also differentiated by it.

extension GradientTape {
    func convolution2D(_ input: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvolutionGeometry) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.convolution2D(input, weight: weight, bias: bias, geometry: geometry, propagation: .training)
        let hasBias = bias != nil
        return recordOperation("conv2d", inputs: [input, weight, bias], output: output) { gradient, needs in
            let inputGradient = needs[0]
                ? try engine.convolution2DBackwardData(gradient, weight: weight, inputShape: input.shape, geometry: geometry)
                : nil
            guard needs[1] || needs[2] else { return [inputGradient, nil, nil] }
            let parameters = try engine.convolution2DBackwardWeights(
                gradient, input: input, weightShape: weight.shape, hasBias: hasBias, geometry: geometry)
            return [inputGradient, parameters.weight, parameters.bias]
        }
    }

    func batchNormalization(
        _ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.batchNormalization(
            input, mean: mean, variance: variance, scale: scale, shift: shift, epsilon: epsilon, propagation: .training)
        return recordOperation("batchNorm", inputs: [input, scale, shift], output: output) { gradient, _ in
            let result = try engine.batchNormalizationBackward(
                gradient, input: input, mean: mean, variance: variance, scale: scale, epsilon: epsilon, statistics: .fixed)
            return [result.input, result.scale, result.shift]
        }
    }

    func batchNormalizationTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> (output: Tensor, mean: Tensor, variance: Tensor) {
        let engine = Engine.current
        let (output, mean, variance) = try engine.batchNormalizationTraining(input, scale: scale, shift: shift, epsilon: epsilon)
        let tracked = recordOperation("batchNorm (training)", inputs: [input, scale, shift], output: output) { gradient, _ in
            let result = try engine.batchNormalizationBackward(
                gradient, input: input, mean: mean, variance: variance, scale: scale, epsilon: epsilon, statistics: .batch)
            return [result.input, result.scale, result.shift]
        }
        return (tracked, mean, variance)
    }

    func activation(_ input: Tensor, _ kind: Activation) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.activation(input, kind, propagation: .training)
        return recordOperation("activation \(kind)", inputs: [input], output: output) { gradient, _ in
            [try engine.activationBackward(gradient, input: input, kind)]
        }
    }

    func add(_ lhs: Tensor, _ rhs: Tensor) throws -> Tensor {
        let output = try Engine.current.add(lhs, rhs)
        // Both operands receive the output's gradient as it is (shared storage, no copy).
        return recordOperation("add", inputs: [lhs, rhs], output: output) { gradient, _ in [gradient, gradient] }
    }

    func multiplyChannels(_ input: Tensor, by scale: Tensor) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.multiplyChannels(input, by: scale)
        return recordOperation("multiplyChannels", inputs: [input, scale], output: output) { gradient, needs in
            [
                needs[0] ? try engine.multiplyChannels(gradient, by: scale) : nil,
                needs[1] ? try engine.multiplyChannelsScaleGradient(gradient, input: input) : nil,
            ]
        }
    }

    func globalAveragePool(_ input: Tensor) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.globalAveragePool(input, propagation: .training)
        let inputShape = input.shape
        return recordOperation("globalAveragePool", inputs: [input], output: output) { gradient, _ in
            [try engine.globalAveragePoolBackward(gradient, inputShape: inputShape)]
        }
    }

    func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.linear(input, weight: weight, bias: bias, propagation: .training)
        let hasBias = bias != nil
        return recordOperation("linear", inputs: [input, weight, bias], output: output) { gradient, needs in
            let inputGradient = needs[0] ? try engine.linearBackwardData(gradient, weight: weight) : nil
            guard needs[1] || needs[2] else { return [inputGradient, nil, nil] }
            let parameters = try engine.linearBackwardWeights(gradient, input: input, hasBias: hasBias)
            return [inputGradient, parameters.weight, parameters.bias]
        }
    }

    func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.concatenate(tensors, axis: axis)
        let sizes = tensors.map { $0.shape[axis] }
        return recordOperation("concatenate", inputs: tensors, output: output) { gradient, _ in
            try engine.split(gradient, axis: axis, sizes: sizes)
        }
    }

    func resizeBilinear(_ input: Tensor, height: Int, width: Int) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.resizeBilinear(input, height: height, width: width)
        let inputShape = input.shape
        return recordOperation("resizeBilinear", inputs: [input], output: output) { gradient, _ in
            [try engine.resizeBilinearBackward(gradient, inputShape: inputShape)]
        }
    }

    func softmax(_ input: Tensor) throws -> Tensor {
        let engine = Engine.current
        let output = try engine.softmax(input, propagation: .training)
        return recordOperation("softmax", inputs: [input], output: output) { gradient, _ in
            [try engine.softmaxBackward(gradient, output: output)]
        }
    }
}
