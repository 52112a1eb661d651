import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest

/// The fused inference path (batch norm folded, post-ops, blocked layouts) against the plain
/// module-by-module forward pass, with the parity fixtures' deterministic weights.
final class InferenceModelTests: XCTestCase {
    private func model(_ architecture: Architecture, width: Double, classes: Int) throws -> any ImageClassifier {
        let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: width, classCount: classes), seed: nil)
        model.setTraining(false)
        DeterministicFill.fill(model)
        return model
    }

    func testFusedLogitsEqualTheModulesForEveryFamily() throws {
        let cases: [(Architecture, Double, Int, Int)] = [
            (.v1, 0.25, 128, 16), (.v2, 1.0, 224, 1000), (.v2, 0.35, 96, 10),
            (.v3Large, 1.0, 224, 1000), (.v3Small, 0.75, 64, 10), (.v3Large, 0.75, 160, 5),
        ]
        for (architecture, width, resolution, classes) in cases {
            let model = try model(architecture, width: width, classes: classes)
            let (input, _) = try DeterministicFill.input(batch: 2, resolution: resolution)
            let expected = try model(input)
            let graph = try model.inferenceGraph()
            let unfused = try graph.evaluate(input)
            let fast = try InferenceModel(model)(input)
            let label = "\(architecture) α=\(width) at \(resolution)"
            XCTAssertLessThanOrEqual(unfused.maxAbsoluteDifference(expected), 1e-4, "\(label): folded graph, step by step")
            XCTAssertLessThanOrEqual(fast.maxAbsoluteDifference(expected), 1e-3, "\(label): fused session")
        }
    }

    func testRepeatedRunsAndNewShapesReuseOrCompilePlans() throws {
        let model = try model(.v3Small, width: 1, classes: 10)
        let fast = try InferenceModel(model)
        let (input, _) = try DeterministicFill.input(batch: 2, resolution: 96)
        let first = try fast(input)
        XCTAssertEqual(try fast(input).scalars, first.scalars, "a second run of the same plan is identical")
        let (larger, _) = try DeterministicFill.input(batch: 3, resolution: 128)
        XCTAssertLessThanOrEqual(try fast(larger).maxAbsoluteDifference(model(larger)), 1e-3)
        XCTAssertEqual(try fast(input).scalars, first.scalars, "going back to the first shape reuses its plan")
    }

    func testImagesOnTheirOwnThreadsGiveTheBatchesLogits() throws {
        let threads = CPUEngine.threadCount
        CPUEngine.threadCount = 2
        defer { CPUEngine.threadCount = threads }
        for (architecture, resolution) in [(Architecture.v2, 96), (.v3Small, 64)] {
            let model = try model(architecture, width: 0.5, classes: 10)
            let fast = try InferenceModel(model)
            let (input, _) = try DeterministicFill.input(batch: 5, resolution: resolution)
            XCTAssertEqual(fast.session.batchParallelism, .acrossImages)
            let acrossImages = try fast(input)
            fast.session.batchParallelism = .withinPrimitives
            let withinPrimitives = try fast(input)
            XCTAssertEqual(acrossImages.shape, [5, 10])
            XCTAssertLessThanOrEqual(acrossImages.maxAbsoluteDifference(withinPrimitives), 1e-4, "\(architecture)")
            XCTAssertLessThanOrEqual(acrossImages.maxAbsoluteDifference(try model(input)), 1e-3, "\(architecture)")
            // Each image alone gives its row of the batch.
            for image in [0, 4] {
                let single = try fast(Self.image(image, of: input))
                XCTAssertLessThanOrEqual(single.maxAbsoluteDifference(try Self.image(image, of: acrossImages)), 1e-4)
            }
            fast.session.batchParallelism = .acrossImages
            XCTAssertEqual(try fast(input).scalars, acrossImages.scalars, "a second run reuses the workers' plans")
        }
    }

    func testWorkerPlansShareTheirWeights() throws {
        let threads = CPUEngine.threadCount
        defer { CPUEngine.threadCount = threads }
        let model = try model(.v2, width: 0.5, classes: 10)
        let (image, _) = try DeterministicFill.input(batch: 1, resolution: 96)
        let (batch, _) = try DeterministicFill.input(batch: 4, resolution: 96)
        // One plan for one image on one thread: the weights in the layouts a worker's plan uses.
        CPUEngine.threadCount = 1
        let single = try InferenceModel(model)
        _ = try single(image)
        // Two workers, each with a plan for one image on one thread, hold them once.
        CPUEngine.threadCount = 2
        let workers = try InferenceModel(model)
        _ = try workers(batch)
        XCTAssertGreaterThan(single.session.weightBytes, 0)
        XCTAssertEqual(workers.session.weightBytes, single.session.weightBytes)
    }

    /// Item `index` of a batch, as a batch of one.
    private static func image(_ index: Int, of batch: Tensor) throws -> Tensor {
        let count = batch.elementCount / batch.shape[0]
        return try Tensor(
            shape: Shape([1] + batch.shape.dimensions.dropFirst()),
            values: Array(batch.scalars[index * count..<(index + 1) * count]))
    }

    func testEveryKernelIsAJITKernel() throws {
        let model = try makeModel(ModelConfiguration(.v2), seed: 1)
        let implementations = try InferenceModel(model).session.implementations(for: [1, 224, 224, 3])
        XCTAssertFalse(implementations.isEmpty)
        XCTAssertEqual(implementations.filter { $0.hasPrefix("ref") }, [], "\(implementations)")
        guard let isa = CPUEngine.float32KernelInstructionSet else { return }
        // Kernels named for an instruction set (convolutions, pooling) are those of the set at hand:
        // `brgconv_1x1:avx512_core` and `brdgmm_dw:avx512_core` on AVX-512, `jit_1x1:avx2` and
        // `jit_dw:avx2` on AVX2. The rest name none: reorders (`jit:uni`, `jit:blk`,
        // `simple:any`) and the classifier's `gemm:jit`.
        let x86Sets = ["sse41", "avx", "avx2", "avx2_vnni", "avx512_mic", "avx512_mic_4ops", "avx512_core",
                       "avx512_core_vnni", "avx512_core_bf16", "avx512_core_amx"]
        let named = implementations.filter { name in x86Sets.contains { name.hasSuffix(":" + $0) } }
        XCTAssertEqual(named.filter { !$0.hasSuffix(":" + isa) }, [], "on \(CPUEngine.instructionSet)")
        // V2 has 52 convolutions (the stem, 2 + 16 × 3 in the inverted residuals, the last 1×1)
        // and one average pooling.
        XCTAssertGreaterThanOrEqual(named.count, 53, "\(implementations)")
    }

    func testBadInputsAreTypedErrors() throws {
        let fast = try InferenceModel(makeModel(ModelConfiguration(.v3Small, classCount: 3), seed: 1))
        XCTAssertThrowsError(try fast(Tensor.zeros([1, 16, 64, 3])))
        XCTAssertThrowsError(try fast(Tensor.zeros([1, 64, 64, 1])))
        XCTAssertThrowsError(try fast(Tensor.zeros([64, 64, 3])))
    }
}
