import XCTest

@testable import MobileNetTraining

/// Warm-up and decay against PyTorch's schedulers chained as torchvision's reference script does.
final class LearningRateScheduleTests: XCTestCase {
    func testEveryScheduleMatchesPyTorch() throws {
        let fixtures = try TrainingFixtures.load().schedules
        XCTAssertEqual(fixtures.count, 16)
        var worst = 0.0
        for fixture in fixtures {
            let decay: LearningRateSchedule.Decay = switch fixture.decay {
            case "cosine": .cosine(minimum: fixture.minimum!)
            case "step": .step(every: fixture.step_size!, factor: fixture.gamma!)
            case "exponential": .exponential(factor: fixture.gamma!)
            default: .constant
            }
            let schedule = LearningRateSchedule(
                base: fixture.base, decay: decay, epochs: fixture.epochs, warmupEpochs: fixture.warmup_epochs,
                warmupStartFactor: fixture.warmup_start, granularity: fixture.per_step ? .step : .epoch,
                stepsPerEpoch: fixture.steps_per_epoch)
            let rates = (0..<fixture.epochs).flatMap { epoch in
                (0..<fixture.steps_per_epoch).map { schedule.learningRate(epoch: epoch, step: $0) }
            }
            XCTAssertEqual(rates.count, fixture.rates.count)
            for (index, (actual, expected)) in zip(rates, fixture.rates).enumerated() {
                let error = abs(actual - expected) / expected
                worst = max(worst, error)
                XCTAssertLessThan(error, 1e-12, "\(fixture.decay), warm-up \(fixture.warmup_epochs), per step \(fixture.per_step), step \(index)")
            }
        }
        print("schedule fixture error (relative):", worst)
    }

    func testWarmupStartsAtItsFactorAndReachesTheBase() {
        let schedule = LearningRateSchedule(base: 0.4, decay: .cosine(minimum: 0), epochs: 10, warmupEpochs: 2, granularity: .step, stepsPerEpoch: 100)
        XCTAssertEqual(schedule.learningRate(epoch: 0, step: 0), 0.004, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(epoch: 1, step: 0), 0.202, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(epoch: 2, step: 0), 0.4)
        XCTAssertEqual(schedule.learningRate(epoch: 6, step: 0), 0.2, accuracy: 1e-15)
    }

    func testSchedulesRoundTripThroughJSON() throws {
        let schedule = LearningRateSchedule(base: 0.1, decay: .step(every: 3, factor: 0.5), epochs: 9, warmupEpochs: 1)
        let decoded = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(schedule))
        XCTAssertEqual(decoded, schedule)
    }
}
