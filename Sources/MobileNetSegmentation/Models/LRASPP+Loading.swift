import Foundation
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTraining

/// A segmenter read from a file, with the class names its training recorded (nil for a bare
/// state dictionary, such as torchvision's `.pth`).
public struct LoadedSegmenter {
    public var model: LRASPP
    public var classNames: [String]?
    /// The shorter side its training evaluated at (nil for a bare state dictionary).
    public var baseSize: Int?
    public var source: URL
}

/// A segmenter's weights could not be used.
public struct SegmenterLoadingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "\(path): \(reason)" }
}

extension LRASPP {
    /// Reads a segmenter: a run's checkpoint from `mobilenet train --task segmentation` (its
    /// `epoch-N.json`, or the run folder for its latest), whose settings give the backbone,
    /// width, base size and class names; or a state dictionary (`.pth`, `.safetensors`) with
    /// torchvision's keys (`lraspp_mobilenet_v3_large`), whose low classifier gives the class
    /// count. Loading is strict: every key and shape must fit.
    ///
    /// - Throws: ``SegmenterLoadingError`` naming the file; reading errors as they come.
    public static func load(contentsOf url: URL) throws -> LoadedSegmenter {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw SegmenterLoadingError(path: url.path, reason: "no such file or folder")
        }
        if isFolder.boolValue || url.pathExtension == "json" {
            let snapshot = isFolder.boolValue ? try TrainingCheckpoint.latest(in: url) : url
            guard let snapshot else { throw SegmenterLoadingError(path: url.path, reason: "the folder holds no checkpoint (latest.json)") }
            let checkpoint = try TrainingCheckpoint.load(from: snapshot)
            let settings = checkpoint.state.settings
            guard settings["task"] == "segmentation", let names = settings["class-names"]?.split(separator: "\n").map(String.init),
                  let backbone = settings["backbone"].flatMap(Architecture.init(rawValue:)),
                  let width = settings["width"].flatMap(Double.init), let baseSize = settings["base-size"].flatMap(Int.init)
            else {
                throw SegmenterLoadingError(path: snapshot.path, reason: "not a segmenter's checkpoint (train --task segmentation writes one)")
            }
            let model = try LRASPP(LRASPPConfiguration(backbone: backbone, widthMultiplier: width, classCount: names.count))
            try model.loadStrictly(checkpoint.weights, from: snapshot)
            return LoadedSegmenter(model: model, classNames: names, baseSize: baseSize, source: snapshot)
        }
        let state = try readStateDictionary(contentsOf: url)
        let key = "classifier.low_classifier.weight"
        guard let scores = state[key], scores.shape.count == 4, scores.shape[0] >= 2 else {
            throw SegmenterLoadingError(path: url.path, reason: "not an LR-ASPP state dictionary (no \(key) of 2 or more classes)")
        }
        let model = try LRASPP(LRASPPConfiguration(classCount: scores.shape[0]))
        try model.loadStrictly(state, from: url)
        return LoadedSegmenter(model: model, classNames: nil, baseSize: nil, source: url)
    }

    private func loadStrictly(_ state: [String: Tensor], from url: URL) throws {
        do {
            try load(state)
        } catch let error as StateError {
            throw SegmenterLoadingError(path: url.path, reason: "the weights do not fit \(configuration): \(error)")
        }
    }
}
