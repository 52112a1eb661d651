import Foundation

/// The folder where downloaded weights live: `$MOBILENET_HOME` if set, else `~/.cache/mobilenet`.
///
/// `make weights` (or `Scripts/fetch_weights.sh`) fills it; the CLI looks there when no
/// `--weights` path is given.
public enum WeightsCache {
    public static var directory: URL {
        if let home = ProcessInfo.processInfo.environment["MOBILENET_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache", isDirectory: true)
            .appendingPathComponent("mobilenet", isDirectory: true)
    }

    /// The cached file called `fileName`, or an error that says how to fetch it.
    public static func locate(_ fileName: String) throws -> URL {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw WeightsCacheError.notFound(path: url.path)
        }
        return url
    }
}

public enum WeightsCacheError: Error, Hashable, Sendable, CustomStringConvertible {
    case notFound(path: String)

    public var description: String {
        switch self {
        case let .notFound(path):
            "pretrained weights not found at \(path); fetch them with `make weights` (or Scripts/fetch_weights.sh), or pass --weights PATH"
        }
    }
}
