/// Images per second over the last few batches, and the time left at that pace.
///
/// ```swift
/// var meter = ThroughputMeter()
/// meter.record(images: batch.count, at: ThroughputMeter.now())   // after each step
/// meter.imagesPerSecond; meter.secondsRemaining(images: imagesLeft)
/// ```
///
/// A sliding window rather than the run's average, so the rate follows the current pace (the
/// first batches, slowed by warming caches and primitive creation, drop out of it).
public struct ThroughputMeter: Sendable {
    public let window: Int
    private var times: [Double] = []
    private var counts: [Int] = []

    public init(window: Int = 20) {
        precondition(window > 0, "a throughput window holds at least one batch")
        self.window = window
    }

    /// Seconds on a monotonic clock, for ``record(images:at:)``.
    public static func now() -> Double {
        // The origin is set at first use; read it before the clock so the difference is never negative.
        let origin = start
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    private static let start = ContinuousClock.now

    /// Notes that `images` more were processed by time `time` (seconds, ``now()``). The first
    /// call only starts the clock.
    public mutating func record(images: Int, at time: Double) {
        times.append(time)
        counts.append(images)
        if times.count > window + 1 {
            times.removeFirst()
            counts.removeFirst()
        }
    }

    /// The rate over the window, 0 until two records exist.
    public var imagesPerSecond: Double {
        guard times.count >= 2, let first = times.first, let last = times.last, last > first else { return 0 }
        return Double(counts.dropFirst().reduce(0, +)) / (last - first)
    }

    /// How long `images` more would take at the current rate; `nil` before there is a rate.
    public func secondsRemaining(images: Int) -> Double? {
        let rate = imagesPerSecond
        return rate > 0 ? Double(images) / rate : nil
    }
}
