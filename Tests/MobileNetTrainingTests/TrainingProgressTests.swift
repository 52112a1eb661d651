import XCTest

@testable import MobileNetTraining

final class TrainingProgressTests: XCTestCase {
    func testLineAndDurations() {
        let progress = TrainingProgress(
            epoch: 2, epochs: 30, step: 119, steps: 469, loss: 0.43214, accuracy: 0.84213, imagesPerSecond: 1234.4, secondsRemaining: 725)
        XCTAssertEqual(progress.line, "epoch 3/30  step 120/469  loss 0.4321  acc 84.21%  1234 img/s  ETA 12m05s")
        XCTAssertEqual(TrainingProgress.duration(3720), "1h02m")
        XCTAssertEqual(TrainingProgress.duration(9.4), "9s")
        XCTAssertEqual(TrainingProgress.duration(.nan), "--")
    }

    func testThroughputOverAWindow() {
        var meter = ThroughputMeter(window: 2)
        XCTAssertEqual(meter.imagesPerSecond, 0)
        XCTAssertNil(meter.secondsRemaining(images: 10))
        meter.record(images: 100, at: 10)  // starts the clock
        meter.record(images: 100, at: 11)
        XCTAssertEqual(meter.imagesPerSecond, 100)
        meter.record(images: 300, at: 12)
        meter.record(images: 300, at: 13)  // the window keeps the last two intervals
        XCTAssertEqual(meter.imagesPerSecond, 300)
        XCTAssertEqual(meter.secondsRemaining(images: 600), 2)
        XCTAssertGreaterThanOrEqual(ThroughputMeter.now(), 0)
    }

    func testDivergenceNamesTheStep() {
        XCTAssertNoThrow(try DivergenceError.check(loss: 2.3, epoch: 0, step: 0, learningRate: 0.1))
        XCTAssertThrowsError(try DivergenceError.check(loss: .nan, epoch: 2, step: 119, learningRate: 8)) { error in
            XCTAssertEqual(
                String(describing: error),
                "training diverged: the loss is nan at epoch 3, step 120 (learning rate 8.0); try a lower learning rate")
        }
        XCTAssertThrowsError(try DivergenceError.check(loss: .infinity, epoch: 0, step: 0, learningRate: 1))
    }
}
