import ArgumentParser
import MobileNet

/// The checks of numeric flags, run from the commands' `validate()` so that a bad value is
/// refused before any work starts. Each failure is one line that names the flag, the bound and
/// the value; the bounds themselves are the library's (``ModelConfiguration``'s limits,
/// ``CPUEngine/maximumThreadCount``), so the CLI and the library refuse the same values.
enum FlagChecks {
    /// `value` must lie in `range`.
    static func require<Value: Comparable>(_ flag: String, _ value: Value, in range: ClosedRange<Value>) throws {
        guard range.contains(value) else {
            throw ValidationError("\(flag) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
    }

    /// `value` must be at least `minimum` (for counts without a meaningful upper bound).
    static func require(_ flag: String, _ value: Int, atLeast minimum: Int) throws {
        guard value >= minimum else { throw ValidationError("\(flag) must be at least \(minimum), got \(value)") }
    }

    /// The width multiplier α: in (0, ``ModelConfiguration/maximumWidthMultiplier``] (NaN fails too).
    static func width(_ value: Double, flag: String = "--width") throws {
        guard value > 0, value <= ModelConfiguration.maximumWidthMultiplier else {
            throw ValidationError("\(flag) must be in (0, \(ModelConfiguration.maximumWidthMultiplier)], got \(value)")
        }
    }

    static func classes(_ value: Int, flag: String = "--classes") throws {
        try require(flag, value, in: 1...ModelConfiguration.maximumClassCount)
    }

    static func resolution(_ value: Int, flag: String = "--resolution") throws {
        try require(flag, value, in: ModelConfiguration.minimumResolution...ModelConfiguration.maximumResolution)
    }

    /// The bound of a batch flag, for its help: "at most N pixels in all (M images of 224x224)".
    static let batchBoundHelp = "at most \(ModelConfiguration.maximumPixelsPerBatch) pixels in all "
        + "(\(ModelConfiguration.maximumBatch(resolution: 224)) images of 224x224)"

    /// Images per batch at `resolution` (already checked): at least 1, and at most
    /// ``ModelConfiguration/maximumPixelsPerBatch`` pixels in all.
    static func batch(_ value: Int, flag: String, resolution: Int) throws {
        try require(flag, value, atLeast: 1)
        let maximum = ModelConfiguration.maximumBatch(resolution: resolution)
        guard value <= maximum else {
            throw ValidationError(
                "\(flag) must be at most \(maximum) at resolution \(resolution) "
                    + "(\(ModelConfiguration.maximumPixelsPerBatch) pixels a batch), got \(value)")
        }
    }
}
