import Foundation

/// The batches of one epoch, in order, built ahead by background threads (see
/// ``BatchLoader/batches(epoch:startingAt:)``).
///
/// ```swift
/// let batches = loader.batches(epoch: 3)
/// while let batch = try batches.next() { ... }
/// ```
public final class EpochBatches {
    private let loader: BatchLoader
    private let epoch: Int
    private let order: [Int]
    private let queue: PrefetchQueue
    private var synchronousStep: Int

    init(loader: BatchLoader, epoch: Int, steps: Range<Int>) {
        self.loader = loader
        self.epoch = epoch
        order = loader.order(epoch: epoch)
        queue = PrefetchQueue(steps: steps, capacity: loader.prefetchCount)
        synchronousStep = steps.lowerBound
        for _ in 0..<min(loader.workerCount, steps.count) {
            let (queue, loader, epoch, order) = (queue, loader, epoch, order)
            let worker = Thread {
                while let step = queue.claim() {
                    queue.deliver(step: step, Result { try loader.batch(epoch: epoch, step: step, order: order) })
                }
            }
            worker.name = "BatchLoader epoch \(epoch)"
            worker.start()
        }
    }

    /// The next batch, waiting for it if a worker is still building it; `nil` after the last.
    ///
    /// - Throws: the first error that building a batch raised (other than an unreadable
    ///   picture, which is skipped); the epoch stops there.
    public func next() throws -> Batch? {
        if loader.workerCount == 0 {
            while synchronousStep < queue.steps.upperBound {
                defer { synchronousStep += 1 }
                if let batch = try loader.batch(epoch: epoch, step: synchronousStep, order: order) { return batch }
            }
            return nil
        }
        while let result = queue.take() {
            do {
                if let batch = try result.get() { return batch }
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
final class PrefetchQueue: @unchecked Sendable {
    let steps: Range<Int>
    private let capacity: Int
    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var nextToClaim: Int
    private var nextToTake: Int
    private var finished: [Int: Result<Batch?, Error>] = [:]
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

    func deliver(step: Int, _ result: Result<Batch?, Error>) {
        condition.lock()
        finished[step] = result
        condition.broadcast()
        condition.unlock()
    }

    /// The result for the next step in order, waiting for it; `nil` after the last step.
    func take() -> Result<Batch?, Error>? {
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
