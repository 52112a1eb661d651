import Foundation
import MobileNetData

// Helpers more than one test target needs. A plain library target (not a product), so only the
// test targets that list it build it in.

/// A fresh folder under the system's temporary directory, removed when released.
public final class TemporaryFolder {
    public let url: URL

    public init(prefix: String = "mobilenet-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

/// The samples a `BatchLoader` skipped, collected from its threads through `onSkip`.
public final class SkipLog: @unchecked Sendable {
    private let lock = NSLock()
    private var skipped: [SkippedSample] = []

    public init() {}

    public func append(_ sample: SkippedSample) {
        lock.lock()
        skipped.append(sample)
        lock.unlock()
    }

    public var all: [SkippedSample] {
        lock.lock()
        defer { lock.unlock() }
        return skipped
    }
}
