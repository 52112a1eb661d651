import MobileNetTensor

/// Inverted dropout: while training, zeroes each value with `probability` and scales the rest by
/// `1 / (1 - probability)`; in evaluation, the identity.
public final class Dropout: Layer, ModeDependent {
    public let probability: Double
    public var isTraining = false
    private var generator: SplitMix64

    public init(probability: Double, seed: UInt64 = 0x5EED) {
        precondition((0..<1).contains(probability), "dropout probability \(probability) is not in [0, 1)")
        self.probability = probability
        self.generator = SplitMix64(seed: seed)
    }

    /// Restarts the mask generator. A training loop reseeds from its seed and step, so a resumed
    /// run draws the same masks as an uninterrupted one.
    public func reseed(_ seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output = isTraining ? try dropout(input, probability: probability, using: &generator) : input
        ForwardTrace.record(self, output: output)
        return output
    }
}
