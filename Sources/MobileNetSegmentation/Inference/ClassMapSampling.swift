import Foundation
import MobileNetTensor

/// A photo's class map straight from LR-ASPP's scores at the low features' size.
///
/// ``LRASPP/segment(_:baseSize:)`` resizes the scores bilinearly to the network input's size
/// (what the model returns), takes each pixel's arg-max class, and resizes that map to the
/// photo's size by nearest neighbour. The last resize reads one input pixel per photo pixel,
/// so only those pixels' scores are needed: this computes the same map by blending, for each
/// photo row, the two score rows its input row reads (``BilinearTap``, `align_corners=False`),
/// then, for each photo pixel, the two columns its input column reads, and taking the arg-max
/// there (the first of equal scores, as ``SegmentationEvaluation/argmax(_:classes:)``). A
/// full-size logits map is never made: for a 300x300 photo segmented at 512, 90,000 pixels of
/// scores instead of 262,144, and no 512x512xK tensor written and read back. The blend's
/// order of operations differs from the resize's, so a pixel whose two best classes tie to
/// within float rounding may take the other one.
enum ClassMapSampling {
    /// The class map, `photoWidth * photoHeight` labels row by row, of one image's scores
    /// `[scoreHeight, scoreWidth, classes]` (NHWC, contiguous) for a network input of
    /// `inputWidth` x `inputHeight`; the rows are shared among `threads` threads, in bands.
    static func labels(
        scores: UnsafePointer<Float>, scoreHeight: Int, scoreWidth: Int, classes: Int,
        inputHeight: Int, inputWidth: Int, photoHeight: Int, photoWidth: Int, threads: Int
    ) -> [UInt8] {
        let rowTaps = BilinearTap.taps(input: scoreHeight, output: inputHeight)
        let columnTaps = BilinearTap.taps(input: scoreWidth, output: inputWidth)
        let rows = SegmentationTransforms.nearestSources(input: inputHeight, output: photoHeight).map { rowTaps[$0] }
        let columns = SegmentationTransforms.nearestSources(input: inputWidth, output: photoWidth).map { columnTaps[$0] }
        let rowLength = scoreWidth * classes
        var labels = [UInt8](repeating: 0, count: photoWidth * photoHeight)
        let workers = max(1, min(threads, photoHeight))
        let chunk = (photoHeight + workers - 1) / workers
        labels.withUnsafeMutableBufferPointer { output in
            // Each worker writes its own band of rows.
            nonisolated(unsafe) let output = output.baseAddress!
            nonisolated(unsafe) let scores = scores
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                // One score row blended vertically, reused while consecutive photo rows read the same taps.
                let blended = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)
                defer { blended.deallocate() }
                var blendedTap: BilinearTap?
                for y in (worker * chunk)..<min(photoHeight, (worker + 1) * chunk) {
                    let tap = rows[y]
                    if tap != blendedTap {
                        let (top, bottom) = (scores + tap.first * rowLength, scores + tap.second * rowLength)
                        let (h0, h1) = (1 - tap.fraction, tap.fraction)
                        for i in 0..<rowLength { blended[i] = top[i] * h0 + bottom[i] * h1 }
                        blendedTap = tap
                    }
                    let target = output + y * photoWidth
                    var previous: (tap: BilinearTap, label: UInt8)?
                    for (x, column) in columns.enumerated() {
                        if let previous, previous.tap == column {
                            target[x] = previous.label
                            continue
                        }
                        let (left, right) = (blended + column.first * classes, blended + column.second * classes)
                        let (w0, w1) = (1 - column.fraction, column.fraction)
                        var best = 0
                        var bestScore = left[0] * w0 + right[0] * w1
                        for k in 1..<classes {
                            let score = left[k] * w0 + right[k] * w1
                            if score > bestScore {
                                best = k
                                bestScore = score
                            }
                        }
                        target[x] = UInt8(best)
                        previous = (column, UInt8(best))
                    }
                }
            }
        }
        return labels
    }
}
