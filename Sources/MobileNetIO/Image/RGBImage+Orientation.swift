extension RGBImage {
    /// The picture turned upright according to an EXIF orientation (Pillow's
    /// `ImageOps.exif_transpose`); the sides swap for orientations 5–8.
    public func applying(_ orientation: ExifOrientation) -> RGBImage {
        guard orientation != .upright, isWellFormed else { return self }
        let (outputWidth, outputHeight) = orientation.swapsSides ? (height, width) : (width, height)
        let (lastColumn, lastRow) = (width - 1, height - 1)
        // For each output pixel (x, y), the stored pixel it shows.
        let source: (Int, Int) -> (x: Int, y: Int)
        switch orientation {
        case .upright: source = { x, y in (x, y) }
        case .flipHorizontal: source = { x, y in (lastColumn - x, y) }
        case .rotate180: source = { x, y in (lastColumn - x, lastRow - y) }
        case .flipVertical: source = { x, y in (x, lastRow - y) }
        case .transpose: source = { x, y in (y, x) }
        case .rotate90Clockwise: source = { x, y in (y, lastRow - x) }
        case .transverse: source = { x, y in (lastColumn - y, lastRow - x) }
        case .rotate90CounterClockwise: source = { x, y in (lastColumn - y, x) }
        }
        var output = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                var target = 0
                for y in 0..<outputHeight {
                    for x in 0..<outputWidth {
                        let (sourceX, sourceY) = source(x, y)
                        let offset = (sourceY * width + sourceX) * 3
                        output[target] = input[offset]
                        output[target + 1] = input[offset + 1]
                        output[target + 2] = input[offset + 2]
                        target += 3
                    }
                }
            }
        }
        return RGBImage(width: outputWidth, height: outputHeight, pixels: output)
    }
}
