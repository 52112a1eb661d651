import Foundation
import MobileNetData
import MobileNetIO
import MobileNetTensor

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

/// A picture folder a short training run can learn: classes `blue` and `red`, 20 noisy 40x36
/// pictures each in which that channel dominates, drawn from a fixed seed.
public func writeTwoColourPictures(in folder: URL) throws {
    var generator = SplitMix64(seed: 8)
    for (name, dominant) in [("blue", 2), ("red", 0)] {
        let classFolder = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: classFolder, withIntermediateDirectories: true)
        for index in 0..<20 {
            var image = RGBImage(width: 40, height: 36, red: 0, green: 0, blue: 0)
            for offset in image.pixels.indices {
                let noise = UInt8(generator.nextIndex(below: 90))
                image.pixels[offset] = offset % 3 == dominant ? 150 + noise : noise
            }
            try PNGEncoder.encode(image).write(to: classFolder.appendingPathComponent("\(index).png"))
        }
    }
}
