import MobileNetIO

extension FashionMNISTScenes {
    /// Scene `index` with its per-pixel class map: the picture, and `width * height` labels row
    /// by row (0 background, 1…10 the Fashion-MNIST class + 1).
    ///
    /// A canvas pixel takes the class of the item whose scaled picture is brightest there, if
    /// that level is above ``Configuration/foregroundThreshold`` (the threshold the boxes use),
    /// and is background otherwise. The picture composites items by `max`, so the label is the
    /// item one sees at that pixel; where two items are equally bright, the one placed later.
    public func segmentation(at index: Int) -> (image: RGBImage, labels: [UInt8]) {
        let placements = placements(at: index)
        return (composite(placements), labels(placements))
    }

    /// The class map of a scene's items (see ``segmentation(at:)``).
    func labels(_ placements: [Placement]) -> [UInt8] {
        let width = configuration.canvasWidth
        var brightest = [UInt8](repeating: 0, count: width * configuration.canvasHeight)
        var labels = [UInt8](repeating: 0, count: brightest.count)
        let threshold = configuration.foregroundThreshold
        for placement in placements {
            let region = placement.region
            let label = UInt8(placement.label)
            for row in 0..<region.height {
                let target = (region.top + row) * width + region.left
                let start = row * region.width
                for column in 0..<region.width {
                    let level = placement.pixels[start + column]
                    if level > threshold, level >= brightest[target + column] {
                        brightest[target + column] = level
                        labels[target + column] = label
                    }
                }
            }
        }
        return labels
    }
}
