import Foundation
import MobileNetIO
import XCTest

#if canImport(FoundationXML)
import FoundationXML
import MobileNetTestSupport
#endif

@testable import MobileNetTraining

/// The SVG and PNG pictures: well-formed, holding what they show, robust to odd histories.
final class PlotTests: XCTestCase {
    private func assertWellFormed(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
    }

    func testCurvesShowBothSeries() throws {
        let svg = TrainingCurves.svg(MetricsLogTests.history, title: "V2 <Fashion-MNIST>")
        assertWellFormed(svg)
        XCTAssertTrue(svg.contains("V2 &lt;Fashion-MNIST&gt;"))
        // Two panels, each with a training line (3 points) and a validation line (2 finite points).
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 4)
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 10)
        XCTAssertTrue(svg.contains("validation accuracy 84.00 %"))
        let folder = try TemporaryFolder()
        let url = folder.url.appendingPathComponent("curves.svg")
        try TrainingCurves.write(MetricsLogTests.history, title: "run", to: url)
        XCTAssertTrue(try String(contentsOf: url, encoding: .utf8).hasPrefix("<svg"))
    }

    func testCurvesSurviveEmptyHistoriesAndDivergence() {
        assertWellFormed(TrainingCurves.svg([], title: "nothing yet"))
        var diverged = MetricsLogTests.history
        diverged[2].trainLoss = .nan
        diverged[1].trainLoss = .infinity
        let svg = TrainingCurves.svg(diverged, title: "diverged")
        assertWellFormed(svg)
        // No coordinate is NaN; the summary line may say the loss is.
        XCTAssertNil(svg.range(of: "\"[^\"]*nan[^\"]*\"", options: .regularExpression))
        XCTAssertTrue(svg.contains("epoch 3: loss nan"))
        assertWellFormed(TrainingCurves.svg(Array(MetricsLogTests.history.prefix(1)), title: "one epoch"))
    }

    func testTicksAreRound() {
        XCTAssertEqual(TrainingCurves.ticks(from: 0.23, to: 0.91), [0.2, 0.4, 0.6000000000000001, 0.8, 1.0])
        XCTAssertEqual(TrainingCurves.ticks(from: 1, to: 30, integers: true), [0, 10, 20, 30])
        XCTAssertEqual(TrainingCurves.ticks(from: 1, to: 3, integers: true), [1, 2, 3])
    }

    func testConfusionMatrixPictures() throws {
        var matrix = ConfusionMatrix(classCount: 3)
        for (actual, predicted) in [(0, 0), (0, 0), (1, 1), (1, 2), (2, 2)] { matrix.add(actual: actual, predicted: predicted) }
        let svg = ConfusionMatrixPicture.svg(matrix, classNames: ["T-shirt/top", "Trouser", "Bag & co"])
        assertWellFormed(svg)
        XCTAssertTrue(svg.contains("accuracy 80.00 % of 5"))
        XCTAssertTrue(svg.contains("Bag &amp; co"))
        XCTAssertTrue(svg.contains("50.0 %"))

        let image = ConfusionMatrixPicture.image(matrix, cellSize: 10)
        XCTAssertEqual([image.width, image.height], [31, 31])
        XCTAssertTrue(image[5, 5] == (8, 48, 107), "a full row share is the darkest shade")
        XCTAssertTrue(image[15, 5] == (255, 255, 255), "an empty cell is white")
        XCTAssertTrue(image[0, 0] == (200, 200, 200), "grid lines")

        let folder = try TemporaryFolder()
        let png = folder.url.appendingPathComponent("confusion.png")
        try ConfusionMatrixPicture.write(matrix, classNames: [], to: png)
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: png), ConfusionMatrixPicture.image(matrix))
        let svgURL = folder.url.appendingPathComponent("confusion.svg")
        try ConfusionMatrixPicture.write(matrix, classNames: [], to: svgURL)
        XCTAssertTrue(try String(contentsOf: svgURL, encoding: .utf8).contains("class 2"))
    }
}
