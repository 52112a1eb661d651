import Foundation
import MobileNetTensor

/// One class of a classification: its index, its name and its softmax probability.
public struct Prediction: Hashable, Sendable {
    public var index: Int
    public var label: String
    public var probability: Float

    public init(index: Int, label: String, probability: Float) {
        self.index = index
        self.label = label
        self.probability = probability
    }

    /// The `top` most probable classes of each row of `logits` `[N, K]`, most probable first
    /// (ties by index), with `labels[k]` naming class `k`.
    ///
    /// The softmax runs here, in double precision over each row with its largest logit
    /// subtracted (so no `exp` overflows): a thousand exponentials per photo, which is not worth a
    /// oneDNN primitive and a pass through the engine's lock. A row with a NaN or infinite logit
    /// gives NaN probabilities.
    public static func ranked(logits: Tensor, labels: [String], top: Int) -> [[Prediction]] {
        let (rows, classes) = (logits.shape[0], logits.shape[1])
        return logits.withUnsafeBufferPointer { values in
            (0..<rows).map { row in
                let start = row * classes
                let largest = values[start..<start + classes].max() ?? 0
                let exponentials = values[start..<start + classes].map { exp(Double($0 - largest)) }
                let total = exponentials.reduce(0, +)
                let all = exponentials.enumerated().map { index, value in
                    Prediction(index: index, label: labels[index], probability: Float(value / total))
                }
                let ranked = all.sorted { lhs, rhs in
                    lhs.probability != rhs.probability ? lhs.probability > rhs.probability : lhs.index < rhs.index
                }
                return Array(ranked.prefix(max(0, top)))
            }
        }
    }
}
