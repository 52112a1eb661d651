import CQuantizedAdd
import XCTest
@testable import MobileNetTensor

/// The int8 residual add's two arithmetics (``GraphQuantization/AddArithmetic``): against what
/// ONNX Runtime and LiteRT computed (`QuantizedAddFixture`, from
/// `Scripts/generate_quantized_add_fixtures.py`), and the plan's C loops against the Swift terms.
final class QuantizedAddTests: XCTestCase {
    private func terms(_ draw: QuantizedAddFixture, _ arithmetic: GraphQuantization.AddArithmetic) throws -> GraphQuantization.AddTerms {
        let value = { (scale: Float, zeroPoint: Int32) in GraphQuantization.Value(.uint8, scale: scale, zeroPoint: zeroPoint) }
        return try XCTUnwrap(GraphQuantization.addTerms(
            value(draw.scales.a, draw.zeroPoints.a), value(draw.scales.b, draw.zeroPoints.b), destination: value(draw.scales.c, draw.zeroPoints.c),
            arithmetic: arithmetic))
    }

    /// Every row of every draw, the runtimes' own hardest sums among them (where they disagree
    /// with each other or with the exact sum): each arithmetic gives its runtime's integer.
    func testEachArithmeticIsItsRuntimes() throws {
        var disagreements = 0
        for (index, draw) in QuantizedAddFixture.draws.enumerated() {
            let (onnxRuntime, xnnpack) = (try terms(draw, .onnxRuntime), try terms(draw, .xnnpack))
            for row in draw.rows {
                XCTAssertEqual(onnxRuntime(row.a, row.b), row.onnxRuntime, "draw \(index): (\(row.a), \(row.b)) in ONNX Runtime")
                XCTAssertEqual(xnnpack(row.a, row.b), row.liteRT, "draw \(index): (\(row.a), \(row.b)) in LiteRT")
                if row.onnxRuntime != row.liteRT { disagreements += 1 }
            }
        }
        XCTAssertGreaterThan(disagreements, 20, "the fixture holds sums the two runtimes round differently")
    }

    /// The plan's loops (`CQuantizedAdd`, vectorized where the CPU has AVX2) equal the terms on
    /// all 65,536 pairs, in place over `a` too, for seeded scales and zero points.
    func testKernelsEqualTheTerms() throws {
        let count = 65_536 + 37 // a tail the vector loop does not cover
        let a = (0..<count).map { UInt8(truncatingIfNeeded: $0 >> 8) }
        let b = (0..<count).map { UInt8(truncatingIfNeeded: $0) }
        var generator = SplitMix64(seed: 5)
        for draw in 0..<12 {
            let scale = { Float(0.002 + 0.05 * Double(generator.next() % 1000) / 1000) }
            let zeroPoint = { Int32(generator.next() % 256) }
            let (sa, sb, sc) = (scale(), scale(), scale())
            let (za, zb, zc) = (zeroPoint(), zeroPoint(), zeroPoint())
            for arithmetic in GraphQuantization.AddArithmetic.allCases {
                let terms = try XCTUnwrap(GraphQuantization.addTerms(
                    .init(.uint8, scale: sa, zeroPoint: za), .init(.uint8, scale: sb, zeroPoint: zb),
                    destination: .init(.uint8, scale: sc, zeroPoint: zc), arithmetic: arithmetic))
                let expected = zip(a, b).map { UInt8(terms(Int32($0), Int32($1))) }
                var separate = [UInt8](repeating: 0, count: count)
                var inPlace = a
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        separate.withUnsafeMutableBufferPointer { c in run(terms, a.baseAddress!, b.baseAddress!, c.baseAddress!, count) }
                        inPlace.withUnsafeMutableBufferPointer { c in run(terms, c.baseAddress!, b.baseAddress!, c.baseAddress!, count) }
                    }
                }
                XCTAssertEqual(separate, expected, "draw \(draw), \(arithmetic)")
                XCTAssertEqual(inPlace, expected, "draw \(draw), \(arithmetic) in place")
            }
        }
        XCTAssertTrue(["avx2", "generic"].contains(String(cString: mobilenet_quantized_add_isa())))
    }

    private func run(_ terms: GraphQuantization.AddTerms, _ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ c: UnsafeMutablePointer<UInt8>, _ count: Int) {
        switch terms {
        case let .float(ratioA, ratioB, constant):
            mobilenet_quantized_add_float(a, b, c, count, ratioA, ratioB, constant)
        case let .fixedPoint(multiplierA, multiplierB, bias, shift, zeroPoint):
            mobilenet_quantized_add_fixed(a, b, c, count, multiplierA, multiplierB, bias, shift, zeroPoint)
        }
    }

    /// XNNPACK's fixed point takes ratios in [2^-10, 2^8): beyond, no terms, and a plan or the
    /// reference refuses the step by name.
    func testFixedPointRefusesRatiosBeyondXNNPACKsRange() throws {
        let small = GraphQuantization.Value(.uint8, scale: 0x1p-12)
        let unit = GraphQuantization.Value(.uint8, scale: 1)
        XCTAssertNil(GraphQuantization.addTerms(small, unit, destination: unit, arithmetic: .xnnpack))
        XCTAssertNil(GraphQuantization.addTerms(GraphQuantization.Value(.uint8, scale: 256), unit, destination: unit, arithmetic: .xnnpack))
        XCTAssertNotNil(GraphQuantization.addTerms(small, unit, destination: unit, arithmetic: .onnxRuntime))
        var graph = InferenceGraph()
        let x = graph.input(channels: 2)
        let y = graph.convolution(x, weight: .zeros([2, 2, 1, 1]), bias: .zeros([2]), geometry: .init(), post: [])
        _ = graph.add(y, x)
        let layer = GraphQuantization.Layer(weights: [1, 0, 0, 1], weightScales: [1, 1], bias: [0, 0])
        let quantization = GraphQuantization(values: [unit, small, unit], layers: [1: layer], weightRange: .eightBit, addArithmetic: .xnnpack)
        XCTAssertThrowsError(try graph.quantizedValues(try Tensor(shape: [1, 1, 1, 2], values: [1, 2]), quantization)) {
            XCTAssertEqual($0 as? QuantizationError, .addRatiosOutOfRange(step: 2, arithmetic: .xnnpack, ratios: [0x1p-12, 1]))
        }
        XCTAssertThrowsError(try InferenceSession(graph: graph, quantization: quantization).run(try Tensor(shape: [1, 1, 1, 2], values: [1, 2]))) {
            XCTAssertEqual($0 as? QuantizationError, .addRatiosOutOfRange(step: 2, arithmetic: .xnnpack, ratios: [0x1p-12, 1]))
        }
    }
}
