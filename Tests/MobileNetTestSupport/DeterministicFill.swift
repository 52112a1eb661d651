import MobileNetNN
import MobileNetTensor

/// The deterministic weights and inputs of the parity fixtures, reproduced bit for bit (the
/// scheme is documented in `Scripts/generate_model_fixtures.py`), for the classifiers' and the
/// detector's fixtures.
public enum DeterministicFill {
    /// Must equal `WEIGHT_GAIN` in the generator script.
    public static let weightGain = 5.0

    /// Fills every tensor of `model` and returns the sum of all values (the fixture's checksum).
    @discardableResult
    public static func fill(_ model: any Module) -> Double {
        var checksum = 0.0
        for (key, parameter) in model.namedState().sorted(by: { $0.key < $1.key }) {
            let shape = parameter.shape
            var generator = SplitMix64(seed: SplitMix64.seed(for: key))
            let fanIn = Double(shape.elementCount / max(shape[0], 1))
            let tensor = Tensor(shape: shape) { _ in
                let u = generator.nextUnitInterval()
                let value: Double
                if key.hasSuffix("running_var") || (shape.rank == 1 && key.hasSuffix("weight")) {
                    value = 0.5 + u
                } else if key.hasSuffix("running_mean") || key.hasSuffix("bias") {
                    value = (u * 2 - 1) * 0.1
                } else {
                    value = (u * 2 - 1) * (weightGain / fanIn).squareRoot()
                }
                return Float(value)
            }
            checksum += tensor.scalars.reduce(0.0) { $0 + Double($1) }
            parameter.value = tensor
        }
        return checksum
    }

    /// The input batch, drawn in NCHW order as PyTorch consumes it, returned NHWC.
    public static func input(batch: Int, resolution: Int) throws -> (tensor: Tensor, checksum: Double) {
        var generator = SplitMix64(seed: SplitMix64.seed(for: "input"))
        let nchw = Tensor(shape: [batch, 3, resolution, resolution]) { _ in
            Float(generator.nextUnitInterval() * 2 - 1)
        }
        let checksum = nchw.scalars.reduce(0.0) { $0 + Double($1) }
        return (try nchwToNHWC(nchw), checksum)
    }
}
