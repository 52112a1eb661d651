import Foundation
import MobileNetData
import MobileNetIO
import MobileNetTensor

/// Detection scenes made of real Fashion-MNIST pictures: one to six garments at random sizes and
/// places on a black canvas, each with the box that hugs it and its class, label 1…10 (0 is the
/// background).
///
/// ```swift
/// let scenes = try FashionMNISTScenes(split: .train, count: 10_000, seed: 1)   // 320x320 canvases
/// let sample = try scenes.sample(at: 17)          // the same scene on any thread, any run
/// scenes.placements(at: 17)                       // which picture went where, at which size
/// try scenes.write(to: folder, count: 500)        // images/000001.png … and instances.json
/// ```
///
/// How scene `i` is drawn, from its own generator keyed by `(seed, i)` (so any scene can be made
/// alone, in any order, with the same result):
/// - the number of items, uniform in ``Configuration/itemsPerScene``;
/// - for each item: a picture of the split, uniform; a side, uniform in ``Configuration/itemSide``
///   (the 28x28 picture scaled to a square with Pillow's bilinear filter); then up to
///   ``Configuration/placementAttempts`` positions, uniform over the canvas, until one keeps the
///   item's box within ``Configuration/maximumOverlap`` IoU of every box placed before and covers
///   no more than ``Configuration/maximumCoverage`` of either box (a small garment inside a large
///   one has a small IoU but is lost in it); an item that finds no place is dropped.
///
/// An item's box is the extent of its pixels brighter than ``Configuration/foregroundThreshold``
/// after scaling, so it hugs the garment rather than the 28x28 frame, which Fashion-MNIST pads
/// with black. Items are composited with `max`, so an overlap looks like two garments, not a cut;
/// the canvas is gray in all three channels, like `FashionMNIST.image(at:)`.
public struct FashionMNISTScenes: DetectionDataset {
    /// The shape of the scenes.
    public struct Configuration: Hashable, Sendable {
        public var canvasWidth: Int
        public var canvasHeight: Int
        /// How many items a scene draws (some may be dropped for want of room).
        public var itemsPerScene: ClosedRange<Int>
        /// The side of a scaled item, in pixels; capped at the canvas's shorter side.
        public var itemSide: ClosedRange<Int>
        /// The largest IoU an item's box may have with any other's.
        public var maximumOverlap: Float
        /// The largest share of either box that the overlap of two boxes may cover.
        public var maximumCoverage: Float
        /// Positions tried for an item before it is dropped.
        public var placementAttempts: Int
        /// A scaled item's pixel belongs to the garment when its gray level is above this.
        public var foregroundThreshold: UInt8

        public init(
            canvasWidth: Int = 320, canvasHeight: Int = 320, itemsPerScene: ClosedRange<Int> = 1...6,
            itemSide: ClosedRange<Int> = 40...160, maximumOverlap: Float = 0.3, maximumCoverage: Float = 0.5,
            placementAttempts: Int = 10, foregroundThreshold: UInt8 = 32
        ) {
            self.canvasWidth = canvasWidth
            self.canvasHeight = canvasHeight
            self.itemsPerScene = itemsPerScene
            self.itemSide = itemSide
            self.maximumOverlap = maximumOverlap
            self.maximumCoverage = maximumCoverage
            self.placementAttempts = placementAttempts
            self.foregroundThreshold = foregroundThreshold
        }
    }

    /// One item of a scene: which picture, where, at what size, and its pixels as scaled, from
    /// which a segmentation mask is derived (pixels above the threshold take the item's class).
    public struct Placement: Hashable, Sendable {
        /// The picture's index in the Fashion-MNIST split.
        public var sourceIndex: Int
        /// Its Fashion-MNIST class, 0…9.
        public var fashionClass: Int
        /// The square the scaled picture covers on the canvas.
        public var region: CropRegion
        /// The garment's box on the canvas: the extent of its pixels above the threshold.
        public var box: BoundingBox
        /// The scaled picture's gray levels, `region.width * region.height`, row by row.
        public var pixels: [UInt8]

        /// Its detection label: the Fashion-MNIST class + 1.
        public var label: Int { fashionClass + 1 }
    }

    /// The stream label of scene generators in ``SplitMix64/init(seed:path:)``.
    static let sceneStream: UInt64 = 3

    public let source: FashionMNIST
    public let count: Int
    public let seed: UInt64
    public let configuration: Configuration
    /// `"background"`, then Fashion-MNIST's ten classes.
    public let classNames: [String]

    /// `count` scenes of `source`'s pictures.
    ///
    /// - Throws: ``DetectionDataError/invalidConfiguration(reason:)`` for a negative count or a
    ///   configuration that cannot place an item.
    public init(source: FashionMNIST, count: Int, seed: UInt64, configuration: Configuration = Configuration()) throws {
        let c = configuration
        func refuse(_ reason: String) -> DetectionDataError { .invalidConfiguration(reason: "FashionMNISTScenes: \(reason)") }
        guard count >= 0 else { throw refuse("expected a count of at least 0, got \(count)") }
        guard c.canvasWidth > 0, c.canvasHeight > 0, c.canvasWidth <= ImageDecoder.maximumSide, c.canvasHeight <= ImageDecoder.maximumSide
        else {
            throw refuse("expected canvas sides of 1 to \(ImageDecoder.maximumSide) pixels, got \(c.canvasWidth)x\(c.canvasHeight)")
        }
        guard c.itemsPerScene.lowerBound >= 0 else { throw refuse("expected at least 0 items per scene, got \(c.itemsPerScene)") }
        guard c.itemSide.lowerBound > 0, c.itemSide.lowerBound <= min(c.canvasWidth, c.canvasHeight) else {
            throw refuse("expected item sides from 1 to the canvas's shorter side, got \(c.itemSide) on \(c.canvasWidth)x\(c.canvasHeight)")
        }
        guard c.placementAttempts > 0 else { throw refuse("expected at least 1 placement attempt, got \(c.placementAttempts)") }
        guard source.count > 0 else { throw refuse("the Fashion-MNIST split has no pictures") }
        self.source = source
        self.count = count
        self.seed = seed
        self.configuration = configuration
        classNames = [Self.backgroundName] + FashionMNIST.classNames
    }

    /// `count` scenes of the `split` pictures read from `directory`: train scenes from the
    /// training pictures, test scenes from the test pictures.
    public init(
        split: FashionMNIST.Split, count: Int, seed: UInt64, configuration: Configuration = Configuration(),
        directory: URL = FashionMNIST.defaultDirectory
    ) throws {
        try self.init(source: FashionMNIST(split: split, directory: directory), count: count, seed: seed, configuration: configuration)
    }

    /// The items of scene `index`, in the order they were placed (and composited).
    public func placements(at index: Int) -> [Placement] {
        precondition(index >= 0 && index < count, "scene \(index) outside 0..<\(count)")
        let c = configuration
        var generator = SplitMix64(seed: seed, path: [Self.sceneStream, UInt64(index)])
        let sides = c.itemSide.lowerBound...min(c.itemSide.upperBound, c.canvasWidth, c.canvasHeight)
        let itemCount = c.itemsPerScene.lowerBound + generator.nextIndex(below: c.itemsPerScene.count)
        var placed: [Placement] = []
        for _ in 0..<itemCount {
            let sourceIndex = generator.nextIndex(below: source.count)
            let side = sides.lowerBound + generator.nextIndex(below: sides.count)
            let pixels = scaledItem(sourceIndex, side: side)
            guard let extent = Self.extent(of: pixels, side: side, above: c.foregroundThreshold) else { continue }
            for _ in 0..<c.placementAttempts {
                let left = generator.nextIndex(below: c.canvasWidth - side + 1)
                let top = generator.nextIndex(below: c.canvasHeight - side + 1)
                let box = BoundingBox(
                    x1: Float(left + extent.x1), y1: Float(top + extent.y1), x2: Float(left + extent.x2), y2: Float(top + extent.y2))
                guard placed.allSatisfy({ fits(box, beside: $0.box) }) else { continue }
                placed.append(
                    Placement(
                        sourceIndex: sourceIndex, fashionClass: source.label(at: sourceIndex),
                        region: CropRegion(left: left, top: top, width: side, height: side), box: box, pixels: pixels))
                break
            }
        }
        return placed
    }

    public func annotation(at index: Int) -> DetectionAnnotation {
        annotation(at: index, placements(at: index))
    }

    public func image(at index: Int) -> RGBImage {
        composite(placements(at: index))
    }

    public func sample(at index: Int) -> DetectionSample {
        let placements = placements(at: index)
        return DetectionSample(image: composite(placements), annotation: annotation(at: index, placements))
    }

    public func sourceName(at index: Int) -> String {
        "Fashion-MNIST \(source.split.rawValue) scene \(index) (seed \(seed))"
    }

    /// The scene's image id: its index + 1, as COCO numbers from 1.
    public func imageID(at index: Int) -> Int { index + 1 }

    private func annotation(at index: Int, _ placements: [Placement]) -> DetectionAnnotation {
        DetectionAnnotation(
            imageID: imageID(at: index), width: configuration.canvasWidth, height: configuration.canvasHeight,
            boxes: placements.map(\.box), labels: placements.map(\.label))
    }

    /// The canvas with every item composited by `max`.
    func composite(_ placements: [Placement]) -> RGBImage {
        let width = configuration.canvasWidth
        var gray = [UInt8](repeating: 0, count: width * configuration.canvasHeight)
        for placement in placements {
            let region = placement.region
            for row in 0..<region.height {
                let target = (region.top + row) * width + region.left
                let start = row * region.width
                for column in 0..<region.width {
                    gray[target + column] = max(gray[target + column], placement.pixels[start + column])
                }
            }
        }
        var pixels = [UInt8](repeating: 0, count: gray.count * 3)
        for (offset, level) in gray.enumerated() {
            pixels[offset * 3] = level
            pixels[offset * 3 + 1] = level
            pixels[offset * 3 + 2] = level
        }
        return RGBImage(width: width, height: configuration.canvasHeight, pixels: pixels)
    }

    /// Whether `box` may stand beside `other`: little IoU, and neither mostly covered.
    private func fits(_ box: BoundingBox, beside other: BoundingBox) -> Bool {
        guard box.intersectionOverUnion(other) <= configuration.maximumOverlap else { return false }
        let overlap = BoundingBox(
            x1: max(box.x1, other.x1), y1: max(box.y1, other.y1), x2: min(box.x2, other.x2), y2: min(box.y2, other.y2)).area
        return overlap <= configuration.maximumCoverage * min(box.area, other.area)
    }

    /// Fashion-MNIST picture `sourceIndex` scaled to `side` x `side` (Pillow's bilinear), gray.
    private func scaledItem(_ sourceIndex: Int, side: Int) -> [UInt8] {
        let picture = source.image(at: sourceIndex)
        // Cannot fail: the picture is well formed and the side positive and at most 65,535.
        guard let scaled = try? ImageTransforms.resize(picture, width: side, height: side) else {
            preconditionFailure("resizing a \(picture.width)x\(picture.height) picture to \(side)x\(side) failed")
        }
        return stride(from: 0, to: scaled.pixels.count, by: 3).map { scaled.pixels[$0] }
    }

    /// The smallest rectangle, in the item's pixels, holding every pixel above `threshold`
    /// (x2 and y2 one past the last); `nil` for an item with none.
    static func extent(of pixels: [UInt8], side: Int, above threshold: UInt8) -> (x1: Int, y1: Int, x2: Int, y2: Int)? {
        var (x1, y1, x2, y2) = (side, side, 0, 0)
        for row in 0..<side {
            for column in 0..<side where pixels[row * side + column] > threshold {
                x1 = min(x1, column)
                x2 = max(x2, column + 1)
                y1 = min(y1, row)
                y2 = max(y2, row + 1)
            }
        }
        return x2 > x1 ? (x1, y1, x2, y2) : nil
    }
}
