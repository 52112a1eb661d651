/// An int8 inference (``InferenceGraph/quantizedValues(_:_:)``) was given a graph, a
/// ``GraphQuantization`` or an input it cannot run.
///
/// Each case names the step (its index in ``InferenceGraph/steps``) and says what was expected
/// and what was found.
public enum QuantizationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// ``GraphQuantization/values`` must hold one storage per step.
    case valueCount(expected: Int, actual: Int)
    /// A convolution or linear step has no entry in ``GraphQuantization/layers``.
    case missingLayer(step: Int)
    /// A layer's `weights`, `weightScales` or `bias` has the wrong number of elements.
    case layerSize(step: Int, parameter: String, expected: Int, actual: Int)
    /// A weight lies outside ``GraphQuantization/WeightRange``, where oneDNN's kernels would
    /// saturate their 16-bit pair sums.
    case weightOutOfRange(step: Int, index: Int, weight: Int8, limit: Int)
    /// A value's element type is not one the step can read or write (`role`: source, destination,
    /// shortcut, gate).
    case unsupportedType(step: Int, role: String, type: DType, expected: String)
    /// A scale that is not finite and positive (weight scales may be 0), or a `float32` value
    /// whose scale is not 1.
    case invalidScale(step: Int, role: String, scale: Float)
    /// A zero point outside its integer type, or not 0 for `float32`.
    case invalidZeroPoint(step: Int, type: DType, zeroPoint: Int32)
    /// An operand's shape does not fit the step.
    case shapeMismatch(step: Int, operand: String, expected: String, actual: Shape)
    /// A convolution's stride, padding, dilation or groups do not fit its operands.
    case invalidGeometry(step: Int, geometry: ConvolutionGeometry, reason: String)
    /// An exact sum of products and bias does not fit in int32, where oneDNN's accumulator wraps.
    case accumulatorOverflow(step: Int, element: Int, sum: Int64)
    /// The input image holds a NaN, which has no integer to round to.
    case notANumber(step: Int, element: Int)
    /// Average pooling keeps its input's storage; the quantization gives the pooled value another.
    case poolStorageMismatch(step: Int, input: GraphQuantization.Value, output: GraphQuantization.Value)
    /// An activation lowers to a oneDNN eltwise algorithm the integer reference does not compute.
    case unsupportedActivation(step: Int, activation: Activation)
    /// An add's scale ratios `s_a / s_c`, `s_b / s_c` lie outside what its
    /// ``GraphQuantization/AddArithmetic`` can express.
    case addRatiosOutOfRange(step: Int, arithmetic: GraphQuantization.AddArithmetic, ratios: [Float])
    /// A ``QuantizedValue`` built from parts that do not agree.
    case invalidValue(reason: String)
    /// A kind of step the integer path does not compute (a bilinear resize).
    case unsupportedStep(step: Int, operation: String)

    public var description: String {
        switch self {
        case let .unsupportedStep(step, operation):
            "quantization step \(step): \(operation) has no int8 form here; quantize a classifier"
        case let .valueCount(expected, actual):
            "quantization: expected \(expected) value storages (one per step), got \(actual)"
        case let .missingLayer(step):
            "quantization step \(step): no integer layer for this convolution or linear step"
        case let .layerSize(step, parameter, expected, actual):
            "quantization step \(step): layer \(parameter) needs \(expected) elements, got \(actual)"
        case let .weightOutOfRange(step, index, weight, limit):
            "quantization step \(step): weight \(index) is \(weight), outside [-\(limit), \(limit)]"
        case let .unsupportedType(step, role, type, expected):
            "quantization step \(step): \(role) is \(type.rawValue), expected \(expected)"
        case let .invalidScale(step, role, scale):
            "quantization step \(step): \(role) scale \(scale) must be finite and positive (1 for float32)"
        case let .invalidZeroPoint(step, type, zeroPoint):
            "quantization step \(step): zero point \(zeroPoint) does not fit \(type.rawValue) (0 for float32)"
        case let .shapeMismatch(step, operand, expected, actual):
            "quantization step \(step): \(operand) expected \(expected), got shape \(actual)"
        case let .invalidGeometry(step, geometry, reason):
            "quantization step \(step): invalid geometry \(geometry): \(reason)"
        case let .accumulatorOverflow(step, element, sum):
            "quantization step \(step): accumulator of element \(element) is \(sum), outside int32"
        case let .notANumber(step, element):
            "quantization step \(step): input element \(element) is NaN"
        case let .poolStorageMismatch(step, input, output):
            "quantization step \(step): average pooling keeps its input's storage (\(input.type.rawValue), scale \(input.scale), zero point \(input.zeroPoint)), "
                + "got \(output.type.rawValue), scale \(output.scale), zero point \(output.zeroPoint)"
        case let .unsupportedActivation(step, activation):
            "quantization step \(step): activation \(activation.rawValue) has an eltwise step the integer reference lacks"
        case let .addRatiosOutOfRange(step, arithmetic, ratios):
            "quantization step \(step): add scale ratios \(ratios) lie outside [2^-10, 2^8), which the \(arithmetic.rawValue) add arithmetic needs"
        case let .invalidValue(reason):
            "quantized value: \(reason)"
        }
    }
}
