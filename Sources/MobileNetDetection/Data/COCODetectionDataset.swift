import Foundation
import MobileNetIO

/// Pictures and boxes in COCO's format: an `instances.json` and a folder of pictures, as
/// torchvision's `CocoDetection` reads them (pycocotools' layout).
///
/// ```swift
/// let coco = try COCODetectionDataset(
///     annotationsFile: URL(fileURLWithPath: "annotations/instances_val2017.json"),
///     imageFolder: URL(fileURLWithPath: "val2017"))
/// print(coco.skipped)                  // skipped 3 annotations (2 zero-size, 1 unknown category), 1 image (missing file)
/// let sample = try coco.sample(at: 0)  // the picture, its boxes (corner form), labels 1…80, crowd flags
/// coco.categoryID(forLabel: 1)         // 1, "person": evaluation reports COCO's own ids
/// ```
///
/// What is taken from the file and how:
/// - Categories are sorted by id and numbered 1…K in that order (label 0 is the background), and
///   the map is kept both ways (``categoryID(forLabel:)``, ``label(forCategoryID:)``). COCO's
///   80 categories have ids 1…90 with gaps, so the labels differ from the ids.
/// - Pictures keep the file's order. A picture whose file is missing from the folder is left out
///   at load (existence is checked then); a corrupt one fails at ``image(at:)`` with the
///   decoder's error naming the file, which a loader skips.
/// - A box `[x, y, width, height]` is turned to corner form and clipped to its picture. One of
///   zero or negative size, or wholly outside the picture, is left out; so is one of an unknown
///   category (a choice: a file that names a category it does not list is taken as a filtered
///   copy, not as broken) or of an unknown or left-out picture.
/// - Crowd annotations (`iscrowd: 1`) are kept and flagged: SSD's training ignores them, COCO's
///   evaluation needs them.
///
/// Everything left out is counted in ``skipped``. What cannot be taken as a filtered copy is an
/// error (``DetectionDataError``) naming the file, the entry and the field: a file that is not
/// JSON, lacks `images`, `annotations` or `categories`, an entry missing a required field or
/// holding a value of the wrong kind, a box that is not four finite numbers, two pictures or two
/// categories with one id, a picture of impossible size, a file name reaching outside the folder.
public struct COCODetectionDataset: DetectionDataset {
    /// One picture as the file lists it.
    public struct ImageRecord: Hashable, Sendable {
        public var id: Int
        /// The file name as written in the annotation file.
        public var fileName: String
        public var width: Int
        public var height: Int
        /// The picture's full path: the image folder joined with `fileName`.
        public var path: String
    }

    /// What was left out while reading, and why.
    public struct SkipCounts: Hashable, Sendable, CustomStringConvertible {
        /// Why an annotation was left out.
        public enum AnnotationReason: String, CaseIterable, Hashable, Sendable {
            case zeroSize = "zero-size"
            case outsideImage = "outside the image"
            case unknownCategory = "unknown category"
            case unknownImage = "unknown image"
            /// Its picture was left out (its file is missing).
            case skippedImage = "of a skipped image"
        }

        /// Why a picture was left out.
        public enum ImageReason: String, CaseIterable, Hashable, Sendable {
            case missingFile = "missing file"
        }

        public var annotations: [AnnotationReason: Int] = [:]
        public var images: [ImageReason: Int] = [:]

        public init() {}

        public var annotationCount: Int { annotations.values.reduce(0, +) }
        public var imageCount: Int { images.values.reduce(0, +) }
        public var isEmpty: Bool { annotationCount == 0 && imageCount == 0 }

        /// One line for a command-line tool: "skipped 3 annotations (2 zero-size, 1 unknown
        /// category), 1 image (missing file)", or "skipped nothing". A count with a single reason
        /// names it without repeating the count.
        public var description: String {
            func part<Reason: RawRepresentable & CaseIterable>(_ counts: [Reason: Int], _ noun: String) -> String?
            where Reason.RawValue == String {
                let total = counts.values.reduce(0, +)
                guard total > 0 else { return nil }
                let present = Reason.allCases.filter { counts[$0, default: 0] > 0 }
                // One reason needs no count of its own: "1 image (missing file)".
                let reasons = present.count == 1 ? [present[0].rawValue] : present.map { "\(counts[$0]!) \($0.rawValue)" }
                return "\(total) \(noun)\(total == 1 ? "" : "s") (\(reasons.joined(separator: ", ")))"
            }
            let parts = [part(annotations, "annotation"), part(images, "image")].compactMap { $0 }
            return parts.isEmpty ? "skipped nothing" : "skipped " + parts.joined(separator: ", ")
        }
    }

    /// The largest annotation file read (2 GiB); COCO 2017's largest, `instances_train2017.json`,
    /// is 448 MB. A larger file is refused before it is read.
    public static let maximumAnnotationFileSize = 2 << 30

    /// The annotation file's path.
    public let annotationsPath: String
    public let imageFolder: URL
    /// `"background"`, then each category's name in ascending id order.
    public let classNames: [String]
    /// COCO's category id of each label 1…K, at index `label - 1`.
    public let categoryIDs: [Int]
    /// The pictures kept, in the file's order.
    public let images: [ImageRecord]
    /// What was left out while reading.
    public let skipped: SkipCounts
    /// The paths of the pictures left out because their file is missing, in the file's order.
    public let missingImagePaths: [String]
    private let objects: [DetectionAnnotation]
    private let labelsByCategoryID: [Int: Int]

    /// Reads `annotationsFile` and checks that each picture it lists exists under `imageFolder`.
    ///
    /// - Parameter maximumFileSize: the largest annotation file accepted, in bytes.
    /// - Throws: ``DetectionDataError`` naming the file (and the entry and field where one is at
    ///   fault); see the type's description for what is an error and what is skipped.
    public init(annotationsFile: URL, imageFolder: URL, maximumFileSize: Int = maximumAnnotationFileSize) throws {
        let path = annotationsFile.standardizedFileURL.path
        let size: Int
        do {
            let opened = try RegularFile.openForReading(path)
            close(opened.descriptor)
            size = opened.size
        } catch .notFound {
            throw DetectionDataError.notFound(path: path)
        } catch {
            throw DetectionDataError.unreadable(path: path, reason: error.reason)
        }
        guard size <= maximumFileSize else {
            throw DetectionDataError.fileTooLarge(path: path, size: size, limit: maximumFileSize)
        }
        let data: Data
        do {
            data = try RegularFile.read(path)
        } catch {
            throw DetectionDataError.unreadable(path: path, reason: error.reason)
        }
        try self.init(annotations: data, source: path, imageFolder: imageFolder)
    }

    /// Reads an annotation file already in memory; `source` names it in errors.
    public init(annotations data: Data, source: String, imageFolder: URL) throws {
        let file: COCOFile
        do {
            file = try JSONDecoder().decode(COCOFile.self, from: data)
        } catch {
            throw DetectionDataError.decoding(error, data: data, path: source)
        }
        let folder = imageFolder.standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
            throw DetectionDataError.notFound(path: folder.path)
        }
        guard isDirectory.boolValue else {
            throw DetectionDataError.unreadable(path: folder.path, reason: "it is a file, expected the folder of pictures")
        }
        annotationsPath = source
        self.imageFolder = folder

        // Categories: ids unique, labels 1…K in ascending id order.
        var categoryEntries: [Int: Int] = [:]
        for (position, category) in file.categories.enumerated() {
            if let first = categoryEntries[category.id] {
                throw DetectionDataError.duplicateID(
                    path: source, entry: "categories[\(position)]", id: category.id, firstEntry: "categories[\(first)]")
            }
            categoryEntries[category.id] = position
        }
        let sortedCategories = file.categories.sorted { $0.id < $1.id }
        categoryIDs = sortedCategories.map(\.id)
        classNames = [Self.backgroundName] + sortedCategories.map(\.name)
        labelsByCategoryID = Dictionary(uniqueKeysWithValues: sortedCategories.enumerated().map { ($1.id, $0 + 1) })

        // Pictures: ids unique, sizes sane, files inside the folder and present.
        var skipped = SkipCounts()
        var missing: [String] = []
        var records: [ImageRecord] = []
        var positionByID: [Int: Int] = [:]   // the entry in `file.images`, for duplicate errors
        var keptByID: [Int: Int] = [:]       // the index in `records`
        for (position, image) in file.images.enumerated() {
            let entry = "images[\(position)]"
            if let first = positionByID[image.id] {
                throw DetectionDataError.duplicateID(path: source, entry: entry, id: image.id, firstEntry: "images[\(first)]")
            }
            positionByID[image.id] = position
            try Self.checkSize(width: image.width, height: image.height, entry: entry, source: source)
            try Self.checkFileName(image.fileName, entry: entry, source: source)
            let imagePath = folder.appendingPathComponent(image.fileName).path
            guard FileManager.default.fileExists(atPath: imagePath) else {
                skipped.images[.missingFile, default: 0] += 1
                missing.append(imagePath)
                continue
            }
            keptByID[image.id] = records.count
            records.append(ImageRecord(id: image.id, fileName: image.fileName, width: image.width, height: image.height, path: imagePath))
        }

        // Annotations: checked, then clipped, skipped or kept with their picture.
        var objects = records.map { DetectionAnnotation(imageID: $0.id, width: $0.width, height: $0.height, boxes: [], labels: []) }
        for (position, annotation) in file.annotations.enumerated() {
            let entry = "annotations[\(position)]"
            let bbox = annotation.bbox
            guard bbox.count == 4, bbox.allSatisfy(\.isFinite) else {
                throw DetectionDataError.invalidField(
                    path: source, entry: entry, field: "bbox", expected: COCOFile.expectations["bbox"]!,
                    found: bbox.count == 4 ? "\(bbox)" : "a list of \(bbox.count) numbers")
            }
            if let crowd = annotation.isCrowd, crowd != 0 && crowd != 1 {
                throw DetectionDataError.invalidField(path: source, entry: entry, field: "iscrowd", expected: "0 or 1", found: "\(crowd)")
            }
            if let area = annotation.area, !(area.isFinite && area >= 0) {
                throw DetectionDataError.invalidField(
                    path: source, entry: entry, field: "area", expected: "a number at least 0", found: "\(area)")
            }
            guard positionByID[annotation.imageID] != nil else {
                skipped.annotations[.unknownImage, default: 0] += 1
                continue
            }
            guard let index = keptByID[annotation.imageID] else {
                skipped.annotations[.skippedImage, default: 0] += 1
                continue
            }
            guard let label = labelsByCategoryID[annotation.categoryID] else {
                skipped.annotations[.unknownCategory, default: 0] += 1
                continue
            }
            guard bbox[2] > 0, bbox[3] > 0 else {
                skipped.annotations[.zeroSize, default: 0] += 1
                continue
            }
            let record = records[index]
            let box = BoundingBox(x: Float(bbox[0]), y: Float(bbox[1]), width: Float(bbox[2]), height: Float(bbox[3]))
                .clipped(width: Float(record.width), height: Float(record.height))
            guard !box.isEmpty else {
                skipped.annotations[.outsideImage, default: 0] += 1
                continue
            }
            objects[index].boxes.append(box)
            objects[index].labels.append(label)
            objects[index].isCrowd.append(annotation.isCrowd == 1)
            objects[index].areas.append(annotation.area.map(Float.init) ?? box.area)
        }
        images = records
        self.objects = objects
        self.skipped = skipped
        missingImagePaths = missing
    }

    public var count: Int { images.count }

    public func annotation(at index: Int) -> DetectionAnnotation { objects[index] }

    /// Decodes picture `index` as torchvision's `CocoDetection` does (`Image.open(path).convert("RGB")`,
    /// its EXIF orientation ignored, as the annotations' coordinates assume).
    ///
    /// - Throws: `ImageError` naming the file when it is unreadable, not a JPEG or PNG, or corrupt.
    public func image(at index: Int) throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: images[index].path), applyingExifOrientation: false)
    }

    public func sourceName(at index: Int) -> String { images[index].path }

    /// COCO's category id of `label` (1…K), as evaluation results report it.
    public func categoryID(forLabel label: Int) -> Int {
        precondition(label >= 1 && label <= categoryIDs.count, "label \(label) outside 1...\(categoryIDs.count)")
        return categoryIDs[label - 1]
    }

    /// The label (1…K) of COCO's category `id`, or `nil` when the file lists no such category.
    public func label(forCategoryID id: Int) -> Int? { labelsByCategoryID[id] }

    /// Refuses a picture size no decoder would accept (the same limits as `ImageDecoder`'s), so
    /// that a file cannot make the reader or a transform allocate for an absurd picture.
    private static func checkSize(width: Int, height: Int, entry: String, source: String) throws {
        for (field, side) in [("width", width), ("height", height)] where side < 1 || side > ImageDecoder.maximumSide {
            throw DetectionDataError.invalidField(
                path: source, entry: entry, field: field, expected: "a side of 1 to \(ImageDecoder.maximumSide) pixels", found: "\(side)")
        }
        guard width * height <= ImageDecoder.maximumPixelCount else {
            throw DetectionDataError.invalidField(
                path: source, entry: entry, field: "width", expected: "at most \(ImageDecoder.maximumPixelCount) pixels in all",
                found: "\(width) (\(width)x\(height) is \(width * height) pixels)")
        }
    }

    /// A file name must name a file inside the image folder: relative, with no `..` step.
    private static func checkFileName(_ name: String, entry: String, source: String) throws {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !components.contains(".."), !name.contains("\0") else {
            throw DetectionDataError.invalidField(
                path: source, entry: entry, field: "file_name", expected: "a relative path inside the image folder",
                found: "\"\(name)\"")
        }
    }
}
