import XCTest
import MobileNetModels
import MobileNetNN
import MobileNetQuantization
import MobileNetTensor

/// int8 inference for every family: calibration, the quantized graph's choices, and the fused
/// int8 session against the fp32 one (the parity fixtures' deterministic weights).
final class QuantizedModelTests: XCTestCase {
    private func model(_ architecture: Architecture, width: Double, classes: Int = 10) throws -> any ImageClassifier {
        let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: width, classCount: classes), seed: nil)
        model.setTraining(false)
        DeterministicFill.fill(model)
        return model
    }

    /// `count` images of `resolution`² drawn with `seed`, uniform in [-2, 2] like normalized photos.
    private func images(_ count: Int, resolution: Int, seed: UInt64) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor.uniform([count, resolution, resolution, 3], in: -2...2, using: &generator)
    }

    func testEveryFamilyRunsInInt8CloseToFP32() throws {
        let cases: [(Architecture, Double, Int)] = [(.v1, 0.25, 64), (.v2, 0.5, 64), (.v3Large, 0.5, 96), (.v3Small, 0.75, 64)]
        for (architecture, width, resolution) in cases {
            let model = try model(architecture, width: width)
            let int8 = try QuantizedModel(model, calibration: [images(4, resolution: resolution, seed: 1)])
            let batch = images(4, resolution: resolution, seed: 2)
            let quantized = try int8(batch)
            let fp32 = try InferenceModel(model)(batch)
            let error = zip(quantized.scalars, fp32.scalars).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
            let norm = fp32.scalars.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
            // Measured 2026-12-02, AVX-512 VNNI / AVX2: V1 0.04 / 0.05, V2 0.17 / 0.24, V3-Large
            // 0.22 / 0.40, V3-Small 0.03 / 0.19. These weights are uniform (most near their
            // channel's maximum, unlike trained ones), which int8 without VNNI handles worst;
            // a wrong scale or type anywhere gives errors near 1.
            XCTAssertLessThan(error / norm, 0.5, "\(architecture) α=\(width) on \(CPUEngine.instructionSet)")
        }
    }
}
