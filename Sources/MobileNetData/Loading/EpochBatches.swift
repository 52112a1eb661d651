import Foundation

/// The batches of one epoch, in order, built ahead by background threads (see
/// ``BatchLoader/batches(epoch:startingAt:)``).
///
/// ```swift
/// let batches = loader.batches(epoch: 3)
/// while let batch = try batches.next() { ... }
/// ```
public final class EpochBatches {
    private let steps: PrefetchedSteps<Batch>

    init(loader: BatchLoader, epoch: Int, steps: Range<Int>) {
        let order = loader.order(epoch: epoch)
        self.steps = PrefetchedSteps(
            steps: steps, workerCount: loader.workerCount, capacity: loader.prefetchCount, threadName: "BatchLoader epoch \(epoch)"
        ) { step in
            try loader.batch(epoch: epoch, step: step, order: order)
        }
    }

    /// The next batch, waiting for it if a worker is still building it; `nil` after the last.
    ///
    /// - Throws: the first error that building a batch raised (other than an unreadable
    ///   picture, which is skipped); the epoch stops there.
    public func next() throws -> Batch? {
        try steps.next()
    }
}

/// Steps built ahead by background threads and handed out in order: the machinery of
/// ``EpochBatches``, shared with the loaders of other kinds of batch (detection's).
///
/// `build` makes step `s`'s element, or `nil` to leave the step out (every sample of a batch
/// failed to load); it runs on `workerCount` threads, at most `capacity` steps ahead of the
/// consumer, or on the consumer's thread when `workerCount` is 0. Releasing this object stops
/// the threads after the step each is on.
package final class PrefetchedSteps<Element: Sendable> {
    private let build: @Sendable (Int) throws -> Element?
    private let workerCount: Int
    private let queue: PrefetchQueue<Element?>
    private var synchronousStep: Int

    package init(
        steps: Range<Int>, workerCount: Int, capacity: Int, threadName: String, build: @escaping @Sendable (Int) throws -> Element?
    ) {
        self.build = build
        self.workerCount = workerCount
        queue = PrefetchQueue(steps: steps, capacity: capacity)
        synchronousStep = steps.lowerBound
        for _ in 0..<min(workerCount, steps.count) {
            let queue = queue
            let worker = Thread {
                while let step = queue.claim() {
                    queue.deliver(step: step, Result { try build(step) })
                }
            }
            worker.name = threadName
            worker.start()
        }
    }

    /// The next element, waiting for it if a worker is still building it; `nil` after the last.
    ///
    /// - Throws: the first error `build` raised; no further steps are built.
    package func next() throws -> Element? {
        if workerCount == 0 {
            while synchronousStep < queue.steps.upperBound {
                defer { synchronousStep += 1 }
                if let element = try build(synchronousStep) { return element }
            }
            return nil
        }
        while let result = queue.take() {
            do {
                if let element = try result.get() { return element }
            } catch {
                queue.stop()
                throw error
            }
        }
        return nil
    }

    deinit {
        queue.stop()
    }
}

/// The hand-over between the workers and the consumer: workers claim steps in order, no more
/// than `capacity` ahead of the consumer, and deliver them in any order; the consumer takes them
/// in order.
final class PrefetchQueue<Element>: @unchecked Sendable {
    let steps: Range<Int>
    private let capacity: Int
    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var nextToClaim: Int
    private var nextToTake: Int
    private var finished: [Int: Result<Element, Error>] = [:]
    private var stopped = false

    init(steps: Range<Int>, capacity: Int) {
        self.steps = steps
        self.capacity = capacity
        nextToClaim = steps.lowerBound
        nextToTake = steps.lowerBound
    }

    /// The next step for a worker to build, once the consumer is close enough; `nil` when there
    /// is none left or the queue stopped.
    func claim() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && nextToClaim < steps.upperBound && nextToClaim - nextToTake >= capacity {
            condition.wait()
        }
        guard !stopped, nextToClaim < steps.upperBound else { return nil }
        defer { nextToClaim += 1 }
        return nextToClaim
    }

    func deliver(step: Int, _ result: Result<Element, Error>) {
        condition.lock()
        finished[step] = result
        condition.broadcast()
        condition.unlock()
    }

    /// The result for the next step in order, waiting for it; `nil` after the last step.
    func take() -> Result<Element, Error>? {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped, nextToTake < steps.upperBound else { return nil }
        while finished[nextToTake] == nil { condition.wait() }
        let result = finished.removeValue(forKey: nextToTake)
        nextToTake += 1
        condition.broadcast()
        return result
    }

    /// Lets every waiting worker finish; no further steps are claimed.
    func stop() {
        condition.lock()
        stopped = true
        finished.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
