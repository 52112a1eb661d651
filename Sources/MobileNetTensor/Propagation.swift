/// What a forward computation is for.
///
/// The results are the same either way. oneDNN, however, only builds backward primitives from a
/// forward primitive descriptor created for training (`dnnl_forward_training`), which may also
/// keep extra state; inference primitives stay lean. Operations recorded on a ``GradientTape``
/// run their forward pass with `.training`, everything else with `.inference`.
public enum Propagation: Hashable, Sendable {
    case inference
    case training
}

/// Which statistics a batch norm normalizes with.
public enum NormalizationStatistics: Hashable, Sendable {
    /// The batch's own mean and biased variance (training mode): gradients flow through them.
    case batch
    /// Given running statistics (evaluation mode): constants to the gradient.
    case fixed
}
