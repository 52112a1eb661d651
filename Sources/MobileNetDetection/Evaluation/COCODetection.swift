/// One detection of a COCO results file: `{"image_id", "category_id", "bbox", "score"}`.
///
/// Its area, for the small/medium/large ranges, is the box's width times height, as
/// pycocotools' `loadRes` sets it.
public struct COCODetection: Hashable, Sendable, Codable {
    public var imageID: Int
    public var categoryID: Int
    public var box: COCOBox
    public var score: Double

    public init(imageID: Int, categoryID: Int, box: COCOBox, score: Double) {
        self.imageID = imageID
        self.categoryID = categoryID
        self.box = box
        self.score = score
    }

    enum CodingKeys: String, CodingKey {
        case imageID = "image_id"
        case categoryID = "category_id"
        case box = "bbox"
        case score
    }
}
