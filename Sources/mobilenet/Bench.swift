import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet bench`: inference latency and throughput of the fused path, after a warm-up.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure inference latency and throughput (fused oneDNN path), or training steps with --train.")

    @Option(name: .long, help: "classification, detection (SSDLite: from photos to boxes) or segmentation (LR-ASPP: from photos to class maps).")
    var task: Task = .classification

    @OptionGroup var model: ModelOptions

    @Option(name: .customLong("resolution"), help: "The input resolution ρ, in pixels (\(ModelConfiguration.minimumResolution) to \(ModelConfiguration.maximumResolution); default 224, for detection the detector's, for segmentation the shorter side 512).")
    var givenResolution: Int?

    var resolution: Int { givenResolution ?? 224 }

    @Option(name: .long, help: "--task detection or segmentation: the photo, repeated to fill the batch (default: a Fashion-MNIST test scene).")
    var image: String?

    @Option(name: .long, help: "Images per forward pass, \(FlagChecks.batchBoundHelp).")
    var batch: Int = 1

    @OptionGroup var engine: EngineOptions

    @Option(name: .long, help: "How a batch uses the threads: images (each thread runs whole images on its own) or primitives (every layer uses all threads).")
    var parallelism: Parallelism = .images

    enum Parallelism: String, ExpressibleByArgument, CaseIterable {
        case images, primitives
    }

    @Option(name: .long, help: "Timed runs after the warm-up, at most \(Self.maximumRuns).")
    var iterations: Int = 200

    @Option(name: .long, help: "Untimed runs first, at most \(Self.maximumRuns).")
    var warmup: Int = 20

    /// The most timed (or warm-up) runs: a million, 17 minutes at 1 ms a run. The latencies are
    /// kept for the percentiles, 8 MB at the limit; `--iterations 1e12` asked for 8 TB.
    static let maximumRuns = 1_000_000

    @Option(name: .long, help: "A checkpoint to load (default: the published weights when cached, else random ones; speed does not depend on the values).")
    var weights: String?

    @Flag(name: .long, help: "Time training steps (forward, backward, SGD update) instead of inference.")
    var train = false

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    @Flag(name: .long, help: "Time every step of the compiled plan on its own (the stream waited for after each) and print them against the machine's peak.")
    var profile = false

    @Option(name: .long, help: "With --profile: also draw the profile as an SVG picture to this file.")
    var svg: String?

    @Flag(name: .long, help: "Replace the --svg file if it exists.")
    var force = false

    @Option(name: .long, help: "With --profile: the compute ceiling in GFLOP/s (int8: integer GOP/s) for all threads (default: measured by an FMA loop, or a u8 x s8 dot-product loop for int8).")
    var peakGflops: Double?

    @Option(name: .long, help: "With --profile: the memory ceiling in GB/s for all threads (default: measured by a read loop).")
    var peakGbps: Double?

    @Option(name: .long, help: "The arithmetic of the inference path: fp32, or int8 (quantized from the benchmark's first image: speed does not depend on the values).")
    var precision: Precision = .fp32

    enum Precision: String, ExpressibleByArgument, CaseIterable {
        case fp32, int8
    }

    @Option(name: .customLong("model"), help: "A quantized model file (from `mobilenet quantize`) to time in int8 instead; it names its own model.")
    var quantizedModel: String?

    /// int8 for a quantized model file, else `--precision`.
    private var effectivePrecision: Precision { quantizedModel == nil ? precision : .int8 }

    func validate() throws {
        if task != .classification {
            for (flag, given) in [("--train", train), ("--profile", profile), ("--model", quantizedModel != nil), ("--precision", precision != .fp32)]
            where given {
                throw ValidationError("\(flag) applies to --task classification only")
            }
        } else if image != nil {
            throw ValidationError("--image applies to --task detection or segmentation only")
        }
        try FlagChecks.resolution(resolution)
        try FlagChecks.batch(batch, flag: "--batch", resolution: resolution)
        try FlagChecks.require("--iterations", iterations, in: 1...Self.maximumRuns)
        try FlagChecks.require("--warmup", warmup, in: 0...Self.maximumRuns)
        if train, profile { throw ValidationError("--profile times inference steps; it cannot be combined with --train") }
        if train, quantizedModel != nil { throw ValidationError("--model is an int8 inference model; --train times fp32 training") }
        for (flag, given) in [("--svg", svg != nil), ("--peak-gflops", peakGflops != nil), ("--peak-gbps", peakGbps != nil)] where given && !profile {
            throw ValidationError("\(flag) needs --profile")
        }
        for (flag, value) in [("--peak-gflops", peakGflops), ("--peak-gbps", peakGbps)] {
            if let value, !(value > 0 && value.isFinite) { throw ValidationError("\(flag) must be a positive number, got \(value)") }
        }
        if let svg, !force, FileManager.default.fileExists(atPath: svg) {
            throw ValidationError("--svg file \(svg) exists; pass --force to replace it")
        }
    }

    func run() throws {
        engine.apply()
        if task == .detection { return try runDetection() }
        if task == .segmentation { return try runSegmentation() }
        var generator = SplitMix64(seed: 7)
        let images = Tensor.uniform([batch, resolution, resolution, 3], in: -2...2, using: &generator)
        if profile { return try runProfile(images: images) }
        let step = try train ? trainingStep(loadModel(), images: images, using: &generator) : inferenceStep(images: images)
        noteWaitPolicy()

        for _ in 0..<warmup { try step() }
        var latencies: [Double] = []
        latencies.reserveCapacity(iterations)
        let clock = ContinuousClock()
        for _ in 0..<iterations {
            let elapsed = try clock.measure { try step() }
            latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
        }
        latencies.sort()
        let report = Report(
            mode: train ? "train" : "inference", variant: model.variant.rawValue, width: model.width, resolution: resolution, batch: batch,
            threads: CPUEngine.threadCount, parallelism: train ? nil : effectiveParallelism.rawValue,
            precision: effectivePrecision.rawValue, instructionSet: CPUEngine.instructionSet, iterations: iterations, isa: CPUEngine.instructionSet,
            latencyMsP50: Self.percentile(latencies, 0.5), latencyMsP90: Self.percentile(latencies, 0.9),
            latencyMsMin: latencies[0],
            imagesPerSecond: Double(batch) / (Self.percentile(latencies, 0.5) / 1000),
            peakRssMb: Self.peakResidentMegabytes())
        if json {
            try Self.printJSON(report)
        } else {
            func milliseconds(_ value: Double) -> String { String(format: "%.3f ms", value) }
            print("\(report.mode): MobileNet \(report.variant) α=\(report.width) \(resolution)x\(resolution), batch \(batch), "
                + "\(report.threads) thread(s)" + (report.parallelism.map { " across \($0)" } ?? "") + ", \(report.precision) on \(report.instructionSet): p50 \(milliseconds(report.latencyMsP50)), p90 \(milliseconds(report.latencyMsP90)), "
                + "min \(milliseconds(report.latencyMsMin)), " + String(format: "%.1f images/s, peak RSS %.1f MB", report.imagesPerSecond, report.peakRssMb))
        }
    }

    /// Warns that passive OpenMP threads slow batch 1; said once everything has loaded, so that
    /// a failure stays the one line it should be.
    private func noteWaitPolicy() {
        if !train, batch == 1, CPUEngine.threadCount > 1,
           ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"]?.lowercased() == "passive" {
            FileHandle.standardError.write(Data(
                "note: OMP_WAIT_POLICY=passive wakes a sleeping thread for every layer; unset it for the lowest latency\n".utf8))
        }
    }

    /// `--profile`: every step timed, against the peak measured here (or given).
    private func runProfile(images: Tensor) throws {
        let session = try inferenceSession(images: images)
        noteWaitPolicy()
        let (profile, _) = try session.profile(images, warmup: warmup, iterations: iterations)
        var peak = (gflops: peakGflops ?? 0, gbps: peakGbps ?? 0, source: "flag")
        if peakGflops == nil || peakGbps == nil {
            guard let measured = MachinePeak.measure(threads: CPUEngine.threadCount) else {
                throw ValidationError("cannot measure this CPU's peak (the loops need x86-64 with AVX2); pass --peak-gflops and --peak-gbps")
            }
            let compute = effectivePrecision == .int8 ? measured.int8Gigaops : measured.gigaflops
            peak = (peakGflops ?? compute, peakGbps ?? measured.gigabytesPerSecond,
                    peakGflops == nil && peakGbps == nil ? "measured" : "measured and flag")
        }
        let report = ProfileReport(
            profile,
            setting: .init(
                variant: model.variant.rawValue, width: model.width, resolution: resolution, batch: batch,
                precision: effectivePrecision.rawValue, iterations: iterations, warmup: warmup),
            peak: peak)
        print(json ? try report.json() : report.table())
        if let svg { try ProfilePicture.write(report, to: svg, overwrite: force) }
    }

    /// What a run does: one image, or one thread, always goes through primitives with all threads.
    private var effectiveParallelism: Parallelism {
        batch > 1 && CPUEngine.threadCount > 1 ? parallelism : .primitives
    }

    private func inferenceStep(images: Tensor) throws -> () throws -> Void {
        let session = try inferenceSession(images: images)
        return { _ = try session.run(images) }
    }

    /// The fused session of `--precision`, spreading a batch as `--parallelism` says. An int8
    /// one is calibrated on the first image of `images`. The float model is loaded only for
    /// `--precision`: a `--model` file holds all it runs (so the peak RSS is the int8 model's alone).
    private func inferenceSession(images: Tensor) throws -> InferenceSession {
        let session: InferenceSession
        switch (quantizedModel, precision) {
        case let (file?, _):
            session = try QuantizedModelFile.read(contentsOf: URL(fileURLWithPath: file)).model.session
        case (nil, .fp32):
            session = try InferenceModel(loadModel()).session
        case (nil, .int8):
            let pixels = images.shape[1] * images.shape[2] * images.shape[3]
            let first = try Tensor(shape: [1, images.shape[1], images.shape[2], images.shape[3]], values: Array(images.scalars.prefix(pixels)))
            session = try QuantizedModel(loadModel(), calibration: [first]).session
        }
        session.batchParallelism = parallelism == .images ? .acrossImages : .withinPrimitives
        return session
    }

    /// One SGD step (Nesterov momentum 0.9, weight decay 4e-5) on a fixed random batch, as
    /// `mobilenet train` takes it, minus the data loading.
    private func trainingStep(
        _ classifier: any ImageClassifier, images: Tensor, using generator: inout SplitMix64
    ) throws -> () throws -> Void {
        let labels = (0..<batch).map { _ in Int(generator.next() % UInt64(model.classes)) }
        let optimizer = try SGD(parameters: classifier.namedParameters(), learningRate: 0.01, momentum: 0.9, nesterov: true, weightDecay: 4e-5)
        classifier.setTraining(true)
        return {
            classifier.clearGradients()
            let tape = GradientTape()
            let loss = try tape.record { try crossEntropy(logits: classifier(images), labels: labels) }
            try tape.backward(from: loss)
            try optimizer.step()
        }
    }

    private func loadModel() throws -> any ImageClassifier {
        let configuration = model.modelConfiguration
        if let weights {
            return try PretrainedClassifier.loadModel(configuration: configuration, file: URL(fileURLWithPath: weights))
        }
        if let published = PretrainedWeights.default(for: model.variant), published.configuration == configuration,
           let cached = try? WeightsCache.locate(published.fileName) {
            return try PretrainedClassifier.loadModel(configuration: configuration, file: cached)
        }
        let random = try makeModel(configuration, seed: 1)
        random.setTraining(false)
        return random
    }

    struct Report: Encodable {
        var mode: String
        var variant: String
        var width: Double
        var resolution: Int
        var batch: Int
        var threads: Int
        /// Inference only: `images` or `primitives` (``Parallelism``), as the run did it.
        var parallelism: String?
        var precision: String
        /// The instruction set oneDNN dispatched to (`avx512_core_bf16`, `avx2`, ...): figures
        /// from different ones do not compare.
        var instructionSet: String
        var iterations: Int
        /// The same, under the name `bench --profile` uses.
        var isa: String
        var latencyMsP50: Double
        var latencyMsP90: Double
        var latencyMsMin: Double
        var imagesPerSecond: Double
        var peakRssMb: Double
        /// Detection only: the median milliseconds of each part of a batch's work (`transform`,
        /// `network`, `postprocess`), timed one after another in every iteration.
        var partsMsP50: [String: Double]? = nil

        enum CodingKeys: String, CodingKey {
            case mode, variant, width, resolution, batch, threads, parallelism, precision, iterations
            case partsMsP50 = "parts_ms_p50"
            case instructionSet = "instruction_set", isa
            case latencyMsP50 = "latency_ms_p50", latencyMsP90 = "latency_ms_p90", latencyMsMin = "latency_ms_min"
            case imagesPerSecond = "images_per_second", peakRssMb = "peak_rss_mb"
        }
    }

    static func printJSON(_ report: Report) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }

    /// The value below which `fraction` of the sorted samples fall (nearest rank).
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        sorted[min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))]
    }

    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        // Linux reports kilobytes, macOS bytes.
        #if os(Linux)
        return Double(usage.ru_maxrss) / 1024
        #else
        return Double(usage.ru_maxrss) / (1024 * 1024)
        #endif
    }
}
