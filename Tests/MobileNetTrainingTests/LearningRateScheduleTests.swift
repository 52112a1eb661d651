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

    /// A schedule with bad numbers is refused with a typed error naming the property, and even
    /// then computes a rate instead of trapping (it may come from a damaged file).
    func testBadSchedulesAreRefusedWithoutTrapping() {
        let bad: [(LearningRateSchedule, String)] = [
            (LearningRateSchedule(base: 0.1, decay: .constant, epochs: 0), "epochs"),
            (LearningRateSchedule(base: .nan, decay: .constant, epochs: 3), "base"),
            (LearningRateSchedule(base: 0.1, decay: .cosine(minimum: 0), epochs: 3, warmupEpochs: 4), "warmupEpochs"),
            (LearningRateSchedule(base: 0.1, decay: .step(every: 0, factor: 0.1), epochs: 3), "decay"),
            (LearningRateSchedule(base: 0.1, decay: .constant, epochs: 3, granularity: .step, stepsPerEpoch: 0), "stepsPerEpoch"),
        ]
        for (schedule, property) in bad {
            XCTAssertThrowsError(try schedule.validate(), "\(schedule)") { error in
                XCTAssertEqual((error as? LearningRateSchedule.InvalidSchedule)?.property, property, "\(error)")
            }
            _ = schedule.learningRate(epoch: 1, step: 1)
        }
        XCTAssertNoThrow(try LearningRateSchedule(base: 0.1, decay: .cosine(minimum: 0), epochs: 3, warmupEpochs: 3).validate())
    }

    /// `--epochs 9223372036854775807` once overflowed multiplying epochs by steps.
    func testHugeLengthsDoNotOverflow() {
        let schedule = LearningRateSchedule(
            base: 0.1, decay: .cosine(minimum: 0), epochs: .max, warmupEpochs: .max / 2, granularity: .step, stepsPerEpoch: .max)
        let early = schedule.learningRate(epoch: 1, step: 5)
        XCTAssertTrue(early.isFinite && early > 0 && early < 0.1, "\(early)")
        let late = schedule.learningRate(epoch: .max - 1, step: .max - 1)
        XCTAssertTrue(late.isFinite && late >= 0 && late <= 0.1, "\(late)")
        let step = LearningRateSchedule(base: 0.1, decay: .step(every: .max, factor: 0.5), epochs: .max, granularity: .step, stepsPerEpoch: .max)
        XCTAssertEqual(step.learningRate(epoch: 3, step: 3), 0.1)
    }
}
