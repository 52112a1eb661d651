import MobileNetNN

/// Parameters that share a weight decay and a learning-rate scale (PyTorch's parameter groups).
public struct ParameterGroup {
    /// The parameters under their state-dict keys.
    public var parameters: [(key: String, parameter: Parameter)]
    /// The L2 penalty (SGD, RMSProp) or decoupled decay (AdamW) of this group.
    public var weightDecay: Double
    /// What the optimizer's learning rate is multiplied by for this group: 1, or e.g. 0.1 for a
    /// pretrained backbone that should move more slowly than a new classifier.
    public var learningRateScale: Double

    public init(parameters: [(key: String, parameter: Parameter)], weightDecay: Double, learningRateScale: Double = 1) {
        self.parameters = parameters
        self.weightDecay = weightDecay
        self.learningRateScale = learningRateScale
    }

    /// The default split: weight decay for the weights of convolutions and linear layers, none
    /// for batch-norm scales and shifts and for biases, as torchvision's reference recipes do
    /// with `--norm-weight-decay 0.0` and `--bias-weight-decay 0.0` (and as the MobileNet papers
    /// regularize). A parameter of rank 1 or less is a norm parameter or a bias.
    ///
    /// Only trainable parameters are taken; empty groups are left out.
    public static func decayingWeights(
        _ parameters: [(key: String, parameter: Parameter)], weightDecay: Double, learningRateScale: Double = 1
    ) -> [ParameterGroup] {
        let trainable = parameters.filter { $0.parameter.isTrainable }
        let decayed = trainable.filter { $0.parameter.shape.rank > 1 }
        let undecayed = trainable.filter { $0.parameter.shape.rank <= 1 }
        return [
            ParameterGroup(parameters: decayed, weightDecay: weightDecay, learningRateScale: learningRateScale),
            ParameterGroup(parameters: undecayed, weightDecay: 0, learningRateScale: learningRateScale),
        ].filter { !$0.parameters.isEmpty }
    }
}
