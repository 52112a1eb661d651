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
    /// - Precondition: `width` and `height` are positive and `image` is well formed (decoded
    ///   images always are). Sizes are the caller's choice, not data, so a bad one is a bug.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "resize: expected a positive size, got \(width)x\(height)")
        precondition(
            image.isWellFormed,
            "resize: malformed \(image.width)x\(image.height) image holding \(image.pixels.count) bytes")
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
    /// - Precondition: `size` is positive and `image` is well formed.
    public static func resizeShorterSide(_ image: RGBImage, to size: Int) -> RGBImage {
        precondition(size > 0, "resizeShorterSide: expected a positive size, got \(size)")
        precondition(image.isWellFormed, "resizeShorterSide: malformed \(image.width)x\(image.height) image")
        let (width, height) = shorterSideSize(width: image.width, height: image.height, shorterSide: size)
        return resize(image, width: width, height: height)
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
