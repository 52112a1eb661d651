import XCTest
import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// Parameter counts, multiply-adds, per-stage shapes and state-dict keys against PyTorch's
/// (fixture: `Fixtures/counts.json` from `Scripts/generate_model_fixtures.py`).
final class ModelStructureTests: XCTestCase {
    private func model(_ entry: Fixtures.Counts.Model) throws -> any ImageClassifier {
        try makeModel(ModelConfiguration(Fixtures.architecture(entry.variant), widthMultiplier: entry.width), seed: nil)
    }

    func testParameterCountsEqualPyTorch() throws {
        let counts = try Fixtures.load("counts", as: Fixtures.Counts.self)
        XCTAssertEqual(counts.models.count, 13)
        for entry in counts.models {
            XCTAssertEqual(try model(entry).parameterCount, entry.parameters, "\(entry.variant) α=\(entry.width)")
        }
    }

    func testParameterCountsOfThePapersModels() throws {
        let expected: [(Architecture, Int)] = [(.v1, 4_231_976), (.v2, 3_504_872), (.v3Large, 5_483_032), (.v3Small, 2_542_856)]
        for (architecture, parameters) in expected {
            XCTAssertEqual(try makeModel(ModelConfiguration(architecture), seed: nil).parameterCount, parameters, "\(architecture)")
        }
    }

    func testMultiplyAddsEqualPyTorch() throws {
        let counts = try Fixtures.load("counts", as: Fixtures.Counts.self)
        for entry in counts.models {
            let model = try model(entry)
            for (resolution, macs) in entry.macs {
                let summary = try ModelSummary(model: model, resolution: Int(resolution)!)
                XCTAssertEqual(summary.multiplyAdds, macs, "\(entry.variant) α=\(entry.width) at \(resolution)")
            }
        }
    }

    func testMultiplyAddsOfThePapersModels() throws {
        // Millions of multiply-adds at 224 (and V2 at lower resolutions), within 0.5 %.
        let expected: [(Architecture, Int, Double)] = [
            (.v1, 224, 568.7), (.v2, 224, 300.8), (.v3Large, 224, 216.6), (.v3Small, 224, 56.5),
            (.v2, 96, 56.3), (.v2, 128, 99.1), (.v2, 160, 154.1), (.v2, 192, 221.3),
        ]
        for (architecture, resolution, millions) in expected {
            let summary = try ModelSummary(model: makeModel(ModelConfiguration(architecture), seed: nil), resolution: resolution)
            let measured = Double(summary.multiplyAdds) / 1e6
            XCTAssertEqual(measured, millions, accuracy: millions * 0.005, "\(architecture) at \(resolution)")
        }
    }

    func testEveryStageShapeEqualsPyTorch() throws {
        let counts = try Fixtures.load("counts", as: Fixtures.Counts.self)
        for entry in counts.models {
            let model = try model(entry)
            let indices = Array(model.featureLayers.indices)
            XCTAssertEqual(indices.count, entry.stages.count, "\(entry.variant) α=\(entry.width) stage count")
            let outputs = try model.extractFeatures(Tensor.zeros([1, 224, 224, 3]), at: indices).selected
            XCTAssertEqual(outputs.map(\.shape.dimensions), entry.stages, "\(entry.variant) α=\(entry.width)")
            XCTAssertEqual(outputs.map { $0.shape[3] }, model.featureChannels)
        }
    }

    func testStateKeysAndShapesEqualPyTorch() throws {
        let counts = try Fixtures.load("counts", as: Fixtures.Counts.self)
        let withKeys = counts.models.filter { $0.state != nil }
        XCTAssertEqual(withKeys.map(\.variant).sorted(), ["v1", "v2", "v3-large", "v3-small"])
        for entry in withKeys {
            let state = try model(entry).namedState()
            XCTAssertEqual(state.map(\.key), entry.state!.map(\.key), "\(entry.variant) keys, in order")
            XCTAssertEqual(state.map(\.parameter.shape.dimensions), entry.state!.map(\.shape), "\(entry.variant) shapes")
        }
    }

    func testMobileNetV3SmallFirstBlockDownsamples() throws {
        let model = try makeModel(ModelConfiguration(.v3Small))
        let outputs = try model.extractFeatures(Tensor.zeros([1, 224, 224, 3]), at: [0, 1]).selected
        XCTAssertEqual(outputs[0].shape, [1, 112, 112, 16])
        XCTAssertEqual(outputs[1].shape, [1, 56, 56, 16])
    }

    func testFeatureStagesAreTheLastLayerOfEachReduction() throws {
        let v2 = try makeModel(ModelConfiguration(.v2))
        XCTAssertEqual(v2.featureStages.map(\.reduction), [2, 4, 8, 16, 32])
        XCTAssertEqual(v2.featureStages.map(\.index), [1, 3, 6, 13, 18])
        XCTAssertEqual(v2.featureStages.map(\.channels), [16, 24, 32, 96, 1280])
        let small = try makeModel(ModelConfiguration(.v3Small))
        XCTAssertEqual(small.featureStages.map(\.index), [0, 1, 3, 8, 12])
        let v1 = try makeModel(ModelConfiguration(.v1, widthMultiplier: 0.5))
        XCTAssertEqual(v1.featureStages.map(\.channels), [32, 64, 128, 256, 512])
    }

    func testAnyResolutionAndClassCount() throws {
        for architecture in Architecture.allCases {
            let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: 0.6, classCount: 7))
            for resolution in [32, 57, 100] {
                let logits = try model(Tensor.zeros([2, resolution, resolution, 3]))
                XCTAssertEqual(logits.shape, [2, 7], "\(architecture) at \(resolution)")
            }
        }
    }

    func testBadConfigurationsAndInputsAreTypedErrors() throws {
        XCTAssertThrowsError(try makeModel(ModelConfiguration(.v2, widthMultiplier: 0)))
        XCTAssertThrowsError(try makeModel(ModelConfiguration(.v2, classCount: 0)))
        XCTAssertThrowsError(try makeModel(ModelConfiguration(.v2, dropout: 1)))
        let model = try makeModel(ModelConfiguration(.v3Small, classCount: 3))
        XCTAssertThrowsError(try model(Tensor.zeros([1, 31, 64, 3]))) { error in
            XCTAssertEqual(error as? ModelError, .inputTooSmall(resolution: 31, minimum: 32))
        }
        XCTAssertThrowsError(try model(Tensor.zeros([1, 64, 64, 4])))
        XCTAssertThrowsError(try model.extractFeatures(Tensor.zeros([1, 64, 64, 3]), at: [99])) { error in
            XCTAssertEqual(error as? ModelError, .featureIndexOutOfRange(index: 99, count: 13))
        }
    }

    func testMakeDivisibleMatchesTorchvision() {
        XCTAssertEqual(makeDivisible(32 * 0.35), 16, "11.2 rounds to 8, under 90 %, so 16")
        XCTAssertEqual(makeDivisible(16 * 0.35), 8)
        XCTAssertEqual(makeDivisible(24 * 0.75), 24, "18 + 4 = 22 → 16, under 90 % of 18 → 24")
        XCTAssertEqual(makeDivisible(1280 * 1.4), 1792)
        XCTAssertEqual(makeDivisible(96 * 0.5), 48)
        XCTAssertEqual(makeDivisible(72 / 4), 24)
    }

    func testSummaryRowsNameLayersByTheirStateKeys() throws {
        let summary = try ModelSummary(model: makeModel(ModelConfiguration(.v2)), resolution: 224)
        XCTAssertEqual(summary.rows.first?.name, "features.0.0")
        XCTAssertEqual(summary.rows.first?.outputShape, [1, 112, 112, 32])
        XCTAssertEqual(summary.rows.first?.multiplyAdds, 112 * 112 * 32 * 27)
        XCTAssertEqual(summary.rows.last?.name, "classifier.1")
        XCTAssertEqual(summary.rows.reduce(0) { $0 + $1.parameters }, summary.parameters)
    }
}
