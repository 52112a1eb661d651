import ArgumentParser
import Foundation
import MobileNet

extension Train {
    /// The segmenter's run the flags describe.
    func segmentationConfiguration() throws -> SegmentationTrainingConfiguration {
        let source: SegmentationTrainingConfiguration.DatasetSource
        if dataset == "fashion-mnist-scenes" {
            source = .fashionMNISTScenes(train: trainScenes, test: testScenes)
        } else if dataset.hasPrefix("voc:"), dataset.count > 4 {
            source = .voc(URL(fileURLWithPath: String(dataset.dropFirst(4)), isDirectory: true))
        } else {
            throw ValidationError("--dataset: --task segmentation takes fashion-mnist-scenes or voc:DIR, got '\(dataset)'")
        }
        var settings = SegmentationTrainingConfiguration(dataset: source, resolution: resolution ?? 224, epochs: epochs, batchSize: batchSize)
        settings.backbone = try ModelOptions.detectorBackbone(variant, model: "LR-ASPP")
        settings.widthMultiplier = width
        settings.baseSize = baseSize
        settings.optimizer = optimizer
        settings.learningRate = lr
        settings.weightDecay = weightDecay
        settings.warmupEpochs = warmupEpochs
        settings.limit = limit
        settings.evaluationLimit = evaluationLimit
        settings.seed = seed
        settings.sceneCanvas = sceneCanvas
        if let normMomentum { settings.normMomentum = normMomentum }
        return settings
    }

    /// Flags that mean nothing to a segmenter's run are refused rather than ignored.
    func checkSegmentationFlags() throws {
        let others: [(String, Bool)] = [
            ("--schedule", schedule != .cosine), ("--label-smoothing", labelSmoothing != 0), ("--pretrained", pretrained),
            ("--freeze-backbone", freezeBackbone), ("--ema", ema != nil), ("--clip-norm", clipNorm != nil),
            ("--no-photometric-distortion", noPhotometricDistortion),
        ]
        if let flag = others.first(where: \.1)?.0 {
            throw ValidationError("\(flag) does not apply to --task segmentation")
        }
        _ = try ModelOptions.detectorBackbone(variant, model: "LR-ASPP")
    }

    func runSegmentation() throws {
        let settings = try segmentationConfiguration()
        let interactive = isatty(STDOUT_FILENO) != 0
        let stop = StopSignals(onFirst: { signal in
            emit((interactive ? "\n" : "") + "\(signal): stopping after the step in progress (again to stop at once)")
        })
        let trainer: SegmentationTrainer
        do {
            trainer = try SegmentationTrainer(
                configuration: settings, output: URL(fileURLWithPath: output, isDirectory: true), resume: resume,
                warnings: { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) })
        } catch let error as RunFolderError {
            throw CommandError(description: "--output: \(error)")
        }
        emit("training \(trainer.model.configuration) on \(settings.dataset): \(trainer.stepsPerEpoch) steps of "
              + "\(settings.batchSize) crops of \(settings.resolution)x\(settings.resolution) per epoch, "
              + "\(settings.optimizer.rawValue) at \(settings.effectiveLearningRate), \(CPUEngine.threadCount) thread(s), "
              + "evaluating on \(trainer.testPictures) pictures at \(settings.effectiveBaseSize)"
              + (trainer.state.epoch > 0 || trainer.state.step > 0 ? ", resuming at epoch \(trainer.state.epoch + 1)" : ""))
        do {
            try trainer.run(
                shouldStop: { stop.requested }, progress: progressPrinter(interactive: interactive),
                finished: { metrics in
                    func percent(_ value: Double?) -> String { String(format: "%.1f", (value ?? 0) * 100) }
                    emit((interactive ? "\n" : "") + "epoch \(metrics.epoch)/\(settings.epochs): train loss "
                          + "\(String(format: "%.4f", metrics.trainLoss)), pixel accuracy \(percent(metrics.trainAccuracy))%, "
                          + "test pixel accuracy \(percent(metrics.validationAccuracy))%, mean IoU \(percent(metrics.meanIoU))%, "
                          + "\(Int(metrics.imagesPerSecond.rounded())) images/s, " + TrainingProgress.duration(metrics.seconds))
                })
        } catch let stopped as TrainingStopped {
            throw Self.stoppedError(stopped, stop: stop)
        } catch let error as RunFolderError {
            throw CommandError(description: "--output: \(error)")
        }
        if let evaluation = trainer.lastEvaluation { emit(SegmentationReport.table(evaluation, classNames: trainer.classNames)) }
        emit("done: \(output)/metrics.csv, curves.svg, checkpoints epoch-N.safetensors")
    }
}

/// The per-class table `train` and `evaluate` print for a segmenter.
enum SegmentationReport {
    static func table(_ evaluation: SegmentationEvaluation, classNames: [String]) -> String {
        var lines = [String(format: "pixel accuracy %.2f %%, mean IoU %.2f %% over %d pixels", evaluation.pixelAccuracy * 100,
                            evaluation.meanIntersectionOverUnion * 100, evaluation.confusion.total)]
        for (k, iou) in evaluation.confusion.intersectionOverUnion.enumerated() {
            let name = k < classNames.count ? classNames[k] : "class \(k)"
            lines.append("  " + name.padding(toLength: 14, withPad: " ", startingAt: 0) + (iou.map { String(format: "IoU %6.2f %%", $0 * 100) } ?? "absent"))
        }
        return lines.joined(separator: "\n")
    }
}
