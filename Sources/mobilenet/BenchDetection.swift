import ArgumentParser
import Foundation
import MobileNet

extension Bench {
    /// `bench --task detection`: photos to boxes (the transform, the network, the post-processing
    /// at torchvision's score threshold 0.001), each part timed and the whole their sum.
    func runDetection() throws {
        let detector: SSDLite
        if let weights {
            do {
                detector = try SSDLite.load(contentsOf: URL(fileURLWithPath: weights), resolution: givenResolution).detector
            } catch let error as DetectorLoadingError {
                throw CommandError(description: "--weights: \(error)")
            }
        } else {
            let variant = try model.detectorBackbone()
            do {
                detector = try SSDLite(
                    SSDLiteConfiguration(backbone: variant, widthMultiplier: model.width, classCount: model.givenClasses ?? 91,
                                         resolution: givenResolution ?? 320), seed: 0)
            } catch let error as ModelError {
                throw ValidationError("\(error)")
            }
        }
        detector.setTraining(false)
        let photo: RGBImage
        if let image {
            photo = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image))
        } else {
            photo = try FashionMNISTScenes(split: .test, count: 1, seed: 1).image(at: 0)
        }
        let photos = Array(repeating: photo, count: batch)
        let sizes = photos.map { ($0.width, $0.height) }
        let compiled = try SSDLiteInference(detector)
        // One batch's work in its three parts, each timed (milliseconds).
        var detections = 0
        let clock = ContinuousClock()
        func milliseconds(_ duration: Duration) -> Double {
            Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1e3
        }
        func step() throws -> [Double] {
            var input: Tensor?, outputs: SSDHeadOutputs?
            let transform = try clock.measure { input = try detector.transform.batch(photos) }
            let network = try clock.measure { outputs = try compiled.headOutputs(input!) }
            let postprocess = try clock.measure {
                detections = try compiled.postprocess(outputs!, originalSizes: sizes).reduce(0) { $0 + $1.count }
            }
            return [transform, network, postprocess].map(milliseconds)
        }
        for _ in 0..<warmup { _ = try step() }
        var parts: [[Double]] = []
        for _ in 0..<iterations { parts.append(try step()) }
        let latencies = parts.map { $0.reduce(0, +) }.sorted()
        let side = detector.configuration.resolution
        var report = Report(
            mode: "detection", variant: detector.configuration.backbone.rawValue, width: detector.configuration.widthMultiplier,
            resolution: side, batch: batch, threads: CPUEngine.threadCount, parallelism: nil, precision: "fp32",
            instructionSet: CPUEngine.instructionSet, iterations: iterations, isa: CPUEngine.instructionSet,
            latencyMsP50: Self.percentile(latencies, 0.5), latencyMsP90: Self.percentile(latencies, 0.9), latencyMsMin: latencies[0],
            imagesPerSecond: Double(batch) / (Self.percentile(latencies, 0.5) / 1000), peakRssMb: Self.peakResidentMegabytes())
        report.partsMsP50 = Dictionary(uniqueKeysWithValues: ["transform", "network", "postprocess"].enumerated().map { index, name in
            (name, Self.percentile(parts.map { $0[index] }.sorted(), 0.5))
        })
        if json {
            try Self.printJSON(report)
        } else {
            func formatted(_ value: Double) -> String { String(format: "%.3f ms", value) }
            let parts = report.partsMsP50!
            print("detection: \(detector.configuration), \(photo.width)x\(photo.height) photos, batch \(batch), "
                + "\(report.threads) thread(s), fp32 on \(report.instructionSet): p50 \(formatted(report.latencyMsP50)) "
                + "(transform \(formatted(parts["transform"]!)), network \(formatted(parts["network"]!)), "
                + "post-processing \(formatted(parts["postprocess"]!))), "
                + "p90 \(formatted(report.latencyMsP90)), min \(formatted(report.latencyMsMin)), "
                + String(format: "%.1f images/s, %d detections a batch, peak RSS %.1f MB", report.imagesPerSecond, detections, report.peakRssMb))
        }
    }
}
