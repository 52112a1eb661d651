import Foundation
import MobileNetIO

/// The parts of a COCO `instances.json` that detection needs, as the file spells them; anything
/// else in the file (segmentations, licences, captions) is read past.
///
/// Integer fields are decoded as numbers and checked to be whole here, so that `"width": 640.5`
/// names its entry and field instead of failing as "not valid JSON", which Foundation's decoder
/// reports for a fractional number in an integer field.
struct COCOFile: Codable {
    var images: [Image]
    var annotations: [Annotation]
    var categories: [Category]

    struct Image: Codable {
        var id: Int
        var fileName: String
        var width: Int
        var height: Int

        enum CodingKeys: String, CodingKey {
            case id, width, height
            case fileName = "file_name"
        }
    }

    struct Annotation: Codable {
        var id: Int
        var imageID: Int
        var categoryID: Int
        /// `[x, y, width, height]` in pixels from the top-left corner.
        var bbox: [Double]
        var area: Double?
        var isCrowd: Int?

        enum CodingKeys: String, CodingKey {
            case id, bbox, area
            case imageID = "image_id"
            case categoryID = "category_id"
            case isCrowd = "iscrowd"
        }
    }

    struct Category: Codable {
        var id: Int
        var name: String
    }

    /// What each field must hold, in the words an error uses.
    static let expectations: [String: String] = [
        "images": "a list of images", "annotations": "a list of annotations", "categories": "a list of categories",
        "id": "an integer", "file_name": "a file name", "width": "a positive integer", "height": "a positive integer",
        "image_id": "an integer", "category_id": "an integer", "bbox": "a list of 4 numbers [x, y, width, height]",
        "area": "a number", "iscrowd": "0 or 1", "name": "a string",
    ]
}

// Decoding in extensions, so each entry keeps its memberwise initializer for writing.
extension COCOFile.Image {
    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        id = try fields.wholeNumber(.id)
        fileName = try fields.decode(String.self, forKey: .fileName)
        width = try fields.wholeNumber(.width)
        height = try fields.wholeNumber(.height)
    }
}

extension COCOFile.Annotation {
    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        id = try fields.wholeNumber(.id)
        imageID = try fields.wholeNumber(.imageID)
        categoryID = try fields.wholeNumber(.categoryID)
        bbox = try fields.decode([Double].self, forKey: .bbox)
        area = try fields.decodeIfPresent(Double.self, forKey: .area)
        isCrowd = try fields.contains(.isCrowd) && !fields.decodeNil(forKey: .isCrowd) ? fields.wholeNumber(.isCrowd) : nil
    }
}

extension COCOFile.Category {
    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        id = try fields.wholeNumber(.id)
        name = try fields.decode(String.self, forKey: .name)
    }
}

/// A field that decoded as JSON but holds a value the format does not allow, thrown from inside
/// an entry's decoding with the path to the field.
struct COCOFieldError: Error {
    var codingPath: [any CodingKey]
    var expected: String
    var found: String
}

extension KeyedDecodingContainer {
    /// The integer in field `key`, decoded as a number and required to be whole (and within the
    /// range where a double still counts every integer, ±2^53).
    func wholeNumber(_ key: Key) throws -> Int {
        let value = try decode(Double.self, forKey: key)
        guard value.rounded(.towardZero) == value, abs(value) <= 9_007_199_254_740_992 else {
            throw COCOFieldError(codingPath: codingPath + [key], expected: "an integer", found: "\(value)")
        }
        return Int(value)
    }
}

extension DetectionDataError {
    /// A decoding failure of the annotation file at `path`, as the entry and field it concerns.
    static func decoding(_ error: any Error, data: Data, path: String) -> DetectionDataError {
        if let field = error as? COCOFieldError {
            let (entry, name) = split(field.codingPath)
            return .invalidField(path: path, entry: entry, field: name, expected: field.expected, found: field.found)
        }
        guard let error = error as? DecodingError else {
            return .notJSON(path: path, reason: "\(error)")
        }
        switch error {
        case let .keyNotFound(key, context):
            return .missingField(
                path: path, entry: JSONErrorText.path(context.codingPath), field: key.stringValue,
                expected: COCOFile.expectations[key.stringValue] ?? "a value")
        case let .typeMismatch(type, context):
            if context.codingPath.isEmpty {
                return .invalidField(
                    path: path, entry: "", field: "", expected: "an object with images, annotations and categories",
                    found: foundKind(context.debugDescription))
            }
            let (entry, name) = split(context.codingPath)
            let expected = COCOFile.expectations[name] ?? JSONErrorText.kind(type)
            return .invalidField(path: path, entry: entry, field: name, expected: expected, found: foundKind(context.debugDescription))
        case let .valueNotFound(type, context):
            let (entry, name) = split(context.codingPath)
            return .invalidField(
                path: path, entry: entry, field: name, expected: COCOFile.expectations[name] ?? JSONErrorText.kind(type), found: "null")
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                // Foundation's decoder says only "not valid JSON"; its parser says where.
                do {
                    _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
                } catch {
                    let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
                    return .notJSON(path: path, reason: reason ?? context.debugDescription)
                }
                return .notJSON(path: path, reason: context.debugDescription)
            }
            let (entry, name) = split(context.codingPath)
            return .invalidField(
                path: path, entry: entry, field: name, expected: COCOFile.expectations[name] ?? "a valid value",
                found: context.debugDescription)
        @unknown default:
            return .notJSON(path: path, reason: "\(error)")
        }
    }

    /// A coding path split after its first list index: `annotations[17]` and `bbox[2]`; a path
    /// without an index is a top-level field.
    private static func split(_ codingPath: [any CodingKey]) -> (entry: String, field: String) {
        guard let index = codingPath.firstIndex(where: { $0.intValue != nil }) else {
            return ("", JSONErrorText.path(codingPath))
        }
        let entry = JSONErrorText.path(Array(codingPath[...index]))
        let field = JSONErrorText.path(Array(codingPath[(index + 1)...]))
        return (entry, field)
    }

    /// "a string" from Foundation's "Expected to decode Int but found a string instead."
    private static func foundKind(_ description: String) -> String {
        guard let start = description.range(of: "but found ") else { return "a value of another kind" }
        var found = description[start.upperBound...]
        if let end = found.range(of: " instead") { found = found[..<end.lowerBound] }
        return String(found)
    }
}
