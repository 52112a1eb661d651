import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest

/// `InferenceSession.profile`: one row per compiled step, named and counted as `mobilenet info`
/// names and counts the layers, and the same logits as a normal run (timing itself is no test).
final class InferenceProfileTests: XCTestCase {
    private func model(_ architecture: Architecture, width: Double) throws -> any ImageClassifier {
        let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: width, classCount: 10), seed: nil)
        model.setTraining(false)
        DeterministicFill.fill(model)
        return model
    }

    func testRowsAreThePlanStepsNamedAndCountedLikeTheSummary() throws {
        let expectedKinds: [Architecture: [String: Int]] = [
            // V1: the stem, 13 depthwise separable blocks, pooling, the classifier.
            .v1: ["stem": 1, "depthwise": 13, "pointwise": 13, "pool": 1, "classifier": 1],
            // V2: 17 blocks, the first without expansion; the head 1x1; one linear layer.
            .v2: ["stem": 1, "expand": 16, "depthwise": 17, "project": 17, "head": 1, "pool": 1, "classifier": 1],
            // V3-Large: 15 blocks, 11 with expansion, 8 with squeeze-and-excitation (4 steps each).
            .v3Large: ["stem": 1, "expand": 14, "depthwise": 15, "project": 15, "se": 32, "head": 1, "pool": 1, "classifier": 2],
            .v3Small: ["stem": 1, "expand": 10, "depthwise": 11, "project": 11, "se": 36, "head": 1, "pool": 1, "classifier": 2],
        ]
        for architecture in [Architecture.v1, .v2, .v3Large, .v3Small] {
            let model = try model(architecture, width: 0.5)
            let resolution = 64
            let summary = try ModelSummary(model: model, resolution: resolution)
            let infoMACs = Dictionary(summary.rows.map { ($0.name, $0.multiplyAdds) }, uniquingKeysWith: { a, _ in a })
            let session = try InferenceModel(model).session
            session.batchParallelism = .withinPrimitives
            let (input, _) = try DeterministicFill.input(batch: 1, resolution: resolution)
            let (profile, output) = try session.profile(input, warmup: 1, iterations: 3)
            let label = "\(architecture)"

            XCTAssertEqual(profile.steps.map(\.implementation), try session.implementations(for: input.shape), "\(label): one row per plan step")
            XCTAssertEqual(Set(profile.steps.map(\.name)).count, profile.steps.count, "\(label): names are unique")
            // Reorders depend on the layouts the kernels of this CPU choose (AVX2 ones convert the
            // image for the stem); the rest does not.
            var kinds = Dictionary(grouping: profile.steps, by: \.kind).mapValues(\.count)
            XCTAssertGreaterThanOrEqual(kinds.removeValue(forKey: "reorder") ?? 0, 1, "\(label): at least the output's reorder")
            XCTAssertEqual(kinds, expectedKinds[architecture], label)
            for step in profile.steps where step.kind == "reorder" {
                XCTAssertTrue(step.name.hasSuffix(":reorder") || step.name.contains(":reorder#"), "\(label): \(step.name)")
            }
            for step in profile.steps where step.primitive == "convolution" || step.primitive == "inner_product" {
                // A convolution or linear step is named after its layer and does its multiply-adds.
                XCTAssertEqual(step.multiplyAdds, infoMACs[step.name], "\(label): \(step.name) against mobilenet info")
            }
            XCTAssertEqual(profile.steps.reduce(0) { $0 + $1.multiplyAdds }, summary.multiplyAdds, "\(label): all multiply-adds")
            for step in profile.steps {
                XCTAssertEqual(step.microseconds.count, 3, "\(label): \(step.name)")
                XCTAssertGreaterThan(step.bytesMoved, 0, "\(label): \(step.name)")
            }
            XCTAssertEqual(output.scalars, try session.run(input).scalars, "\(label): profiling does not change the logits")
        }
    }

    func testAProfileAcrossImagesTimesOneWorkersPlanAndKeepsTheLogits() throws {
        let threads = CPUEngine.threadCount
        CPUEngine.threadCount = 2
        defer { CPUEngine.threadCount = threads }
        let model = try model(.v3Small, width: 0.5)
        let session = try InferenceModel(model).session
        // Five 64x64 images on two workers: tasks of two (small images share a task), and a last
        // task of one, with a plan of its own.
        let (input, _) = try DeterministicFill.input(batch: 5, resolution: 64)
        let (profile, output) = try session.profile(input, warmup: 0, iterations: 2)
        XCTAssertEqual(profile.parallelism, .acrossImages)
        XCTAssertEqual(profile.steps.first?.inputs.first?.dimensions, [2, 3, 64, 64], "a worker's task of two images")
        XCTAssertEqual(output.scalars, try session.run(input).scalars)
        XCTAssertEqual(output.scalars, try session.run(input).scalars, "and again")
        XCTAssertLessThanOrEqual(output.maxAbsoluteDifference(try model(input)), 1e-3)
    }

    func testStepsDescribeTheirOperands() throws {
        let model = try model(.v2, width: 1)
        let session = try InferenceModel(model).session
        let (input, _) = try DeterministicFill.input(batch: 1, resolution: 224)
        let (profile, _) = try session.profile(input, warmup: 0, iterations: 1)
        let depthwise = try XCTUnwrap(profile.steps.first { $0.name == "features.3.conv.1.0" })
        XCTAssertEqual(depthwise.kind, "depthwise")
        XCTAssertEqual(depthwise.inputs.first?.dimensions, [1, 144, 56, 56])
        XCTAssertEqual(depthwise.output.dimensions, [1, 144, 56, 56])
        // 3x3 per channel: 144 · 56 · 56 · 9 multiply-adds; weights [144, 1, 1, 3, 3] (groups first) and a bias.
        XCTAssertEqual(depthwise.multiplyAdds, 144 * 56 * 56 * 9)
        XCTAssertEqual(depthwise.weights.map(\.dimensions), [[144, 1, 1, 3, 3], [144]])
        XCTAssertEqual(depthwise.output.type, "f32")
        // A residual block's projection reads the shortcut too (the sum post-op).
        let projection = try XCTUnwrap(profile.steps.first { $0.name == "features.3.conv.2" })
        XCTAssertEqual(projection.inputs.count, 2)
        XCTAssertEqual(projection.bytesMoved, (projection.inputs + projection.weights + [projection.output]).reduce(0) { $0 + $1.bytes })
        let layouts = Set(profile.steps.flatMap { $0.inputs + [$0.output] }.map(\.layout))
        XCTAssertTrue(layouts.isSubset(of: ["nhwc", "nChw16c", "nChw8c", "nc", "nchw"]), "\(layouts)")
        XCTAssertEqual(profile.steps.last?.name, "output:reorder")
    }
}
