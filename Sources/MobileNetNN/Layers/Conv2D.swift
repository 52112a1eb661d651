import MobileNetTensor

/// A 2-D convolution over NHWC input, with PyTorch's `nn.Conv2d` parameters and weight layout
/// (`weight` is `[outputChannels, inputChannels / groups, kernelSize, kernelSize]`).
///
/// With `groups == inputChannels == outputChannels` it is a depthwise convolution.
public final class Conv2D: Layer, ParameterInitializing {
    public let weight: Parameter
    public let bias: Parameter?
    public let geometry: ConvolutionGeometry
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int,
        stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool = true
    ) {
        precondition(groups >= 1 && inputChannels % groups == 0 && outputChannels % groups == 0,
                     "groups (\(groups)) must divide \(inputChannels) and \(outputChannels)")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.geometry = ConvolutionGeometry(stride: stride, padding: padding, dilation: dilation, groups: groups)
        self.weight = Parameter(.zeros([outputChannels, inputChannels / groups, kernelSize, kernelSize]))
        self.bias = bias ? Parameter(.zeros([outputChannels])) : nil
    }

    public var localState: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public var isDepthwise: Bool { geometry.groups > 1 && geometry.groups == inputChannels && inputChannels == outputChannels }

    /// torchvision's MobileNet initialization: Kaiming normal with fan-out, zero bias.
    public func resetParameters(using generator: inout SplitMix64) {
        let fanOut = Double(outputChannels / geometry.groups * kernelSize * kernelSize)
        weight.value = .normal(weight.shape, standardDeviation: Float((2 / fanOut).squareRoot()), using: &generator)
        bias?.value = .zeros([outputChannels])
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output = try conv2d(input, weight: weight.tracked, bias: bias?.tracked, geometry: geometry)
        let macsPerOutput = inputChannels / geometry.groups * kernelSize * kernelSize
        ForwardTrace.record(self, output: output, multiplyAdds: output.elementCount * macsPerOutput)
        return output
    }
}
