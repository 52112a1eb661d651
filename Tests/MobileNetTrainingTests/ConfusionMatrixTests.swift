import MobileNetTensor
import XCTest

@testable import MobileNetTraining

final class ConfusionMatrixTests: XCTestCase {
    func testCountsAccuracyAndPerClassAccuracy() throws {
        var matrix = ConfusionMatrix(classCount: 3)
        // Rows are samples; the arg-max is the prediction.
        let logits = try Tensor(shape: [5, 3], values: [
            0.9, 0.1, 0.0,   // predicts 0
            0.2, 0.7, 0.1,   // predicts 1
            0.2, 0.7, 0.1,   // predicts 1
            1.0, 1.0, 0.0,   // a tie: the lower index, 0
            0.0, 0.0, 3.0,   // predicts 2
        ])
        try matrix.add(logits: logits, labels: [0, 1, 0, 1, 2])
        XCTAssertEqual(matrix.total, 5)
        XCTAssertEqual(matrix.correct, 3)
        XCTAssertEqual(matrix.accuracy, 0.6)
        XCTAssertEqual(matrix[0, 1], 1)
        XCTAssertEqual(matrix[1, 0], 1)
        XCTAssertEqual(matrix.samplesPerClass, [2, 2, 1])
        XCTAssertEqual(matrix.perClassAccuracy, [0.5, 0.5, 1.0])

        var other = ConfusionMatrix(classCount: 3)
        other.add(actual: 2, predicted: 0)
        matrix.merge(other)
        XCTAssertEqual(matrix.perClassAccuracy, [0.5, 0.5, 0.5])
        XCTAssertEqual(ConfusionMatrix(classCount: 2).perClassAccuracy, [nil, nil])
        XCTAssertEqual(ConfusionMatrix(classCount: 2).accuracy, 0)
    }

    func testNaNLogitsPredictTheirFirstNaN() throws {
        let logits = try Tensor(shape: [1, 3], values: [1, .nan, 5])
        XCTAssertEqual(try ConfusionMatrix.predictions(logits: logits, classCount: 3), [1])
    }

    func testMismatchesAreErrors() throws {
        var matrix = ConfusionMatrix(classCount: 3)
        XCTAssertThrowsError(try matrix.add(logits: Tensor.zeros([2, 4]), labels: [0, 1])) { error in
            XCTAssertEqual(error as? MetricsError, .logitsShape(expectedClasses: 3, actual: [2, 4]))
            XCTAssertEqual(String(describing: error), "metrics: expected logits of shape [N, 3], got [2, 4]")
        }
        XCTAssertThrowsError(try matrix.add(logits: Tensor.zeros([2, 3]), labels: [0])) { error in
            XCTAssertEqual(error as? MetricsError, .countMismatch(predictions: 2, labels: 1))
        }
        XCTAssertThrowsError(try matrix.add(logits: Tensor.zeros([2, 3]), labels: [0, 3])) { error in
            XCTAssertEqual(error as? MetricsError, .labelOutOfRange(index: 1, label: 3, classCount: 3))
        }
        XCTAssertEqual(matrix.total, 0)
    }
}
