import ArgumentParser
import Foundation
import MobileNet

/// What `train`, `evaluate`, `info` and `bench` work on.
enum Task: String, CaseIterable, ExpressibleByArgument {
    case classification, detection, segmentation
}

extension Train {
    /// The detector's run the flags describe.
    func detectionConfiguration() throws -> DetectionTrainingConfiguration {
        let source: DetectionTrainingConfiguration.DatasetSource
        if dataset == "fashion-mnist-scenes" {
            source = .fashionMNISTScenes(train: trainScenes, test: testScenes)
        } else if dataset.hasPrefix("coco:"), dataset.count > 5 {
            source = .coco(URL(fileURLWithPath: String(dataset.dropFirst(5)), isDirectory: true))
        } else {
            throw ValidationError("--dataset: --task detection takes fashion-mnist-scenes or coco:DIR, got '\(dataset)'")
        }
        var settings = DetectionTrainingConfiguration(dataset: source, resolution: resolution ?? 320, epochs: epochs, batchSize: batchSize)
        settings.backbone = try ModelOptions.detectorBackbone(variant)
        settings.widthMultiplier = width
        settings.optimizer = optimizer
        settings.learningRate = lr
        settings.weightDecay = weightDecay
        settings.warmupEpochs = warmupEpochs
        settings.limit = limit
        settings.evaluationLimit = evaluationLimit
        settings.seed = seed
        settings.photometricDistortion = !noPhotometricDistortion
        settings.sceneCanvas = sceneCanvas
        return settings
    }

    /// Flags that mean nothing to a detector's run are refused rather than ignored.
    func checkDetectionFlags() throws {
        let classificationOnly: [(String, Bool)] = [
            ("--schedule", schedule != .cosine), ("--label-smoothing", labelSmoothing != 0), ("--pretrained", pretrained),
            ("--freeze-backbone", freezeBackbone), ("--ema", ema != nil), ("--clip-norm", clipNorm != nil),
        ]
        if let flag = classificationOnly.first(where: \.1)?.0 {
            throw ValidationError("\(flag) applies to --task classification only")
        }
        _ = try ModelOptions.detectorBackbone(variant)
        for (flag, given) in [("--base-size", baseSize != nil), ("--norm-momentum", normMomentum != nil)] where given {
            throw ValidationError("\(flag) applies to --task segmentation only")
        }
    }

    /// And the detector's flags are refused in a classifier's run.
    func checkClassificationFlags() throws {
        let detectionOnly: [(String, Bool)] = [
            ("--train-scenes", trainScenes != 8_000), ("--test-scenes", testScenes != 1_000), ("--scene-canvas", sceneCanvas != 320),
            ("--evaluation-limit", evaluationLimit != nil), ("--no-photometric-distortion", noPhotometricDistortion),
            ("--base-size", baseSize != nil), ("--norm-momentum", normMomentum != nil),
        ]
        if let flag = detectionOnly.first(where: \.1)?.0 {
            throw ValidationError("\(flag) applies to --task detection or segmentation only")
        }
    }

    func runDetection() throws {
        let settings = try detectionConfiguration()
        let interactive = isatty(STDOUT_FILENO) != 0
        let stop = StopSignals(onFirst: { signal in
            emit((interactive ? "\n" : "") + "\(signal): stopping after the step in progress (again to stop at once)")
        })
        let trainer: DetectionTrainer
        do {
            trainer = try DetectionTrainer(
                configuration: settings, output: URL(fileURLWithPath: output, isDirectory: true), resume: resume,
                warnings: { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) })
        } catch let error as RunFolderError {
            throw CommandError(description: "--output: \(error)")
        }
        emit("training \(trainer.detector.configuration) on \(settings.dataset): \(trainer.stepsPerEpoch) steps of "
              + "\(settings.batchSize) per epoch, \(settings.optimizer.rawValue) at \(settings.effectiveLearningRate), "
              + "\(CPUEngine.threadCount) thread(s), evaluating on \(trainer.testPictures) pictures"
              + (trainer.state.epoch > 0 || trainer.state.step > 0 ? ", resuming at epoch \(trainer.state.epoch + 1)" : ""))
        do {
            try trainer.run(
                shouldStop: { stop.requested }, progress: progressPrinter(interactive: interactive),
                finished: { metrics in
                    func percent(_ value: Double?) -> String { String(format: "%.1f", (value ?? 0) * 100) }
                    emit((interactive ? "\n" : "") + "epoch \(metrics.epoch)/\(settings.epochs): train loss "
                          + "\(String(format: "%.4f", metrics.trainLoss)), anchor accuracy \(percent(metrics.trainAccuracy))%, "
                          + "test AP \(percent(metrics.averagePrecision)), AP50 \(percent(metrics.averagePrecision50)), "
                          + "AP75 \(percent(metrics.averagePrecision75)), \(Int(metrics.imagesPerSecond.rounded())) images/s, "
                          + TrainingProgress.duration(metrics.seconds))
                })
        } catch let stopped as TrainingStopped {
            throw Self.stoppedError(stopped, stop: stop)
        } catch let error as RunFolderError {
            throw CommandError(description: "--output: \(error)")
        }
        if let evaluation = trainer.lastEvaluation { emit(evaluation.coco.summary.description) }
        emit("done: \(output)/metrics.csv, curves.svg, checkpoints epoch-N.safetensors")
    }
}
