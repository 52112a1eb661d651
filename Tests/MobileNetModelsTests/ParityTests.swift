import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest

/// Same weights and pixels as PyTorch ⇒ the same logits (fixtures: `Fixtures/parity_*.json`,
/// from `Scripts/generate_model_fixtures.py`; torchvision for V2/V3, timm for V1).
final class ParityTests: XCTestCase {
    private let tolerance: Float = 1e-4

    private func check(_ name: String, engine: any ComputeEngine = CPUEngine.shared) throws {
        let fixture = try Fixtures.load("parity_" + name, as: Fixtures.Parity.self)
        let model = try makeModel(ModelConfiguration(
            Fixtures.architecture(fixture.variant), widthMultiplier: fixture.width, classCount: fixture.classes), seed: nil)
        model.setTraining(false)
        let weightChecksum = DeterministicFill.fill(model)
        XCTAssertEqual(weightChecksum, fixture.weight_checksum, accuracy: abs(fixture.weight_checksum) * 1e-9 + 1e-6,
                       "\(name): the weights differ from the generator's")
        let (input, inputChecksum) = try DeterministicFill.input(batch: fixture.batch, resolution: fixture.resolution)
        XCTAssertEqual(inputChecksum, fixture.input_checksum, accuracy: 1e-6, "\(name): the input differs")

        let logits = try Engine.$current.withValue(engine) { try model(input) }
        let expected = try Tensor(shape: [fixture.batch, fixture.classes], values: fixture.logits.flatMap { $0 })
        let error = logits.maxAbsoluteDifference(expected)
        XCTAssertLessThanOrEqual(error, tolerance, "\(name) on \(engine.name): max |Δlogit| = \(error)")
    }

    func testMobileNetV1() throws { try check("v1_100_224") }
    func testMobileNetV2() throws { try check("v2_100_224") }
    func testMobileNetV3Large() throws { try check("v3large_100_224") }
    func testMobileNetV3Small() throws { try check("v3small_100_224") }
    func testMobileNetV1Narrow() throws { try check("v1_025_128") }
    func testMobileNetV2Narrow() throws { try check("v2_035_96") }
    func testMobileNetV3LargeNarrow() throws { try check("v3large_075_160") }
    func testMobileNetV3SmallNarrow() throws { try check("v3small_075_64") }

    /// The reference engine runs the whole model too (small cases only: it is slow).
    func testReferenceEngineMatchesPyTorch() throws {
        try check("v3small_075_64", engine: ReferenceEngine())
        try check("v2_035_96", engine: ReferenceEngine())
    }
}
