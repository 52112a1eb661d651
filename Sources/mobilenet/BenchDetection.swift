import ArgumentParser
import Foundation
import MobileNet

extension Bench {
    /// `bench --task detection`: photos to boxes (the transform, the network, the post-processing
    /// at torchvision's score threshold 0.001), timed as a whole.
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
        var detections = 0
        let compiled = try SSDLiteInference(detector)
        let step = { detections = try compiled.detect(photos).reduce(0) { $0 + $1.count } }
        for _ in 0..<warmup { try step() }
        var latencies: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<iterations {
            let elapsed = try clock.measure { try step() }
            latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
        }
        latencies.sort()
        let side = detector.configuration.resolution
        let report = Report(
            mode: "detection", variant: detector.configuration.backbone.rawValue, width: detector.configuration.widthMultiplier,
            resolution: side, batch: batch, threads: CPUEngine.threadCount, parallelism: nil, precision: "fp32",
            instructionSet: CPUEngine.instructionSet, iterations: iterations, isa: CPUEngine.instructionSet,
            latencyMsP50: Self.percentile(latencies, 0.5), latencyMsP90: Self.percentile(latencies, 0.9), latencyMsMin: latencies[0],
            imagesPerSecond: Double(batch) / (Self.percentile(latencies, 0.5) / 1000), peakRssMb: Self.peakResidentMegabytes())
        if json {
            try Self.printJSON(report)
        } else {
            func milliseconds(_ value: Double) -> String { String(format: "%.3f ms", value) }
            print("detection: \(detector.configuration), \(photo.width)x\(photo.height) photos, batch \(batch), "
                + "\(report.threads) thread(s), fp32 on \(report.instructionSet): p50 \(milliseconds(report.latencyMsP50)), "
                + "p90 \(milliseconds(report.latencyMsP90)), min \(milliseconds(report.latencyMsMin)), "
                + String(format: "%.1f images/s, %d detections a batch, peak RSS %.1f MB", report.imagesPerSecond, detections, report.peakRssMb))
        }
    }
}
