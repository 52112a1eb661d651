import MobileNetTensor

/// What calibration learns about each value of a graph: the mean over the calibration images
/// of each image's smallest and largest element (NNCF's "mean min-max": one outlier image moves
/// the range by its share only).
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
    public init(graph: InferenceGraph, batches: [Tensor]) throws {
        var minimumSums = [Double](repeating: 0, count: graph.steps.count)
        var maximumSums = minimumSums
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
                    }
                }
            }
        }
        guard samples > 0 else { throw CalibrationError.noCalibrationImages }
        ranges = zip(minimumSums, maximumSums).map {
            Range(minimum: Float($0 / Double(samples)), maximum: Float($1 / Double(samples)))
        }
        self.samples = samples
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
