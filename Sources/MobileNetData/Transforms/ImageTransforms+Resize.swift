import MobileNetIO

extension ImageTransforms {
    /// `image` resized to `width` x `height` exactly as Pillow's
    /// `Image.resize((width, height), Image.BILINEAR)` does it, byte for byte.
    ///
    /// That is torchvision's `Resize` on a PIL image (bilinear, antialiased): a triangle filter
    /// stretched by the shrink factor, so shrinking averages every covered pixel instead of
    /// sampling two. Two separable passes, each in 22-bit fixed point with rounding and clipping
    /// to bytes after the pass (see `ResampleCoefficients`). A pass whose size does not change is
    /// skipped, as Pillow skips it; the same size gives a copy.
    ///
    /// The order of the passes changes the rounding, so it follows Pillow 13: horizontal first,
    /// unless the height shrinks by more than twice as many pixels as the width does (then the
    /// vertical pass runs first, on fewer rows). Older Pillow releases always ran the horizontal
    /// pass first; for those resizes their output differs from this one by one level here and
    /// there.
    ///
    /// - Throws: ``ImageTransformError`` for a size that is not positive, a malformed image, or an
    ///   output of more than ``maximumResizedPixelCount`` pixels.
    public static func resize(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        guard width > 0, height > 0 else {
            throw ImageTransformError.invalidSize(operation: "resize", width: width, height: height)
        }
        try requireWellFormed(image, for: "resize")
        try requireModestOutput(of: image, width: Double(width), height: Double(height), for: "resize")
        let resizesWidth = width != image.width
        let resizesHeight = height != image.height
        let columns = resizesWidth ? ResampleCoefficients(inputSize: image.width, outputSize: width) : nil
        let rows = resizesHeight ? ResampleCoefficients(inputSize: image.height, outputSize: height) : nil
        let heightShrink = image.height - height
        let verticalFirst = heightShrink > 0 && heightShrink > (image.width - width) * 2

        switch (columns, rows) {
        case (nil, nil):
            return image
        case let (columns?, nil):
            return resampleRows(image, rows: 0..<image.height, columns)
        case let (nil, rows?):
            return resampleColumns(image, rows, rowOffset: 0)
        case let (columns?, rows?) where verticalFirst:
            let shorter = resampleColumns(image, rows, rowOffset: 0)
            return resampleRows(shorter, rows: 0..<shorter.height, columns)
        case let (columns?, rows?):
            // Only the input rows the vertical pass will read go through the horizontal pass.
            let needed = rows.inputRange
            let narrower = resampleRows(image, rows: needed, columns)
            return resampleColumns(narrower, rows, rowOffset: needed.lowerBound)
        }
    }

    /// `image` scaled so its shorter side is `size`, keeping the aspect ratio the way
    /// torchvision's `Resize(size)` does: the longer side becomes `int(size * long / short)`,
    /// truncated (a 500x375 photo becomes 341x256).
    ///
    /// - Throws: ``ImageTransformError`` for a size that is not positive, a malformed image, or an
    ///   output of more than ``maximumResizedPixelCount`` pixels: a picture of an extreme aspect
    ///   ratio, such as a 161-byte PNG of 1x20000 pixels, whose shorter side resized to 256 would
    ///   take 3.9 GB.
    public static func resizeShorterSide(_ image: RGBImage, to size: Int) throws -> RGBImage {
        guard size > 0 else {
            throw ImageTransformError.invalidSize(operation: "resizeShorterSide", width: size, height: size)
        }
        try requireWellFormed(image, for: "resizeShorterSide")
        // In floating point first: the exact sizes could overflow.
        let (short, long) = (Double(min(image.width, image.height)), Double(max(image.width, image.height)))
        let scaledLong = Double(size) * long / short
        try requireModestOutput(
            of: image, width: image.width <= image.height ? Double(size) : scaledLong,
            height: image.width <= image.height ? scaledLong : Double(size), for: "resizeShorterSide")
        let (width, height) = shorterSideSize(width: image.width, height: image.height, shorterSide: size)
        return try resize(image, width: width, height: height)
    }

    /// The most pixels a resize may make: 2^26 (8192 x 8192, 192 MiB of RGB).
    ///
    /// Every resize this package asks for is far smaller (a shorter side of 256, a training
    /// resolution); only a picture of an extreme aspect ratio comes near, and it is refused
    /// rather than stretched into gigabytes.
    public static let maximumResizedPixelCount = 1 << 26

    /// Throws unless a `width` x `height` output (not yet rounded) stays within ``maximumResizedPixelCount``.
    private static func requireModestOutput(of image: RGBImage, width: Double, height: Double, for operation: String) throws {
        guard width * height <= Double(maximumResizedPixelCount) else {
            throw ImageTransformError.outputTooLarge(
                operation: operation, imageWidth: image.width, imageHeight: image.height,
                width: whole(width), height: whole(height), limit: maximumResizedPixelCount)
        }
    }

    /// `value` truncated to an `Int`, or `Int.max` beyond it.
    private static func whole(_ value: Double) -> Int {
        Int(exactly: value.rounded(.towardZero)) ?? .max
    }

    /// The output size of torchvision's `Resize(shorterSide)` for a `width` x `height` picture.
    ///
    /// - Precondition: all three sizes are positive.
    public static func shorterSideSize(width: Int, height: Int, shorterSide size: Int) -> (width: Int, height: Int) {
        precondition(width > 0 && height > 0 && size > 0, "shorterSideSize: expected positive sizes")
        let (short, long) = width <= height ? (width, height) : (height, width)
        // Python's `int(size * long / short)`: exact product, correctly rounded double quotient,
        // truncated toward zero.
        let newLong = Int(Double(size * long) / Double(short))
        return width <= height ? (size, newLong) : (newLong, size)
    }

    /// The horizontal pass over `rows` of `image`: every row of the result is one input row
    /// resampled to `columns.outputSize` pixels.
    private static func resampleRows(_ image: RGBImage, rows: Range<Int>, _ columns: ResampleCoefficients) -> RGBImage {
        let outputWidth = columns.outputSize
        let inputRowBytes = image.width * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: rows.count * outputWidth * 3) { output, initialized in
            image.pixels.withUnsafeBufferPointer { input in
                columns.first.withUnsafeBufferPointer { first in
                    columns.count.withUnsafeBufferPointer { count in
                        columns.weights.withUnsafeBufferPointer { weights in
                            var target = 0
                            for row in rows {
                                let line = input.baseAddress! + row * inputRowBytes
                                for x in 0..<outputWidth {
                                    let taps = weights.baseAddress! + x * columns.tapStride
                                    var source = line + first[x] * 3
                                    var (red, green, blue) = (ResampleCoefficients.half, ResampleCoefficients.half, ResampleCoefficients.half)
                                    for tap in 0..<count[x] {
                                        let weight = taps[tap]
                                        red &+= Int32(source[0]) &* weight
                                        green &+= Int32(source[1]) &* weight
                                        blue &+= Int32(source[2]) &* weight
                                        source += 3
                                    }
                                    output[target] = ResampleCoefficients.clip(red)
                                    output[target + 1] = ResampleCoefficients.clip(green)
                                    output[target + 2] = ResampleCoefficients.clip(blue)
                                    target += 3
                                }
                            }
                        }
                    }
                }
            }
            initialized = rows.count * outputWidth * 3
        }
        return RGBImage(width: outputWidth, height: rows.count, pixels: pixels)
    }

    /// The vertical pass: output row `y` mixes input rows `first[y] - rowOffset …`. Each byte of
    /// a row is filtered on its own, which treats the three channels exactly like Pillow does.
    private static func resampleColumns(_ image: RGBImage, _ rows: ResampleCoefficients, rowOffset: Int) -> RGBImage {
        let rowBytes = image.width * 3
        let outputHeight = rows.outputSize
        let pixels = [UInt8](unsafeUninitializedCapacity: outputHeight * rowBytes) { output, initialized in
            image.pixels.withUnsafeBufferPointer { input in
                rows.weights.withUnsafeBufferPointer { weights in
                    // One accumulator per byte of the output row, so the inner loop runs along
                    // contiguous memory (and vectorizes) instead of striding down a column.
                    var sums = [Int32](repeating: 0, count: rowBytes)
                    sums.withUnsafeMutableBufferPointer { sums in
                        for y in 0..<outputHeight {
                            for index in 0..<rowBytes { sums[index] = ResampleCoefficients.half }
                            let taps = weights.baseAddress! + y * rows.tapStride
                            for tap in 0..<rows.count[y] {
                                let weight = taps[tap]
                                let line = input.baseAddress! + (rows.first[y] - rowOffset + tap) * rowBytes
                                for index in 0..<rowBytes {
                                    sums[index] &+= Int32(line[index]) &* weight
                                }
                            }
                            let target = output.baseAddress! + y * rowBytes
                            for index in 0..<rowBytes {
                                target[index] = ResampleCoefficients.clip(sums[index])
                            }
                        }
                    }
                }
            }
            initialized = outputHeight * rowBytes
        }
        return RGBImage(width: image.width, height: outputHeight, pixels: pixels)
    }
}
