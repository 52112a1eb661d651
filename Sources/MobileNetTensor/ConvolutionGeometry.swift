/// How a 2-D convolution slides its kernel: square stride, symmetric zero padding and dilation
/// as PyTorch's `nn.Conv2d` takes them, plus the number of channel groups.
///
/// `groups == inputChannels == outputChannels` is a depthwise convolution: each channel is
/// filtered by its own k×k kernel, the spatial half of a depthwise separable convolution.
public struct ConvolutionGeometry: Hashable, Sendable, CustomStringConvertible {
    public var stride: Int
    public var padding: Int
    public var dilation: Int
    public var groups: Int

    public init(stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// The output extent along one spatial axis, as PyTorch computes it (floor division).
    public func outputExtent(input: Int, kernel: Int) -> Int {
        (input + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    public var description: String {
        "stride \(stride), padding \(padding), dilation \(dilation), groups \(groups)"
    }
}
