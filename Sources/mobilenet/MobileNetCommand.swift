import ArgumentParser
import Foundation
import MobileNet

@main
struct MobileNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mobilenet",
        abstract: "MobileNet V1, V2 and V3 in Swift: inspect, run and measure the models.",
        subcommands: [
            Info.self, Classify.self, Detect.self, Segment.self, Convert.self, Bench.self, Train.self, Evaluate.self, Quantize.self, Export.self,
        ]
    )

    /// Runs a command; a failure prints one line, `mobilenet: <what went wrong>`, and exits non-zero.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit {
                exit(withError: error)
            }
            let line = (FileErrorMessage.line(for: error) ?? message(for: error))
                .split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
                .joined(separator: "; ")
            FileHandle.standardError.write(Data("mobilenet: \(line)\n".utf8))
            Foundation.exit((error as? CommandError)?.status ?? (code == .success ? 1 : code.rawValue))
        }
    }
}

/// A failure the CLI reports in one line.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    /// The exit status: 1, or one that tells a script more (``Train/stoppedStatus``).
    var status: Int32 = 1
}

extension Architecture: ExpressibleByArgument {}

/// The options that choose a model, shared by the subcommands.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("variant"), help: "The family: v1, v2, v3-large or v3-small (default: v2; v3-large for a detector).")
    var givenVariant: Architecture?

    /// The family asked for, or a classifier's v2.
    var variant: Architecture { givenVariant ?? .v2 }

    /// The detector's (or segmenter's) backbone: the MobileNetV3 asked for, v3-large if none.
    ///
    /// - Throws: `ValidationError` naming `--variant` for v1 or v2 (SSDLite is built on V3).
    func detectorBackbone(model: String = "SSDLite") throws -> Architecture {
        try Self.detectorBackbone(givenVariant, model: model)
    }

    /// The MobileNetV3 a detector or segmenter (`model`, for the message) is built on.
    static func detectorBackbone(_ variant: Architecture?, model: String = "SSDLite") throws -> Architecture {
        guard let variant else { return .v3Large }
        guard variant == .v3Large || variant == .v3Small else {
            throw ValidationError("--variant: \(model) takes a MobileNetV3 backbone (v3-large or v3-small), got \(variant)")
        }
        return variant
    }

    @Option(name: .long, help: "The width multiplier α, in (0, \(ModelConfiguration.maximumWidthMultiplier)].")
    var width: Double = 1

    @Option(name: .customLong("classes"), help: "The number of classes, at most \(ModelConfiguration.maximumClassCount) (default: 1000; 91 for a detector, 21 for a segmenter, background included).")
    var givenClasses: Int?

    /// The class count asked for, or a classifier's 1000.
    var classes: Int { givenClasses ?? 1000 }

    func validate() throws {
        try FlagChecks.width(width)
        try FlagChecks.classes(classes)
    }

    var modelConfiguration: ModelConfiguration {
        ModelConfiguration(variant, widthMultiplier: width, classCount: classes)
    }
}

/// `--threads`, shared by the commands that run the compute engine.
struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for oneDNN, at most \(CPUEngine.maximumThreadCount) (default: OMP_NUM_THREADS or the core count).")
    var threads: Int?

    func validate() throws {
        if let threads {
            try FlagChecks.require("--threads", threads, in: 1...CPUEngine.maximumThreadCount)
        } else {
            try Self.checkEnvironment()
        }
    }

    /// Refuses an `OMP_NUM_THREADS` above ``CPUEngine/maximumThreadCount`` (which the engine would
    /// clamp without a word), before any work: a value like 100 000 is a mistake, not a wish.
    static func checkEnvironment() throws {
        guard let offered = CPUEngine.defaultThreadCountAboveMaximum,
              let variable = ProcessInfo.processInfo.environment["OMP_NUM_THREADS"] else { return }
        throw ValidationError(
            "OMP_NUM_THREADS=\(variable) asks for \(offered) threads, above the maximum of \(CPUEngine.maximumThreadCount); "
                + "lower it or pass --threads")
    }

    /// Sets the engine's thread count when `--threads` was given.
    func apply() {
        if let threads { CPUEngine.threadCount = threads }
    }
}
