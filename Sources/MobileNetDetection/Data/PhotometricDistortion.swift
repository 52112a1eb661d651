#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MobileNetIO
import MobileNetTensor

/// torchvision's `RandomPhotometricDistort` (from its detection references, after SSD's
/// Caffe recipe): brightness, contrast, saturation and hue, each applied with probability `p`
/// and a factor drawn from its range, contrast either first or after hue, and finally, again with
/// probability `p`, the three channels in a random order.
///
/// The color operations are torchvision's `adjust_*` on an 8-bit tensor, in its float32
/// arithmetic: a blend `factor * image + (1 - factor) * other` truncated to a byte (`other` black
/// for brightness, the gray picture's mean for contrast, the gray picture for saturation, gray
/// being `0.2989 R + 0.587 G + 0.114 B` truncated), and hue shifted in HSV, converted back with
/// `convert_image_dtype`'s `× 255.999`, truncated.
public struct PhotometricDistortion: Hashable, Sendable {
    public var brightness: ClosedRange<Float>
    public var contrast: ClosedRange<Float>
    public var saturation: ClosedRange<Float>
    public var hue: ClosedRange<Float>
    /// The probability of each of the five steps.
    public var probability: Float

    /// torchvision's defaults.
    public init(
        brightness: ClosedRange<Float> = 0.875...1.125, contrast: ClosedRange<Float> = 0.5...1.5,
        saturation: ClosedRange<Float> = 0.5...1.5, hue: ClosedRange<Float> = -0.05...0.05, probability: Float = 0.5
    ) {
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.probability = probability
    }

    /// `image` distorted with the draws of `generator`: seven uniform values first (which steps
    /// run, and whether contrast comes first), then each step's factor as it runs.
    public func apply(_ image: RGBImage, using generator: inout SplitMix64) -> RGBImage {
        let draws = (0..<7).map { _ in generator.nextFloat(in: 0, 1) }
        func factor(_ range: ClosedRange<Float>) -> Float { generator.nextFloat(in: range.lowerBound, range.upperBound) }
        var image = image
        if draws[0] < probability { image = Self.adjustBrightness(image, factor: factor(brightness)) }
        let contrastFirst = draws[1] < 0.5
        if contrastFirst, draws[2] < probability { image = Self.adjustContrast(image, factor: factor(contrast)) }
        if draws[3] < probability { image = Self.adjustSaturation(image, factor: factor(saturation)) }
        if draws[4] < probability { image = Self.adjustHue(image, factor: factor(hue)) }
        if !contrastFirst, draws[5] < probability { image = Self.adjustContrast(image, factor: factor(contrast)) }
        if draws[6] < probability {
            var order = [0, 1, 2]
            order.seededShuffle(using: &generator)
            image = Self.permuteChannels(image, order)
        }
        return image
    }

    /// Every value times `factor`, truncated to a byte (`adjust_brightness`).
    public static func adjustBrightness(_ image: RGBImage, factor: Float) -> RGBImage {
        var image = image
        for offset in image.pixels.indices { image.pixels[offset] = blend(image.pixels[offset], 0, factor) }
        return image
    }

    /// Each value blended with the mean of the gray picture (`adjust_contrast`).
    public static func adjustContrast(_ image: RGBImage, factor: Float) -> RGBImage {
        let pixelCount = image.pixels.count / 3
        guard pixelCount > 0 else { return image }
        var sum: Float = 0
        for pixel in 0..<pixelCount { sum += Float(gray(image.pixels, pixel)) }
        let mean = sum / Float(pixelCount)
        var image = image
        for offset in image.pixels.indices { image.pixels[offset] = blend(image.pixels[offset], mean, factor) }
        return image
    }

    /// Each pixel blended with its own gray level (`adjust_saturation`): 0 makes the picture
    /// gray, 2 doubles its colorfulness.
    public static func adjustSaturation(_ image: RGBImage, factor: Float) -> RGBImage {
        var image = image
        for pixel in 0..<(image.pixels.count / 3) {
            let level = Float(gray(image.pixels, pixel))
            for channel in 0..<3 {
                image.pixels[pixel * 3 + channel] = blend(image.pixels[pixel * 3 + channel], level, factor)
            }
        }
        return image
    }

    /// The hue turned by `factor` of a full circle, in -0.5…0.5 (`adjust_hue`).
    public static func adjustHue(_ image: RGBImage, factor: Float) -> RGBImage {
        var image = image
        for pixel in 0..<(image.pixels.count / 3) {
            let offset = pixel * 3
            let (red, green, blue) = (Float(image.pixels[offset]) / 255, Float(image.pixels[offset + 1]) / 255, Float(image.pixels[offset + 2]) / 255)
            var (h, s, v) = hsv(red, green, blue)
            h += factor
            h -= floorf(h)
            let (r, g, b) = rgb(h, s, v)
            image.pixels[offset] = UInt8(r * 255.999)
            image.pixels[offset + 1] = UInt8(g * 255.999)
            image.pixels[offset + 2] = UInt8(b * 255.999)
        }
        return image
    }

    /// The channels reordered: output channel `c` is input channel `order[c]`.
    public static func permuteChannels(_ image: RGBImage, _ order: [Int]) -> RGBImage {
        precondition(order.sorted() == [0, 1, 2], "permuteChannels: \(order) is not an order of 3 channels")
        var image = image
        for offset in stride(from: 0, to: image.pixels.count, by: 3) {
            let pixel = (image.pixels[offset], image.pixels[offset + 1], image.pixels[offset + 2])
            let channels = [pixel.0, pixel.1, pixel.2]
            for channel in 0..<3 { image.pixels[offset + channel] = channels[order[channel]] }
        }
        return image
    }

    /// `factor * value + (1 - factor) * other`, clamped to 0…255 and truncated (`_blend`).
    private static func blend(_ value: UInt8, _ other: Float, _ factor: Float) -> UInt8 {
        UInt8(min(max(factor * Float(value) + (1 - factor) * other, 0), 255))
    }

    /// `rgb_to_grayscale` of pixel `pixel`: the ITU-R 601 weights, truncated to a byte.
    private static func gray(_ pixels: [UInt8], _ pixel: Int) -> UInt8 {
        let offset = pixel * 3
        let level: Float = 0.2989 * Float(pixels[offset]) + 0.587 * Float(pixels[offset + 1]) + 0.114 * Float(pixels[offset + 2])
        return UInt8(min(max(level, 0), 255))
    }

    /// torchvision's `_rgb2hsv`, for values in 0…1: hue in [0, 1).
    private static func hsv(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        let maximum = max(r, g, b)
        let minimum = min(r, g, b)
        let equal = maximum == minimum
        let range = maximum - minimum
        let saturation = range / (equal ? 1 : maximum)
        let divisor = equal ? 1 : range
        let (rc, gc, bc) = ((maximum - r) / divisor, (maximum - g) / divisor, (maximum - b) / divisor)
        var hue: Float
        if maximum == r {
            hue = bc - gc
        } else if maximum == g {
            hue = 2 + rc - bc
        } else {
            hue = 4 + gc - rc
        }
        hue = fmodf(hue / 6 + 1, 1)
        return (hue, saturation, maximum)
    }

    /// torchvision's `_hsv2rgb`.
    private static func rgb(_ h: Float, _ s: Float, _ v: Float) -> (Float, Float, Float) {
        let sector = floorf(h * 6)
        let f = h * 6 - sector
        let p = min(max(v * (1 - s), 0), 1)
        let q = min(max(v * (1 - s * f), 0), 1)
        let t = min(max(v * (1 - s * (1 - f)), 0), 1)
        switch ((Int(sector) % 6) + 6) % 6 {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }
}
