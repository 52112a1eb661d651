/// One object a detector found: its box in the picture's pixels, its class (1...classes-1;
/// 0 is the background) and the class's softmax probability.
public struct Detection: Hashable, Sendable, Codable {
    public var box: BoundingBox
    public var label: Int
    public var score: Float

    public init(box: BoundingBox, label: Int, score: Float) {
        self.box = box
        self.label = label
        self.score = score
    }
}
