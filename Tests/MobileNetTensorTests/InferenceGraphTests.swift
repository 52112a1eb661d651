import CDNNL
import XCTest
@testable import MobileNetTensor

/// ``InferenceSession`` against its unfused twin, ``InferenceGraph/evaluate(_:)`` on the
/// reference engine, for graphs written by hand: no model, no lowering, so a failure here is the
/// session's alone. Each graph exercises one kind of fusion on awkward shapes.
///
/// Error measure: ``relativeError(_:_:file:line:)``, required ≤ 1e-4 (float32 sums of a few
/// hundred products, accumulated in another order by oneDNN's blocked kernels).
final class InferenceGraphTests: XCTestCase {
    private let tolerance: Float = 1e-4
    private var generator = SplitMix64(seed: 31)

    private func assertSessionMatchesReference(
        _ graph: InferenceGraph, inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let session = InferenceSession(graph: graph)
        for parallelism in [InferenceSession.BatchParallelism.withinPrimitives, .acrossImages] {
            session.batchParallelism = parallelism
            for input in inputs {
                let fast = try session.run(input)
                let reference = try Engine.$current.withValue(ReferenceEngine()) { try graph.evaluate(input) }
                let error = relativeError(fast, reference, file: file, line: line)
                XCTAssertLessThanOrEqual(
                    error, tolerance, "\(parallelism), input \(input.shape): relative error \(error)", file: file, line: line)
            }
        }
    }

    /// An inverted residual by hand: 1x1 expansion with ReLU6, depthwise 3x3 with ReLU6, a linear
    /// projection whose post-operation adds the block's input (the fused `sum`).
    func testResidualBlockWithFusedAddAndActivations() throws {
        var graph = InferenceGraph()
        let channels = 13, hidden = 39
        let x = graph.input(channels: channels)
        let expanded = graph.convolution(
            x, weight: generator.uniform([hidden, channels, 1, 1]), bias: generator.uniform([hidden]), geometry: .init(), post: [.activation(.relu6)])
        let spatial = graph.convolution(
            expanded, weight: generator.uniform([hidden, 1, 3, 3]), bias: generator.uniform([hidden]),
            geometry: .init(padding: 1, groups: hidden), post: [.activation(.relu6)])
        _ = graph.convolution(
            spatial, weight: generator.uniform([channels, hidden, 1, 1]), bias: generator.uniform([channels]), geometry: .init(), post: [.add(x)])
        XCTAssertEqual(graph.lastUses, [3, 2, 3, 4], "the input lives until the projection adds it, the output until the end")
        try assertSessionMatchesReference(graph, inputs: [generator.uniform([1, 9, 11, channels]), generator.uniform([3, 7, 6, channels])])
    }

    /// Squeeze-and-excitation by hand: a pooled branch of two 1x1 convolutions (ReLU, then
    /// hard-sigmoid, which oneDNN 2.6 runs as two eltwise post-ops) scaling a 5x5 stride-2 depthwise
    /// output, then a linear head with h-swish fused.
    func testSqueezeExcitationBranchAndLinearHead() throws {
        var graph = InferenceGraph()
        let channels = 24, squeeze = 8, classes = 7
        let x = graph.input(channels: channels)
        let spatial = graph.convolution(
            x, weight: generator.uniform([channels, 1, 5, 5]), bias: generator.uniform([channels]),
            geometry: .init(stride: 2, padding: 2, groups: channels), post: [.activation(.hardSwish)])
        let pooled = graph.globalAveragePool(spatial)
        let reduced = graph.convolution(
            pooled, weight: generator.uniform([squeeze, channels, 1, 1]), bias: generator.uniform([squeeze]), geometry: .init(),
            post: [.activation(.relu)])
        let scale = graph.convolution(
            reduced, weight: generator.uniform([channels, squeeze, 1, 1]), bias: generator.uniform([channels]), geometry: .init(),
            post: [.activation(.hardSigmoid)])
        let excited = graph.multiplyChannels(spatial, by: scale)
        _ = graph.linear(
            graph.globalAveragePool(excited), weight: generator.uniform([classes, channels]), bias: generator.uniform([classes]),
            post: [.activation(.hardSwish)])
        try assertSessionMatchesReference(graph, inputs: [generator.uniform([2, 15, 13, channels]), generator.uniform([5, 8, 8, channels])])
    }

    /// A stride-2 full 3x3 stem on 3 channels straight into a linear layer: the edges of the
    /// plan (the NHWC input reorder, a flattened `[N, C]` output).
    func testStemAndLinearOutputShape() throws {
        var graph = InferenceGraph()
        let x = graph.input(channels: 3)
        let stem = graph.convolution(
            x, weight: generator.uniform([16, 3, 3, 3]), bias: generator.uniform([16]), geometry: .init(stride: 2, padding: 1),
            post: [.activation(.relu6)])
        _ = graph.linear(graph.globalAveragePool(stem), weight: generator.uniform([10, 16]), bias: generator.uniform([10]))
        let session = InferenceSession(graph: graph)
        XCTAssertEqual(try session.run(generator.uniform([4, 33, 31, 3])).shape, [4, 10])
        try assertSessionMatchesReference(graph, inputs: [generator.uniform([1, 33, 31, 3]), generator.uniform([4, 17, 17, 3])])
    }

    /// A graph with several outputs (a detector's heads on two maps): a strided map that
    /// later steps still read, a head on each, a pooled linear output, marked out of their
    /// order of computation; every output equals the reference's, in the marked order, at batch
    /// 1 and across images.
    func testSeveralOutputsInTheOrderMarked() throws {
        var graph = InferenceGraph()
        let x = graph.input(channels: 5)
        let first = graph.convolution(
            x, weight: generator.uniform([12, 5, 3, 3]), bias: generator.uniform([12]), geometry: .init(stride: 2, padding: 1),
            post: [.activation(.relu6)])
        let firstHead = graph.convolution(first, weight: generator.uniform([6, 12, 1, 1]), bias: generator.uniform([6]), geometry: .init())
        let second = graph.convolution(
            first, weight: generator.uniform([12, 1, 3, 3]), bias: generator.uniform([12]),
            geometry: .init(stride: 2, padding: 1, groups: 12), post: [.activation(.relu6)])
        let secondHead = graph.convolution(second, weight: generator.uniform([8, 12, 1, 1]), bias: generator.uniform([8]), geometry: .init())
        let pooled = graph.linear(graph.globalAveragePool(second), weight: generator.uniform([3, 12]), bias: generator.uniform([3]))
        XCTAssertEqual(graph.outputs, [pooled], "the last step, until others are marked")
        for output in [secondHead, firstHead, pooled] { graph.markOutput(output) }
        XCTAssertEqual(graph.outputs, [secondHead, firstHead, pooled])
        XCTAssertEqual(graph.lastUses[firstHead.index], graph.steps.count, "an output is read at the end")

        let session = InferenceSession(graph: graph)
        for parallelism in [InferenceSession.BatchParallelism.withinPrimitives, .acrossImages] {
            session.batchParallelism = parallelism
            for input in [generator.uniform([1, 13, 11, 5]), generator.uniform([3, 9, 9, 5])] {
                let fast = try session.runOutputs(input)
                let reference = try Engine.$current.withValue(ReferenceEngine()) { try graph.evaluateOutputs(input) }
                XCTAssertEqual(fast.map(\.shape), reference.map(\.shape))
                XCTAssertEqual(fast.map(\.shape).last, [input.shape[0], 3])
                for (fastOutput, referenceOutput) in zip(fast, reference) {
                    XCTAssertLessThanOrEqual(relativeError(fastOutput, referenceOutput), tolerance, "\(parallelism), input \(input.shape)")
                }
                XCTAssertEqual(try session.run(input).scalars, fast[0].scalars, "run gives the first output")
            }
        }
    }

    /// A segmentation head's pattern by hand: a stride-2 map resized bilinearly (oneDNN's
    /// resampling) back to a stride-1 map's odd size and added to a 1x1 convolution of it, then
    /// the sum resized up to the input's size and down to a third value's: up- and downsampling,
    /// a resize feeding a fused `sum`, and a reference that only lends its size.
    func testBilinearResizesToTheSizeOfOtherValues() throws {
        var graph = InferenceGraph()
        let x = graph.input(channels: 6)
        let fine = graph.convolution(x, weight: generator.uniform([10, 6, 1, 1]), bias: generator.uniform([10]), geometry: .init())
        let coarse = graph.convolution(
            x, weight: generator.uniform([10, 6, 3, 3]), bias: generator.uniform([10]), geometry: .init(stride: 2, padding: 1),
            post: [.activation(.relu)])
        let small = graph.convolution(
            coarse, weight: generator.uniform([4, 10, 3, 3]), bias: generator.uniform([4]), geometry: .init(stride: 2, padding: 1))
        let resized = graph.resizeBilinear(coarse, toSizeOf: fine)
        let sum = graph.convolution(resized, weight: generator.uniform([7, 10, 1, 1]), bias: generator.uniform([7]), geometry: .init(),
                                    post: [.add(graph.convolution(fine, weight: generator.uniform([7, 10, 1, 1]), bias: generator.uniform([7]), geometry: .init()))])
        let up = graph.resizeBilinear(sum, toSizeOf: x)
        let down = graph.resizeBilinear(up, toSizeOf: small)
        XCTAssertEqual(graph.steps[resized.index].inputs, [coarse], "the reference is not read")
        graph.markOutput(up)
        graph.markOutput(down)
        let session = InferenceSession(graph: graph)
        for input in [generator.uniform([1, 13, 11, 6]), generator.uniform([3, 9, 20, 6])] {
            let fast = try session.runOutputs(input)
            let reference = try Engine.$current.withValue(ReferenceEngine()) { try graph.evaluateOutputs(input) }
            XCTAssertEqual(fast.map(\.shape), [[input.shape[0], input.shape[1], input.shape[2], 7], reference[1].shape])
            for (fastOutput, referenceOutput) in zip(fast, reference) {
                XCTAssertLessThanOrEqual(relativeError(fastOutput, referenceOutput), tolerance, "input \(input.shape)")
            }
        }
    }

    /// The wrong number of channels is refused by the session as by the reference.
    func testWrongInputChannelsIsAnError() throws {
        var graph = InferenceGraph()
        let x = graph.input(channels: 3)
        _ = graph.globalAveragePool(x)
        let session = InferenceSession(graph: graph)
        XCTAssertThrowsError(try session.run(generator.uniform([1, 8, 8, 4])))
        XCTAssertThrowsError(try graph.evaluate(generator.uniform([1, 8, 8, 4])))
    }

    /// Profiles name layouts as people write them, from the descriptor's strides and blocks.
    func testLayoutNamesFromDescriptors() throws {
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([2, 32, 7, 5], dnnl_nhwc)), "nhwc")
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([2, 32, 7, 5], dnnl_nchw)), "nchw")
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([2, 32, 7, 5], dnnl_nChw16c)), "nChw16c")
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([2, 32, 7, 5], dnnl_nChw8c)), "nChw8c")
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([2, 1000], dnnl_ab)), "nc")
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([64, 32, 3, 3], dnnl_OIhw16i16o), weights: true), "ABcd16b16a")
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([64, 32, 3, 3], dnnl_oihw), weights: true), "oihw")
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([32, 1, 1, 3, 3], dnnl_goihw), weights: true), "goihw")
        XCTAssertEqual(DNNL.layoutName(try DNNL.memoryDescriptor([2, 32, 7, 5], dnnl_format_tag_any)), "any")
    }
}
