import MobileNetNN
import MobileNetTensor
import XCTest

@testable import MobileNetTraining

final class GradientClippingTests: XCTestCase {
    func testMatchesClipGradNorm() throws {
        let fixtures = try TrainingFixtures.load()
        for fixture in fixtures.clipping {
            let parameters = try fixtures.makeParameters()
            try fixtures.setGradients(step: 0, on: parameters)
            let norm = clipGradientNorm(parameters.map(\.parameter), maxNorm: fixture.max_norm)
            XCTAssertEqual(Double(norm), fixture.total_norm, accuracy: 1e-6 * fixture.total_norm)
            for (key, parameter) in parameters {
                let error = largestRelativeError(try XCTUnwrap(parameter.gradient).scalars, fixture.clipped[key]!)
                XCTAssertLessThanOrEqual(error, 1e-7, "max norm \(fixture.max_norm), \(key)")
            }
        }
    }

    func testNonFiniteNormLeavesGradientsAlone() throws {
        let parameter = Parameter(Tensor.zeros([2]))
        parameter.gradient = try Tensor(shape: [2], values: [.nan, 1])
        let untouched = Parameter(Tensor.zeros([1]))
        XCTAssertTrue(clipGradientNorm([parameter, untouched], maxNorm: 1).isNaN)
        XCTAssertEqual(parameter.gradient?.scalars[1], 1)
    }
}
