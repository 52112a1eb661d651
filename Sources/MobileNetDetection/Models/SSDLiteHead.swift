import MobileNetNN
import MobileNetTensor

/// What SSD's head predicts for every anchor of a batch: `boxRegression` `[N, anchors, 4]`
/// (the coded offsets of ``BoxCoder``) and `classLogits` `[N, anchors, classes]`.
public struct SSDHeadOutputs {
    public var boxRegression: Tensor
    public var classLogits: Tensor

    public init(boxRegression: Tensor, classLogits: Tensor) {
        self.boxRegression = boxRegression
        self.classLogits = classLogits
    }
}

/// One of SSDLite's two prediction heads (torchvision's `SSDLiteClassificationHead` and
/// `SSDLiteRegressionHead`, both an `SSDScoringHead`): per feature map a depthwise 3x3 with batch
/// norm and ReLU6, then a 1x1 convolution with bias to `anchors · values` channels. Keys
/// `module_list.<map>.0.0.weight`, `module_list.<map>.1.bias`.
public final class SSDLiteScoringHead: Module {
    public let moduleList: Sequential
    /// Values per anchor: the class count, or 4 box offsets.
    public let valuesPerAnchor: Int

    init(inputChannels: [Int], anchorsPerLocation: [Int], valuesPerAnchor: Int) {
        self.valuesPerAnchor = valuesPerAnchor
        moduleList = Sequential(zip(inputChannels, anchorsPerLocation).map { channels, anchors in
            Sequential([
                ConvNormActivation(
                    inputChannels: channels, outputChannels: channels, kernelSize: 3, groups: channels, activation: .relu6,
                    normEpsilon: SSDLiteBackbone.normEpsilon, normMomentum: SSDLiteBackbone.normMomentum),
                Conv2D(inputChannels: channels, outputChannels: anchors * valuesPerAnchor, kernelSize: 1),
            ])
        })
    }

    public var children: [(name: String, module: any Module)] { [("module_list", moduleList)] }

    /// `[N, anchors, values]` over every map: a map's NHWC output `[N, H, W, A · values]` read as
    /// `[N, H · W · A, values]` is already torchvision's order (location, then anchor).
    public func callAsFunction(_ maps: [Tensor]) throws -> Tensor {
        let perMap = try zip(moduleList.layers, maps).map { module, map in
            let output = try module(map)
            let (batch, height, width) = (output.shape[0], output.shape[1], output.shape[2])
            return try output.reshaped([batch, height * width * output.shape[3] / valuesPerAnchor, valuesPerAnchor])
        }
        return try concatenate(perMap, axis: 1)
    }
}

/// SSDLite's head (torchvision's `SSDLiteHead`): keys `classification_head.*`, `regression_head.*`.
public final class SSDLiteHead: Module {
    public let classificationHead: SSDLiteScoringHead
    public let regressionHead: SSDLiteScoringHead

    public init(inputChannels: [Int], anchorsPerLocation: [Int], classCount: Int) {
        classificationHead = SSDLiteScoringHead(
            inputChannels: inputChannels, anchorsPerLocation: anchorsPerLocation, valuesPerAnchor: classCount)
        regressionHead = SSDLiteScoringHead(inputChannels: inputChannels, anchorsPerLocation: anchorsPerLocation, valuesPerAnchor: 4)
    }

    public var children: [(name: String, module: any Module)] {
        [("classification_head", classificationHead), ("regression_head", regressionHead)]
    }

    public func callAsFunction(_ maps: [Tensor]) throws -> SSDHeadOutputs {
        SSDHeadOutputs(boxRegression: try regressionHead(maps), classLogits: try classificationHead(maps))
    }
}
