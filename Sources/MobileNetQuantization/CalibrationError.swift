/// Why calibration could not run.
public enum CalibrationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Calibration needs at least one image.
    case noCalibrationImages

    public var description: String {
        switch self {
        case .noCalibrationImages: "calibration needs at least one image"
        }
    }
}
