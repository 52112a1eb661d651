import ArgumentParser
import Foundation
import MobileNet

extension Bench {
    /// `bench --task segmentation`: photos to class maps at the photos' size (the resize to the
    /// base size and normalization, the network to its stride-8 scores, and the class map
    /// sampled from them at the photo's size: ``LRASPPInference``), each part timed and the
    /// whole their sum. The network is the fused graph.
    func runSegmentation() throws {
        let model: LRASPP
        if let weights {
            do {
                model = try LRASPP.load(contentsOf: URL(fileURLWithPath: weights)).model
            } catch let error as SegmenterLoadingError {
                throw CommandError(description: "--weights: \(error)")
            }
        } else {
            do {
                model = try LRASPP(
                    LRASPPConfiguration(
                        backbone: try self.model.detectorBackbone(model: "LR-ASPP"), widthMultiplier: self.model.width,
                        classCount: self.model.givenClasses ?? 21),
                    seed: 0)
            } catch let error as ModelError {
                throw ValidationError("\(error)")
            }
        }
        model.setTraining(false)
        let compiled = try LRASPPInference(model)
        let photo: RGBImage
        if let image {
            photo = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image))
        } else {
            photo = try FashionMNISTScenes(split: .test, count: 1, seed: 1).image(at: 0)
        }
        let side = givenResolution ?? 512
        let clock = ContinuousClock()
        func milliseconds(_ duration: Duration) -> Double {
            Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1e3
        }
        var mapSize = (0, 0)
        func step() throws -> [Double] {
            var input: Tensor?, scores: Tensor?
            var inputSize = (width: 0, height: 0)
            let transform = try clock.measure {
                let resized = try (0..<batch).map { _ in try ImageTransforms.resizeShorterSide(photo, to: side) }
                inputSize = (resized[0].width, resized[0].height)
                input = try SegmentationEvaluation.normalized(resized)
            }
            let network = try clock.measure { scores = try compiled.scores(input!) }
            let postprocess = try clock.measure {
                let maps = try compiled.classMap(scores!, inputSize: inputSize, photoSize: (photo.width, photo.height))
                mapSize = (photo.width, maps[0].count / photo.width)
            }
            return [transform, network, postprocess].map(milliseconds)
        }
        for _ in 0..<warmup { _ = try step() }
        var parts: [[Double]] = []
        for _ in 0..<iterations { parts.append(try step()) }
        let latencies = parts.map { $0.reduce(0, +) }.sorted()
        var report = Report(
            mode: "segmentation", variant: model.configuration.backbone.rawValue, width: model.configuration.widthMultiplier,
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
            print("segmentation: \(model.configuration), \(photo.width)x\(photo.height) photos at a shorter side of \(side) "
                + "to \(mapSize.0)x\(mapSize.1) maps, batch \(batch), \(report.threads) thread(s), fp32 fused graph on \(report.instructionSet): "
                + "p50 \(formatted(report.latencyMsP50)) (transform \(formatted(parts["transform"]!)), network \(formatted(parts["network"]!)), "
                + "post-processing \(formatted(parts["postprocess"]!))), p90 \(formatted(report.latencyMsP90)), "
                + String(format: "%.1f images/s, peak RSS %.1f MB", report.imagesPerSecond, report.peakRssMb))
        }
    }
}
