import Foundation
import MobileNetTensor
import MobileNetTestSupport
import XCTest

@testable import MobileNetTraining

final class MetricsLogTests: XCTestCase {
    static let history = [
        EpochMetrics(epoch: 1, trainLoss: 0.8123456789, trainAccuracy: 0.7, validationLoss: 0.6, validationAccuracy: 0.78125,
                     learningRate: 0.1, seconds: 61.25, imagesPerSecond: 980.5),
        EpochMetrics(epoch: 2, trainLoss: 0.5, trainAccuracy: 0.8, learningRate: 0.05, seconds: 60, imagesPerSecond: 1000),
        EpochMetrics(epoch: 3, trainLoss: 0.4, trainAccuracy: 0.85, validationLoss: 0.45, validationAccuracy: 0.84,
                     learningRate: 1e-5, seconds: 59.5, imagesPerSecond: 1010, averageValidationLoss: 0.4375, averageValidationAccuracy: 0.845),
    ]

    func testCSVRoundTripsExactly() throws {
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("metrics.csv")
        try MetricsLog.write(Self.history, to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, 4)
        XCTAssertTrue(text.hasPrefix(MetricsLog.header + "\n1,0.8123456789,0.7,0.6,0.78125,0.1,61.25,980.5,,\n2,0.5,0.8,,,0.05,60.0,1000.0,,\n"))
        XCTAssertTrue(text.hasSuffix("\n3,0.4,0.85,0.45,0.84,1e-05,59.5,1010.0,0.4375,0.845\n"), text)
        XCTAssertEqual(try MetricsLog.read(from: url), Self.history)
        // Rewriting replaces the file.
        try MetricsLog.write(Array(Self.history.prefix(1)), to: url)
        XCTAssertEqual(try MetricsLog.read(from: url).count, 1)
    }

    func testMalformedFilesNameTheLine() throws {
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("metrics.csv")
        try Data((MetricsLog.header + "\n1,0.5,x,,,0.1,1,1,,\n").utf8).write(to: url)
        XCTAssertThrowsError(try MetricsLog.read(from: url)) { error in
            XCTAssertEqual(String(describing: error), "\(url.path):2: field 3 is 'x', expected a number")
        }
        try Data("epoch,loss\n".utf8).write(to: url)
        XCTAssertThrowsError(try MetricsLog.read(from: url)) { error in
            XCTAssertEqual((error as? MetricsFileError)?.line, 1)
        }
    }

    func testRunningMetricsWeighBatchesBySize() throws {
        var running = RunningMetrics()
        XCTAssertEqual(running.meanLoss, 0)
        let logits = try Tensor(shape: [3, 2], values: [1, 0, 0, 1, 1, 0])
        try running.add(loss: 0.5, logits: logits, labels: [0, 1, 1])
        running.add(loss: 2, correct: 1, samples: 1)
        XCTAssertEqual(running.samples, 4)
        XCTAssertEqual(running.correct, 3)
        XCTAssertEqual(running.meanLoss, 0.875)
        XCTAssertEqual(running.accuracy, 0.75)
        XCTAssertThrowsError(try running.add(loss: 1, logits: logits, labels: [0]))
    }
}
