import Foundation
import MobileNetIO

extension FashionMNISTScenes {
    /// The file name scene `index` is written under: `images/000001.png` for scene 0.
    public func fileName(at index: Int) -> String {
        let number = String(index + 1)
        return "images/" + String(repeating: "0", count: max(0, 6 - number.count)) + number
            + ".png"
    }

    /// Writes the first `count` scenes (all when `nil`) in COCO's format: each picture as a PNG
    /// under `directory/images/`, and `directory/instances.json` listing them with their boxes
    /// (`iscrowd` 0, `area` the box's) and the ten categories, ids 1…10 (the labels). Reading the
    /// folder back with ``COCODetectionDataset`` gives the same samples.
    ///
    /// Pictures are encoded on the cores available; the annotation file is written last, and
    /// atomically, so a folder with an `instances.json` is complete.
    ///
    /// - Throws: ``DetectionDataError/invalidConfiguration(reason:)`` for a count outside
    ///   0…``count``, ``DetectionDataError/unwritable(path:reason:)`` when a folder or file cannot
    ///   be written.
    public func write(to directory: URL, count: Int? = nil) throws {
        let written = count ?? self.count
        guard written >= 0, written <= self.count else {
            throw DetectionDataError.invalidConfiguration(
                reason: "FashionMNISTScenes.write: expected a count of 0 to \(self.count), got \(written)")
        }
        let images = directory.appendingPathComponent("images")
        do {
            try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        } catch {
            throw DetectionDataError.unwritable(path: images.path, reason: readableReason(error))
        }

        let results = ConcurrentResults<[Placement]>(count: written)
        DispatchQueue.concurrentPerform(iterations: written) { index in
            results[index] = Result {
                let placements = placements(at: index)
                let url = directory.appendingPathComponent(fileName(at: index))
                do {
                    try PNGEncoder.write(composite(placements), to: url)
                } catch {
                    throw DetectionDataError.unwritable(path: url.path, reason: "\(error)")
                }
                return placements
            }
        }

        var file = COCOFile(
            images: [], annotations: [],
            categories: classNames.dropFirst().enumerated().map { COCOFile.Category(id: $0 + 1, name: $1) })
        for index in 0..<written {
            let placements = try results[index]!.get()
            file.images.append(
                COCOFile.Image(
                    id: imageID(at: index), fileName: fileName(at: index), width: configuration.canvasWidth,
                    height: configuration.canvasHeight))
            for placement in placements {
                let box = placement.box
                file.annotations.append(
                    COCOFile.Annotation(
                        id: file.annotations.count + 1, imageID: imageID(at: index), categoryID: placement.label,
                        bbox: [box.x1, box.y1, box.width, box.height].map(Double.init), area: Double(box.area), isCrowd: 0))
            }
        }
        let annotations = directory.appendingPathComponent("instances.json")
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(file).write(to: annotations, options: .atomic)
        } catch {
            throw DetectionDataError.unwritable(path: annotations.path, reason: readableReason(error))
        }
    }
}

/// One result slot per index, filled from `concurrentPerform`'s threads.
private final class ConcurrentResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Result<Value, any Error>?]

    init(count: Int) {
        values = Array(repeating: nil, count: count)
    }

    subscript(index: Int) -> Result<Value, any Error>? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return values[index]
        }
        set {
            lock.lock()
            values[index] = newValue
            lock.unlock()
        }
    }
}
