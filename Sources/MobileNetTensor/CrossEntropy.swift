#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The mean softmax cross-entropy of `logits [N, K]` against class indices `labels` (N of them),
/// as PyTorch's `F.cross_entropy(logits, labels, label_smoothing:, ignore_index:)`: a scalar
/// tensor (shape `[]`).
///
/// Samples labelled `ignoreIndex` (255 in segmentation masks: borders, padding) count for
/// nothing: the mean is over the others, and their logits get no gradient. With every sample
/// ignored the loss is 0 and so is the gradient (PyTorch gives NaN there).
///
/// With label smoothing ε the target of a sample is `(1 - ε) · one-hot + ε / K`, the form used to
/// train MobileNetV3 and EfficientNets. The softmax and the loss are one operation, so the gradient
/// is the stable closed form `(softmax(logits) - target) / N`.
public func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Float = 0, ignoreIndex: Int? = nil) throws -> Tensor {
    let operation = "crossEntropy"
    try logits.expectRank(2, layout: "[batch, classes]", for: operation)
    let (batch, classes) = (logits.shape[0], logits.shape[1])
    guard batch >= 1, classes >= 1 else {
        throw TensorError.shapeMismatch(operation: operation, expected: "at least one sample and one class", actual: logits.shape)
    }
    guard labels.count == batch else {
        throw TensorError.invalidArgument(
            operation: operation, argument: "labels", reason: "\(labels.count) labels for a batch of \(batch)")
    }
    if let bad = labels.first(where: { !(0..<classes).contains($0) && $0 != ignoreIndex }) {
        throw TensorError.invalidArgument(
            operation: operation, argument: "labels",
            reason: "label \(bad) is not a class index in 0..<\(classes)" + (ignoreIndex.map { " nor the ignored \($0)" } ?? ""))
    }
    guard labelSmoothing >= 0, labelSmoothing < 1 else {
        throw TensorError.invalidArgument(
            operation: operation, argument: "labelSmoothing", reason: "\(labelSmoothing) is not in [0, 1)")
    }
    let engine = Engine.current
    let logProbabilities = try engine.logSoftmax(logits)
    let target = SmoothedTarget(labels: labels, classes: classes, smoothing: labelSmoothing)

    let counted = ignoreIndex.map { ignored in labels.reduce(0) { $0 + ($1 == ignored ? 0 : 1) } } ?? batch
    func isIgnored(_ n: Int) -> Bool { ignoreIndex != nil && labels[n] == ignoreIndex }
    var total = 0.0
    logProbabilities.withUnsafeBufferPointer { logP in
        for n in 0..<batch where !isIgnored(n) {
            for k in 0..<classes {
                let weight = target.weight(sample: n, class: k)
                if weight != 0 { total -= weight * Double(logP[n * classes + k]) }
            }
        }
    }
    let loss = try Tensor(shape: [], values: [Float(total / Double(max(counted, 1)))])
    guard let tape = GradientTape.recording(logits) else { return loss }
    return tape.recordOperation(operation, inputs: [logits], output: loss) { gradient, _ in
        let factor = Double(gradient.scalars[0]) / Double(max(counted, 1))
        var logitsGradient = Tensor(repeating: 0, shape: logProbabilities.shape)
        logitsGradient.withUnsafeMutableBufferPointer { result in
            logProbabilities.withUnsafeBufferPointer { logP in
                for n in 0..<batch where !isIgnored(n) {
                    for k in 0..<classes {
                        let probability = exp(Double(logP[n * classes + k]))
                        result[n * classes + k] = Float(factor * (probability - target.weight(sample: n, class: k)))
                    }
                }
            }
        }
        return [logitsGradient]
    }
}

/// The label-smoothed one-hot target of each sample, without materializing it (an ignored
/// sample's weights are never asked for).
private struct SmoothedTarget {
    let labels: [Int]
    let onTarget: Double
    let offTarget: Double

    init(labels: [Int], classes: Int, smoothing: Float) {
        self.labels = labels
        offTarget = Double(smoothing) / Double(classes)
        onTarget = 1 - Double(smoothing) + offTarget
    }

    func weight(sample: Int, class index: Int) -> Double {
        labels[sample] == index ? onTarget : offTarget
    }
}
