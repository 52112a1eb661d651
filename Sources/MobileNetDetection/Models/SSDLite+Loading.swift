import Foundation
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTraining

/// A detector read from a file, with the class names its training recorded (nil for a bare
/// state dictionary, such as torchvision's `.pth`).
public struct LoadedDetector {
    public var detector: SSDLite
    public var classNames: [String]?
    public var source: URL
}

/// A detector's weights could not be used.
public struct DetectorLoadingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "\(path): \(reason)" }
}

extension SSDLite {
    /// Reads a detector: a run's checkpoint from `mobilenet train --task detection` (its
    /// `epoch-N.json`, or the run folder for its latest), whose settings give the backbone,
    /// width, resolution and class names; or a state dictionary (`.pth`, `.safetensors`) with
    /// torchvision's keys, whose head gives the class count and whose extra blocks tell a reduced
    /// tail. Loading is strict: every key and shape must fit.
    ///
    /// - Throws: ``DetectorLoadingError`` naming the file; reading errors as they come.
    public static func load(contentsOf url: URL, resolution: Int? = nil) throws -> LoadedDetector {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
        guard exists else { throw DetectorLoadingError(path: url.path, reason: "no such file or folder") }
        if isFolder.boolValue || url.pathExtension == "json" {
            let snapshot = isFolder.boolValue ? try TrainingCheckpoint.latest(in: url) : url
            guard let snapshot else { throw DetectorLoadingError(path: url.path, reason: "the folder holds no checkpoint (latest.json)") }
            let checkpoint = try TrainingCheckpoint.load(from: snapshot)
            let settings = checkpoint.state.settings
            guard settings["task"] == "detection", let names = settings["class-names"]?.split(separator: "\n").map(String.init),
                  let backbone = settings["backbone"].flatMap(Architecture.init(rawValue:)),
                  let width = settings["width"].flatMap(Double.init), let trained = settings["resolution"].flatMap(Int.init)
            else {
                throw DetectorLoadingError(path: snapshot.path, reason: "not a detector's checkpoint (train --task detection writes one)")
            }
            let detector = try SSDLite(
                SSDLiteConfiguration(backbone: backbone, widthMultiplier: width, classCount: names.count, resolution: resolution ?? trained),
                seed: nil)
            try detector.loadStrictly(checkpoint.weights, from: snapshot)
            return LoadedDetector(detector: detector, classNames: names, source: snapshot)
        }
        let state = try readStateDictionary(contentsOf: url)
        let classifierKey = "head.classification_head.module_list.0.1.weight"
        guard let scores = state[classifierKey], scores.shape.count == 4,
              let extra = state["backbone.extra.0.0.0.weight"], extra.shape.count == 4
        else {
            throw DetectorLoadingError(path: url.path, reason: "not an SSDLite state dictionary (no \(classifierKey))")
        }
        let anchors = DefaultBoxGenerator.ssdLite.anchorsPerLocation[0]
        guard scores.shape[0] % anchors == 0, scores.shape[0] / anchors >= 2 else {
            throw DetectorLoadingError(
                path: url.path, reason: "\(classifierKey) has \(scores.shape[0]) outputs, not \(anchors) anchors times 2 or more classes")
        }
        // The extra blocks read the last feature map: 480 channels with the reduced tail, 960 without.
        let reducedTail = extra.shape[1] == 480
        let detector = try SSDLite(
            SSDLiteConfiguration(classCount: scores.shape[0] / anchors, reducedTail: reducedTail, resolution: resolution ?? 320),
            seed: nil)
        try detector.loadStrictly(state, from: url)
        return LoadedDetector(detector: detector, classNames: nil, source: url)
    }

    private func loadStrictly(_ state: [String: Tensor], from url: URL) throws {
        do {
            try load(state)
        } catch let error as StateError {
            throw DetectorLoadingError(path: url.path, reason: "the weights do not fit \(configuration): \(error)")
        }
    }
}
