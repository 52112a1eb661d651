import XCTest
import MobileNetModels
import MobileNetTraining

/// A library caller gets the same checks as `mobilenet train`: a typed error naming the setting,
/// never a precondition failure once training has started.
final class TrainingConfigurationTests: XCTestCase {
    private func configuration(_ change: (inout TrainingConfiguration) -> Void) -> TrainingConfiguration {
        var configuration = TrainingConfiguration(
            dataset: .fashionMNIST, model: ModelConfiguration(.v2, widthMultiplier: 0.35), resolution: 32, epochs: 2, batchSize: 16)
        change(&configuration)
        return configuration
    }

    func testEveryOutOfRangeSettingIsATypedError() {
        let cases: [(String, (inout TrainingConfiguration) -> Void)] = [
            ("--epochs", { $0.epochs = 0 }),
            ("--epochs", { $0.epochs = .max }),
            ("--width", { $0.model.widthMultiplier = 100 }),
            ("--width", { $0.model.widthMultiplier = .nan }),
            ("--resolution", { $0.resolution = 5000 }),
            ("--batch-size", { $0.batchSize = 0 }),
            ("--batch-size", { $0.resolution = 2048; $0.batchSize = 9 }),
            ("--lr", { $0.learningRate = .infinity }),
            ("--lr", { $0.learningRate = -1 }),
            ("--weight-decay", { $0.weightDecay = .nan }),
            ("--warmup-epochs", { $0.warmupEpochs = 3 }),
            ("--label-smoothing", { $0.labelSmoothing = 1 }),
            ("--limit", { $0.limit = 0 }),
            ("--ema", { $0.averageDecay = 1.5 }),
            ("--ema", { $0.averageDecay = .nan }),
            ("--ema", { $0.averageDecay = -1 }),
            ("--clip-norm", { $0.clipNorm = 0 }),
            ("--clip-norm", { $0.clipNorm = .nan }),
            ("validationFraction", { $0.validationFraction = 1 }),
            ("loaderThreads", { $0.loaderThreads = 0 }),
        ]
        for (flag, change) in cases {
            XCTAssertThrowsError(try configuration(change).validate(), flag) { error in
                guard case let .invalidSetting(named, reason) = error as? TrainingError else {
                    return XCTFail("\(flag): \(error)")
                }
                XCTAssertEqual(named, flag, reason)
            }
        }
        XCTAssertNoThrow(try configuration { $0.averageDecay = 0.999; $0.clipNorm = 1; $0.warmupEpochs = 2 }.validate())
        XCTAssertNoThrow(try configuration { $0.resolution = 2048; $0.batchSize = 8 }.validate())
    }
}
