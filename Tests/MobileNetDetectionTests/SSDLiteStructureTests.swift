import MobileNetDetection
import MobileNetModels
import MobileNetNN
import MobileNetTensor
import XCTest

/// SSDLite's structure against torchvision's (`Fixtures/ssdlite_structure.json`): parameters,
/// every state key and shape, the feature maps, the anchors.
final class SSDLiteStructureTests: XCTestCase {
    func testParametersKeysAndShapesEqualTorchvision() throws {
        let fixture = try DetectionFixtures.load("ssdlite_structure", as: DetectionFixtures.Structure.self)
        XCTAssertEqual(fixture.models.map(\.parameters), [3_440_060, 2_331_260])  // the numbers
        for model in fixture.models {
            let detector = try SSDLite(SSDLiteConfiguration(classCount: model.classes), seed: nil)
            XCTAssertEqual(detector.parameterCount, model.parameters, "\(model.classes) classes")
            let ours = detector.namedState().map { "\($0.key) \($0.parameter.shape.dimensions)" }
            let theirs = model.state.map { entry -> String in
                guard case let .key(key) = entry[0], case let .shape(shape) = entry[1] else { return "?" }
                return "\(key) \(shape)"
            }
            XCTAssertEqual(ours.count, theirs.count, "\(model.classes) classes")
            for (mine, reference) in zip(ours, theirs) where mine != reference {
                XCTFail("\(model.classes) classes: \(mine) where torchvision has \(reference)")
                break
            }
        }
    }

    func testFeatureMapsAndAnchorsEqualTorchvision() throws {
        let fixture = try DetectionFixtures.load("ssdlite_structure", as: DetectionFixtures.Structure.self)
        let detector = try SSDLite(SSDLiteConfiguration(classCount: 11), seed: 1)
        detector.setTraining(false)
        let maps = try detector.backbone(Tensor(repeating: 0.1, shape: [1, 320, 320, 3]))
        XCTAssertEqual(maps.map { [$0.shape[0], $0.shape[3], $0.shape[1], $0.shape[2]] }, fixture.feature_shapes)
        XCTAssertEqual(detector.backbone.outputChannels, fixture.feature_shapes.map { $0[1] })
        let anchors = detector.anchors
        XCTAssertEqual(anchors.count, fixture.anchor_count)
        for (position, expected) in fixture.anchors.enumerated() {
            let box = anchors[position * fixture.anchor_sample_every]
            for (mine, theirs) in zip([box.x1, box.y1, box.x2, box.y2], expected) {
                XCTAssertEqual(mine, theirs, accuracy: 1e-4, "anchor \(position * fixture.anchor_sample_every)")
            }
        }
        let outputs = try detector(Tensor(repeating: 0.1, shape: [2, 320, 320, 3]))
        XCTAssertEqual(outputs.classLogits.shape, [2, 3234, 11])
        XCTAssertEqual(outputs.boxRegression.shape, [2, 3234, 4])
    }

    func testReducedTailAndDilatedBackbones() throws {
        let large = ModelConfiguration(.v3Large, classCount: 10)
        let reduced = MobileNetV3(large, reducedTail: true)
        // The last stage (the strided block and the two after it) and the head convolution halved.
        XCTAssertEqual(Array(reduced.featureChannels.suffix(4)), [80, 80, 80, 480])
        XCTAssertEqual(reduced.featureChannels, MobileNetV3(large).featureChannels.enumerated().map { $0.offset >= 13 ? $0.element / 2 : $0.element })
        let dilated = MobileNetV3(large, dilated: true)
        XCTAssertEqual(dilated.featureStages.last?.reduction, 16)
        XCTAssertEqual(MobileNetV3(large).featureStages.last?.reduction, 32)
        // Dilation changes no parameter.
        XCTAssertEqual(dilated.parameterCount, MobileNetV3(large).parameterCount)
        let block = try XCTUnwrap(dilated.features.layers[13] as? MobileNetV3Block)
        XCTAssertEqual(block.depthwise.convolution.geometry, ConvolutionGeometry(stride: 1, padding: 4, dilation: 2, groups: 672))
        XCTAssertFalse(block.usesResidual)
        XCTAssertThrowsError(try SSDLite(SSDLiteConfiguration(backbone: .v2)))
        XCTAssertThrowsError(try SSDLite(SSDLiteConfiguration(classCount: 1)))
        XCTAssertThrowsError(try SSDLite(SSDLiteConfiguration(resolution: 32)))
    }
}
