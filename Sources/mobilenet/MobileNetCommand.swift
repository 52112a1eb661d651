import ArgumentParser
import Foundation
import MobileNet

@main
struct MobileNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mobilenet",
        abstract: "MobileNet V1, V2 and V3 in Swift: inspect, run and measure the models.",
        subcommands: [Info.self, Classify.self, Convert.self, Bench.self, Train.self, Evaluate.self]
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
            let line = message(for: error)
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
    @Option(name: .long, help: "The family: v1, v2, v3-large or v3-small.")
    var variant: Architecture = .v2

    @Option(name: .long, help: "The width multiplier α (> 0).")
    var width: Double = 1

    @Option(name: .long, help: "The number of classes.")
    var classes: Int = 1000

    func validate() throws {
        guard width > 0, width.isFinite else { throw ValidationError("--width must be a positive number, got \(width)") }
        guard classes >= 1 else { throw ValidationError("--classes must be at least 1, got \(classes)") }
    }

    var modelConfiguration: ModelConfiguration {
        ModelConfiguration(variant, widthMultiplier: width, classCount: classes)
    }
}

/// `--threads`, shared by the commands that run the compute engine.
struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for oneDNN (default: OMP_NUM_THREADS or the core count).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Sets the engine's thread count when `--threads` was given.
    func apply() {
        if let threads { CPUEngine.threadCount = threads }
    }
}
