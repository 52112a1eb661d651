import MobileNetTensor

/// How calibration turns the values it sees into ranges.
public enum CalibrationMethod: Hashable, Sendable {
    /// The mean over the images of each image's smallest and largest element (NNCF's "mean
    /// min-max": one outlier image moves the range by its share only).
    case minMax
    /// The range that holds `fraction` of all magnitudes seen (e.g. 0.9999): the rare largest
    /// values saturate instead of coarsening every step.
    case percentile(Double)
    /// The clipping range with the least estimated mean squared error (rounding inside, clipping
    /// outside), searched over fractions of the largest magnitude seen.
    case meanSquaredError
}

/// What calibration learns about each value of a graph: a range per value, by a
/// ``CalibrationMethod``.
public struct CalibrationStatistics: Sendable {
    public struct Range: Sendable, Hashable {
        public var minimum: Float
        public var maximum: Float
    }

    /// One per graph step.
    public private(set) var ranges: [Range]
    /// Images seen.
    public private(set) var samples: Int

    /// Runs `graph` (fp32, unfused: ``InferenceGraph/values(_:)``) on each batch of NHWC images.
    ///
    /// - Throws: ``CalibrationError/noCalibrationImages`` for no images at all; what the graph
    ///   throws for a batch of the wrong shape.
    public init(graph: InferenceGraph, batches: [Tensor], method: CalibrationMethod = .minMax) throws {
        var minimumSums = [Double](repeating: 0, count: graph.steps.count)
        var maximumSums = minimumSums
        // The extremes of each value over all images: the histogram methods' range, and where
        // a signed value's clipped range ends on the side that never reaches the threshold.
        var largest = [Float](repeating: 0, count: graph.steps.count)
        var lowest = largest, highest = largest
        var samples = 0
        for batch in batches {
            let values = try graph.values(batch)
            let images = batch.shape[0]
            guard images > 0 else { continue }
            samples += images
            for (index, value) in values.enumerated() {
                let perImage = value.elementCount / images
                value.withUnsafeBufferPointer { elements in
                    for image in 0..<images {
                        let (low, high) = Self.extremes(UnsafeBufferPointer(rebasing: elements[(image * perImage)..<((image + 1) * perImage)]))
                        minimumSums[index] += Double(low)
                        maximumSums[index] += Double(high)
                        largest[index] = Swift.max(largest[index], abs(low), abs(high))
                        lowest[index] = Swift.min(lowest[index], low)
                        highest[index] = Swift.max(highest[index], high)
                    }
                }
            }
        }
        guard samples > 0 else { throw CalibrationError.noCalibrationImages }
        ranges = zip(minimumSums, maximumSums).map {
            Range(minimum: Float($0 / Double(samples)), maximum: Float($1 / Double(samples)))
        }
        self.samples = samples
        if method != .minMax {
            try refine(graph: graph, batches: batches, largest: largest, extremes: Array(zip(lowest, highest)), method: method)
        }
    }

    /// Bins of the magnitude histograms ``refine(graph:batches:method:)`` builds.
    static let bins = 2048

    /// A second pass for the histogram methods: per value, a histogram of `|x|` over
    /// `[0, largest]` (`largest` from the first pass, over all images), then the clipping
    /// threshold `t` the method picks. A value never negative (mean minimum ≥ 0) keeps 0 as its
    /// lower end and is measured against 255 levels; the others against ±127 and get
    /// `[max(-t, lowest), min(t, highest)]` (`extremes`: over all images), so that a side that
    /// never reaches `t` (hard-swish's -0.375) spends no levels beyond what it reaches.
    private mutating func refine(
        graph: InferenceGraph, batches: [Tensor], largest: [Float], extremes: [(Float, Float)], method: CalibrationMethod
    ) throws {
        var histograms = [[Double]](repeating: [], count: ranges.count)
        for batch in batches where batch.shape[0] > 0 {
            let values = try graph.values(batch)
            for (index, value) in values.enumerated() where largest[index] > 0 {
                if histograms[index].isEmpty { histograms[index] = [Double](repeating: 0, count: Self.bins) }
                let perBin = Float(Self.bins) / largest[index]
                value.withUnsafeBufferPointer { elements in
                    for element in elements {
                        histograms[index][Swift.min(Self.bins - 1, Int(abs(element) * perBin))] += 1
                    }
                }
            }
        }
        for index in ranges.indices where !histograms[index].isEmpty {
            let unsigned = ranges[index].minimum >= 0
            let threshold = Self.threshold(histograms[index], largest: largest[index], levels: unsigned ? 255 : 127, method: method)
            let (lowest, highest) = extremes[index]
            ranges[index] = unsigned
                ? Range(minimum: 0, maximum: threshold)
                : Range(minimum: Swift.max(-threshold, lowest), maximum: Swift.min(threshold, highest))
        }
    }

    /// The clipping threshold of a magnitude histogram over `[0, largest]`.
    static func threshold(_ histogram: [Double], largest: Float, levels: Double, method: CalibrationMethod) -> Float {
        let width = Double(largest) / Double(histogram.count)
        let total = histogram.reduce(0, +)
        switch method {
        case .minMax:
            return largest
        case let .percentile(fraction):
            var seen = 0.0
            for (bin, count) in histogram.enumerated() {
                seen += count
                if seen >= fraction * total { return Float(Double(bin + 1) * width) }
            }
            return largest
        case .meanSquaredError:
            var best = (error: Double.infinity, threshold: Double(largest))
            // Candidates from 1/256 of the range to all of it, in 1/256 steps.
            for candidate in 1...256 {
                let threshold = Double(largest) * Double(candidate) / 256
                let step = threshold / levels
                let rounding = step * step / 12
                var error = 0.0
                for (bin, count) in histogram.enumerated() where count > 0 {
                    let center = (Double(bin) + 0.5) * width
                    error += count * (center > threshold ? (center - threshold) * (center - threshold) : rounding)
                }
                if error < best.error { best = (error, threshold) }
            }
            return Float(best.threshold)
        }
    }

    /// The smallest and largest element (0 and 0 for none), in one pass.
    static func extremes(_ elements: UnsafeBufferPointer<Float>) -> (Float, Float) {
        guard let first = elements.first else { return (0, 0) }
        var (low, high) = (first, first)
        for element in elements {
            low = Swift.min(low, element)
            high = Swift.max(high, element)
        }
        return (low, high)
    }
}
