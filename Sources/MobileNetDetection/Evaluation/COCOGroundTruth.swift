/// One ground-truth object of a COCO annotation file, as `COCOeval` reads it for `bbox`.
///
/// pycocotools ignores any `ignore` field of an annotation (its `_prepare` overwrites it with
/// `iscrowd`), so there is none here: an object is left out of the counts when it is a crowd
/// or when its `area` falls outside the area range being evaluated.
public struct COCOGroundTruth: Hashable, Sendable, Codable {
    /// The annotation's id, unique within a ground truth. pycocotools records a match by this id
    /// and reads 0 as "no match": a detection matched to the annotation with id 0 counts as a
    /// false positive (that annotation is still taken). `COCOEvaluator` does the same, so
    /// number annotations from 1, as COCO and torchvision's `convert_to_coco_api` do.
    public var id: Int
    public var imageID: Int
    public var categoryID: Int
    public var box: COCOBox
    /// The area the small/medium/large ranges test: COCO's `area` field, the segmentation's
    /// area, usually below `box.area`. The IoU does not use it.
    public var area: Double
    /// A region of many objects: matched by any number of detections, never counted as missed.
    public var isCrowd: Bool

    /// A ground-truth object; `area` defaults to the box's width times height.
    public init(id: Int, imageID: Int, categoryID: Int, box: COCOBox, area: Double? = nil, isCrowd: Bool = false) {
        self.id = id
        self.imageID = imageID
        self.categoryID = categoryID
        self.box = box
        self.area = area ?? box.area
        self.isCrowd = isCrowd
    }

    enum CodingKeys: String, CodingKey {
        case id
        case imageID = "image_id"
        case categoryID = "category_id"
        case box = "bbox"
        case area
        case isCrowd = "iscrowd"
    }

    /// COCO's JSON form: `{"id", "image_id", "category_id", "bbox", "area", "iscrowd"}`, with
    /// `area` (default width × height) and `iscrowd` (0 or 1, default 0) optional.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let crowd = try container.decodeIfPresent(Int.self, forKey: .isCrowd) ?? 0
        guard crowd == 0 || crowd == 1 else {
            throw DecodingError.dataCorruptedError(
                forKey: .isCrowd, in: container, debugDescription: "iscrowd is 0 or 1, found \(crowd)")
        }
        self.init(
            id: try container.decode(Int.self, forKey: .id),
            imageID: try container.decode(Int.self, forKey: .imageID),
            categoryID: try container.decode(Int.self, forKey: .categoryID),
            box: try container.decode(COCOBox.self, forKey: .box),
            area: try container.decodeIfPresent(Double.self, forKey: .area), isCrowd: crowd == 1)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(imageID, forKey: .imageID)
        try container.encode(categoryID, forKey: .categoryID)
        try container.encode(box, forKey: .box)
        try container.encode(area, forKey: .area)
        try container.encode(isCrowd ? 1 : 0, forKey: .isCrowd)
    }
}
