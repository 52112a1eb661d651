/// A tensor operation was given operands it cannot work with.
///
/// Each case names the operation and says what was expected and what was found.
public enum TensorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The operands' shapes do not fit the operation.
    case shapeMismatch(operation: String, expected: String, actual: Shape)
    /// A value list does not have as many elements as the shape requires.
    case elementCountMismatch(shape: Shape, expected: Int, actual: Int)
    /// An argument (stride, padding, probability, ...) is out of its range.
    case invalidArgument(operation: String, argument: String, reason: String)
    /// The compute engine (oneDNN) refused or failed an operation.
    case engineFailure(operation: String, status: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(operation, expected, actual):
            "\(operation): expected \(expected), got shape \(actual)"
        case let .elementCountMismatch(shape, expected, actual):
            "shape \(shape) needs \(expected) elements, got \(actual)"
        case let .invalidArgument(operation, argument, reason):
            "\(operation): invalid \(argument): \(reason)"
        case let .engineFailure(operation, status):
            "\(operation): oneDNN failed with status \(status)"
        }
    }
}
