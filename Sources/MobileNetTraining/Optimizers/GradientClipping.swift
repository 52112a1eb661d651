import MobileNetNN
import MobileNetTensor

/// Scales all gradients together so that their global L2 norm is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_` does, and returns the norm they had.
///
/// The norm is the L2 norm of the per-tensor norms (each accumulated in double precision and
/// rounded to float, as PyTorch's CPU reduction does); the gradients are multiplied by
/// `min(1, maxNorm / (norm + 1e-6))`. Parameters without a gradient are ignored.
///
/// One deliberate difference: when the norm is not finite (a NaN or an infinity in some
/// gradient) the gradients are left as they are, where PyTorch would multiply them all by NaN.
/// The caller sees the non-finite norm and can report the divergence with its step.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Double) -> Float {
    precondition(maxNorm > 0, "clipGradientNorm: the limit must be positive, got \(maxNorm)")
    var sumOfSquares = 0.0
    for parameter in parameters {
        guard let gradient = parameter.gradient else { continue }
        let norm = gradient.withUnsafeBufferPointer { values in
            Float(values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        }
        sumOfSquares += Double(norm) * Double(norm)
    }
    let total = Float(sumOfSquares.squareRoot())
    guard total.isFinite else { return total }
    let coefficient = min(Float(maxNorm) / (total + Float(1e-6)), 1)
    guard coefficient < 1 else { return total }
    for parameter in parameters where parameter.gradient != nil {
        parameter.gradient!.withUnsafeMutableBufferPointer { values in
            for index in values.indices { values[index] *= coefficient }
        }
    }
    return total
}

/// ``clipGradientNorm(_:maxNorm:)`` over the parameters of an optimizer's groups.
@discardableResult
public func clipGradientNorm(_ groups: [ParameterGroup], maxNorm: Double) -> Float {
    clipGradientNorm(groups.flatMap { $0.parameters.map(\.parameter) }, maxNorm: maxNorm)
}
