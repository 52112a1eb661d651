import MobileNetNN
import MobileNetTensor
import XCTest

@testable import MobileNetTraining

final class ExponentialMovingAverageTests: XCTestCase {
    /// A module with one weight and one buffer.
    final class Tiny: Module {
        let weight = Parameter(Tensor(repeating: 0, shape: [2]))
        let runningMean = Parameter(Tensor(repeating: 0, shape: [1]), trainable: false)
        var localState: [(name: String, parameter: Parameter)] { [("weight", weight), ("running_mean", runningMean)] }
    }

    func testAveragesWeightsAndBuffers() throws {
        let model = Tiny()
        let average = ExponentialMovingAverage(model, decay: 0.9)
        // The model walks 1, 2, 3; the average follows by a tenth each time.
        var expected: Float = 0
        for value in [Float(1), 2, 3] {
            model.weight.value = Tensor(repeating: value, shape: [2])
            model.runningMean.value = Tensor(repeating: -value, shape: [1])
            average.update()
            expected = expected + Float(1 - 0.9) * (value - expected)
        }
        XCTAssertEqual(average.updateCount, 3)
        XCTAssertEqual(average.averages["weight"]?.scalars, [expected, expected])
        XCTAssertEqual(average.averages["running_mean"]?.scalars, [-expected])
        XCTAssertEqual(Double(expected), 0.561, accuracy: 1e-6)

        let seen = average.withAveragedWeights { model.weight.value.scalars }
        XCTAssertEqual(seen, [expected, expected])
        XCTAssertEqual(model.weight.value.scalars, [3, 3], "the model's own weights come back")
    }

    func testWarmupFollowsTensorFlowsNumUpdates() {
        let average = ExponentialMovingAverage(Tiny(), decay: 0.9999, warmup: true)
        XCTAssertEqual(average.nextDecay, 2.0 / 11.0)
        for _ in 0..<98 { average.update() }
        XCTAssertEqual(average.nextDecay, 100.0 / 109.0)
        XCTAssertEqual(ExponentialMovingAverage(Tiny(), decay: 0.5, warmup: true).nextDecay, 2.0 / 11.0)
    }

    func testLoadChecksKeysAndShapes() throws {
        let average = ExponentialMovingAverage(Tiny())
        XCTAssertThrowsError(try average.load(averages: ["weight": Tensor.zeros([2])], updateCount: 1)) { error in
            XCTAssertEqual(error as? StateError, .missingKeys(["running_mean"]))
        }
        XCTAssertThrowsError(try average.load(averages: ["weight": Tensor.zeros([3]), "running_mean": Tensor.zeros([1])], updateCount: 1)) { error in
            XCTAssertEqual(error as? StateError, .shapeMismatch(key: "weight", expected: [2], actual: [3]))
        }
        try average.load(averages: ["weight": Tensor(repeating: 5, shape: [2]), "running_mean": Tensor.zeros([1])], updateCount: 7)
        XCTAssertEqual(average.updateCount, 7)
        XCTAssertEqual(average.averages["weight"]?.scalars, [5, 5])
    }
}
