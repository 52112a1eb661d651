import MobileNetIO

extension ImageTransforms {
    /// The central `width` x `height` region, as torchvision's `CenterCrop((height, width))` takes
    /// it from a PIL image.
    ///
    /// The offsets are `round((side - crop) / 2)` with Python's rounding, half to even: a margin
    /// of 5 starts the crop at 2, a margin of 7 at 4. A crop larger than the picture is not an
    /// error: like torchvision, the picture is first padded with black, `(crop - side) / 2`
    /// pixels before (rounded down) and the rest after, on each axis that is too small.
    public static func centerCrop(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        guard width > 0, height > 0 else {
            throw ImageTransformError.invalidSize(operation: "centerCrop", width: width, height: height)
        }
        try requireWellFormed(image, for: "centerCrop")
        var image = image
        if width > image.width || height > image.height {
            let left = width > image.width ? (width - image.width) / 2 : 0
            let top = height > image.height ? (height - image.height) / 2 : 0
            let right = width > image.width ? (width - image.width + 1) / 2 : 0
            let bottom = height > image.height ? (height - image.height + 1) / 2 : 0
            image = padded(image, left: left, top: top, right: right, bottom: bottom)
            if image.width == width && image.height == height {
                return image
            }
        }
        let top = Int((Double(image.height - height) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(image.width - width) / 2).rounded(.toNearestOrEven))
        return try crop(image, left: left, top: top, width: width, height: height)
    }

    /// The `width` x `height` region whose top-left pixel is (`left`, `top`); it must lie inside
    /// the image (torchvision's `F.crop`, without PIL's padding beyond the edges).
    public static func crop(_ image: RGBImage, left: Int, top: Int, width: Int, height: Int) throws -> RGBImage {
        guard width > 0, height > 0 else {
            throw ImageTransformError.invalidSize(operation: "crop", width: width, height: height)
        }
        try requireWellFormed(image, for: "crop")
        guard left >= 0, top >= 0, left + width <= image.width, top + height <= image.height else {
            throw ImageTransformError.regionOutsideImage(
                left: left, top: top, width: width, height: height, imageWidth: image.width, imageHeight: image.height)
        }
        if left == 0 && top == 0 && width == image.width && height == image.height {
            return image
        }
        var pixels = [UInt8]()
        pixels.reserveCapacity(width * height * 3)
        for row in top..<(top + height) {
            let start = (row * image.width + left) * 3
            pixels.append(contentsOf: image.pixels[start..<(start + width * 3)])
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// `image` inside a black border of the given widths.
    static func padded(_ image: RGBImage, left: Int, top: Int, right: Int, bottom: Int) -> RGBImage {
        let width = image.width + left + right
        let height = image.height + top + bottom
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let rowBytes = image.width * 3
        for row in 0..<image.height {
            let target = ((row + top) * width + left) * 3
            pixels[target..<(target + rowBytes)] = image.pixels[(row * rowBytes)..<((row + 1) * rowBytes)]
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
