import XCTest
import MobileNetModels
import MobileNetTensor

/// The library refuses what the CLI refuses, with typed errors: a library caller bypasses the CLI.
final class ModelLimitsTests: XCTestCase {
    func testConfigurationsOutsideTheLimitsAreRefused() {
        for configuration in [
            ModelConfiguration(.v2, widthMultiplier: 100), ModelConfiguration(.v2, widthMultiplier: .nan),
            ModelConfiguration(.v2, widthMultiplier: .infinity), ModelConfiguration(.v1, classCount: 100_000_000),
            ModelConfiguration(.v3Small, classCount: 0),
        ] {
            XCTAssertThrowsError(try makeModel(configuration, seed: nil), "\(configuration)") { error in
                guard case .invalidConfiguration = error as? ModelError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertNoThrow(try ModelConfiguration(.v2, widthMultiplier: ModelConfiguration.maximumWidthMultiplier,
                                                classCount: ModelConfiguration.maximumClassCount).validate())
    }

    func testResolutionsAndBatchesOutsideTheLimitsAreRefused() throws {
        XCTAssertThrowsError(try ModelConfiguration.validate(resolution: 99_999_999_999)) { error in
            XCTAssertEqual(error as? ModelError, .inputTooLarge(resolution: 99_999_999_999, maximum: 2048))
        }
        XCTAssertThrowsError(try ModelConfiguration.validate(resolution: 31)) { error in
            XCTAssertEqual(error as? ModelError, .inputTooSmall(resolution: 31, minimum: 32))
        }
        XCTAssertNoThrow(try ModelConfiguration.validate(batch: 668, resolution: 224))
        XCTAssertThrowsError(try ModelConfiguration.validate(batch: 669, resolution: 224)) { error in
            XCTAssertEqual(error as? ModelError, .batchTooLarge(batch: 669, resolution: 224, maximumPixels: 1 << 25))
        }
        XCTAssertThrowsError(try ModelConfiguration.validate(batch: .max, resolution: 2048))
        XCTAssertEqual(ModelConfiguration.maximumBatch(resolution: 32), 32_768)

        let model = try makeModel(ModelConfiguration(.v3Small, widthMultiplier: 0.25, classCount: 2), seed: nil)
        XCTAssertThrowsError(try ModelSummary(model: model, resolution: 100_000)) { error in
            XCTAssertEqual(error as? ModelError, .inputTooLarge(resolution: 100_000, maximum: 2048))
        }
    }
}
