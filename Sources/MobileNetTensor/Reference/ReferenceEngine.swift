#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every operation as plain Swift loops, written to be read: the definition each fast kernel
/// is tested against. Slow; use it on small shapes.
///
/// Sums accumulate in `Double` so that the reference is more accurate than the kernels under test.
public struct ReferenceEngine: ComputeEngine {
    public var name: String { "reference" }

    public init() {}

    // The reference engine keeps no state between passes, so `propagation` changes nothing here.

    public func convolution2D(
        _ input: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvolutionGeometry, propagation: Propagation
    ) throws -> Tensor {
        let outputChannels = weight.shape[0]
        let outputShape: Shape = [
            input.shape[0],
            geometry.outputExtent(input: input.shape[1], kernel: weight.shape[2]),
            geometry.outputExtent(input: input.shape[2], kernel: weight.shape[3]),
            outputChannels,
        ]
        // Each output starts at its bias and gathers its taps; the backward passes walk the same taps.
        var sums = [Double](repeating: 0, count: outputShape.elementCount)
        if let bias {
            for index in sums.indices { sums[index] = Double(bias.storage.pointer[index % outputChannels]) }
        }
        let x = input.storage.pointer, w = weight.storage.pointer
        forEachConvolutionTap(outputShape, weight.shape, input.shape, geometry) { inputIndex, weightIndex, outputIndex in
            sums[outputIndex] += Double(x[inputIndex]) * Double(w[weightIndex])
        }
        return try Tensor(shape: outputShape, values: sums.map(Float.init))
    }

    /// Calls `body(inputIndex, weightIndex, outputIndex)` for every product a convolution forms:
    /// the definition of which input a kernel tap reads, shared by the forward and backward passes.
    func forEachConvolutionTap(
        _ outputShape: Shape, _ weightShape: Shape, _ inputShape: Shape, _ geometry: ConvolutionGeometry,
        _ body: (Int, Int, Int) -> Void
    ) {
        let (batch, height, width, channels) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (outputChannels, groupChannels, kernelHeight, kernelWidth) = (weightShape[0], weightShape[1], weightShape[2], weightShape[3])
        let (outputHeight, outputWidth) = (outputShape[1], outputShape[2])
        let outputsPerGroup = outputChannels / geometry.groups
        for n in 0..<batch {
            for oy in 0..<outputHeight {
                for ox in 0..<outputWidth {
                    for o in 0..<outputChannels {
                        let outputIndex = ((n * outputHeight + oy) * outputWidth + ox) * outputChannels + o
                        let group = o / outputsPerGroup
                        for ky in 0..<kernelHeight {
                            let iy = oy * geometry.stride - geometry.padding + ky * geometry.dilation
                            if iy < 0 || iy >= height { continue }
                            for kx in 0..<kernelWidth {
                                let ix = ox * geometry.stride - geometry.padding + kx * geometry.dilation
                                if ix < 0 || ix >= width { continue }
                                for i in 0..<groupChannels {
                                    let c = group * groupChannels + i
                                    body(((n * height + iy) * width + ix) * channels + c,
                                         ((o * groupChannels + i) * kernelHeight + ky) * kernelWidth + kx,
                                         outputIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func batchNormalization(
        _ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor, epsilon: Float,
        propagation: Propagation
    ) throws -> Tensor {
        normalize(input, mean: mean.scalars.map(Double.init), variance: variance.scalars.map(Double.init),
                  scale: scale, shift: shift, epsilon: epsilon)
    }

    public func batchNormalizationTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> (output: Tensor, mean: Tensor, variance: Tensor) {
        let channels = input.shape[3]
        let rows = input.elementCount / max(channels, 1)
        var mean = [Double](repeating: 0, count: channels)
        var variance = [Double](repeating: 0, count: channels)
        input.withUnsafeBufferPointer { x in
            for row in 0..<rows { for c in 0..<channels { mean[c] += Double(x[row * channels + c]) } }
            for c in 0..<channels { mean[c] /= Double(rows) }
            for row in 0..<rows {
                for c in 0..<channels {
                    let centered = Double(x[row * channels + c]) - mean[c]
                    variance[c] += centered * centered
                }
            }
            for c in 0..<channels { variance[c] /= Double(rows) }
        }
        let output = normalize(input, mean: mean, variance: variance, scale: scale, shift: shift, epsilon: epsilon)
        return (output, try Tensor(shape: [channels], values: mean.map(Float.init)),
                try Tensor(shape: [channels], values: variance.map(Float.init)))
    }

    private func normalize(
        _ input: Tensor, mean: [Double], variance: [Double], scale: Tensor, shift: Tensor, epsilon: Float
    ) -> Tensor {
        let channels = input.shape[3]
        var output = Tensor(uninitializedShape: input.shape)
        let x = input.storage.pointer, gamma = scale.storage.pointer, beta = shift.storage.pointer
        output.withUnsafeMutableBufferPointer { y in
            for index in 0..<input.elementCount {
                let c = index % channels
                let normalized = (Double(x[index]) - mean[c]) / (variance[c] + Double(epsilon)).squareRoot()
                y[index] = Float(normalized * Double(gamma[c]) + Double(beta[c]))
            }
        }
        return output
    }

    public func activation(_ input: Tensor, _ kind: Activation, propagation: Propagation) throws -> Tensor {
        var output = input
        output.withUnsafeMutableBufferPointer { values in
            for index in values.indices { values[index] = kind.apply(values[index]) }
        }
        return output
    }

    public func add(_ lhs: Tensor, _ rhs: Tensor) throws -> Tensor {
        var output = lhs
        output.withUnsafeMutableBufferPointer { values in
            for index in values.indices { values[index] += rhs.storage.pointer[index] }
        }
        return output
    }

    public func multiplyChannels(_ input: Tensor, by scale: Tensor) throws -> Tensor {
        let channels = input.shape[3]
        let perSample = input.elementCount / max(input.shape[0], 1)
        var output = input
        output.withUnsafeMutableBufferPointer { values in
            for index in values.indices {
                let n = index / perSample, c = index % channels
                values[index] *= scale.storage.pointer[n * channels + c]
            }
        }
        return output
    }

    public func globalAveragePool(_ input: Tensor, propagation: Propagation) throws -> Tensor {
        let (batch, height, width, channels) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        var output = Tensor(uninitializedShape: [batch, 1, 1, channels])
        let x = input.storage.pointer
        output.withUnsafeMutableBufferPointer { y in
            for n in 0..<batch {
                for c in 0..<channels {
                    var sum = 0.0
                    for pixel in 0..<(height * width) { sum += Double(x[(n * height * width + pixel) * channels + c]) }
                    y[n * channels + c] = Float(sum / Double(height * width))
                }
            }
        }
        return output
    }

    public func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, propagation: Propagation) throws -> Tensor {
        let (batch, inputs, outputs) = (input.shape[0], input.shape[1], weight.shape[0])
        var output = Tensor(uninitializedShape: [batch, outputs])
        let x = input.storage.pointer, w = weight.storage.pointer, b = bias?.storage.pointer
        output.withUnsafeMutableBufferPointer { y in
            for n in 0..<batch {
                for o in 0..<outputs {
                    var sum = Double(b?[o] ?? 0)
                    for i in 0..<inputs { sum += Double(x[n * inputs + i]) * Double(w[o * inputs + i]) }
                    y[n * outputs + o] = Float(sum)
                }
            }
        }
        return output
    }

    public func softmax(_ input: Tensor, propagation: Propagation) throws -> Tensor {
        rowwiseLogSoftmax(input) { exp($0) }
    }

    public func logSoftmax(_ input: Tensor) throws -> Tensor {
        rowwiseLogSoftmax(input) { $0 }
    }

    /// `x - max - log Σ exp(x - max)` per row of `[N, K]`, in Double, then `transform`: no
    /// probability is formed (and rounded to 0) before its logarithm is taken.
    private func rowwiseLogSoftmax(_ input: Tensor, _ transform: (Double) -> Double) -> Tensor {
        let (batch, classes) = (input.shape[0], input.shape[1])
        var output = Tensor(uninitializedShape: input.shape)
        let x = input.storage.pointer
        output.withUnsafeMutableBufferPointer { y in
            for n in 0..<batch {
                let row = (0..<classes).map { Double(x[n * classes + $0]) }
                let largest = row.max() ?? 0
                let logTotal = log(row.reduce(0) { $0 + exp($1 - largest) })
                for k in 0..<classes { y[n * classes + k] = Float(transform(row[k] - largest - logTotal)) }
            }
        }
        return output
    }
}
