import ArgumentParser
import Foundation
import MobileNetIO

/// `mobilenet convert IN OUT [--force]`: rewrites a checkpoint in the other format, every key
/// kept as it is.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint between PyTorch .pth and .safetensors, keeping every key.",
        discussion: """
            The input's format is recognized from its bytes; the output's from its extension: \
            .safetensors, or .pth / .pt. Tensors are written as float32.
            """)

    @Argument(help: "The checkpoint to read (.pth, .pt or .safetensors).")
    var input: String

    @Argument(help: "The file to write; its extension chooses the format.")
    var output: String

    @Flag(name: .long, help: "Replace OUTPUT if it exists.")
    var force = false

    enum OutputFormat {
        case safetensors, pytorch
    }

    /// The format the output's extension asks for.
    static func outputFormat(of path: String) throws -> OutputFormat {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "safetensors": return .safetensors
        case "pth", "pt": return .pytorch
        default: throw ValidationError("OUTPUT must end in .safetensors, .pth or .pt, got \(path)")
        }
    }

    func validate() throws {
        // Before reading the input, which may be large.
        _ = try Self.outputFormat(of: output)
    }

    func run() throws {
        let format = try Self.outputFormat(of: output)
        let state = try readStateDictionary(contentsOf: URL(fileURLWithPath: input))
        let destination = URL(fileURLWithPath: output)
        switch format {
        case .safetensors:
            try SafeTensors.write(state, to: destination, overwrite: force)
        case .pytorch:
            try PyTorchCheckpoint.write(state, to: destination, overwrite: force)
        }
        let values = state.values.reduce(0) { $0 + $1.elementCount }
        print("wrote \(state.count) tensors (\(values) values) to \(output)")
    }
}
