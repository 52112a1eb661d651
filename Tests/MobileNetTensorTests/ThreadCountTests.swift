import Foundation
import XCTest
@testable import MobileNetTensor

/// `CPUEngine.threadCount` is the process's, whichever OS thread sets it and whichever runs the
/// work. OpenMP keeps its count per thread, so without care a count set on one thread would be
/// lost on every other (a Swift task's, a loader's), which would use all cores.
final class ThreadCountTests: XCTestCase {
    private var original = 0

    override func setUp() {
        original = CPUEngine.threadCount
    }

    override func tearDown() {
        CPUEngine.threadCount = original
    }

    /// Runs `body` on a new OS thread (whose OpenMP count starts at the process default) and waits for it.
    private func onNewThread<Result>(_ body: @escaping () throws -> Result) throws -> Result {
        nonisolated(unsafe) var outcome: Swift.Result<Result, any Error>?
        nonisolated(unsafe) let body = body
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            outcome = Swift.Result { try body() }
            done.signal()
        }
        thread.start()
        done.wait()
        return try outcome!.get()
    }

    /// The OpenMP count in force on the calling thread right after an engine operation ran on it,
    /// which is the count the operation ran with.
    private func countDuringEngineWork() throws -> Int {
        _ = try relu(Tensor.zeros([1, 8, 8, 4]))
        return CPUEngine.callingThreadCount
    }

    /// A one-convolution graph, run through an inference session.
    private func countDuringSessionRun(_ session: InferenceSession) throws -> Int {
        _ = try session.run(Tensor.zeros([2, 8, 8, 3]))
        return CPUEngine.callingThreadCount
    }

    private func session() -> InferenceSession {
        var graph = InferenceGraph()
        let input = graph.input(channels: 3)
        _ = graph.convolution(input, weight: Tensor.zeros([4, 3, 3, 3]), bias: Tensor.zeros([4]), geometry: .init(padding: 1))
        return InferenceSession(graph: graph)
    }

    func testACountSetHereHoldsOnAnotherThread() throws {
        CPUEngine.threadCount = 2
        CPUEngine.threadCount = 1
        let session = session()
        let seen = try onNewThread { [self] in
            (read: CPUEngine.threadCount, engine: try countDuringEngineWork(), session: try countDuringSessionRun(session))
        }
        XCTAssertEqual(seen.read, 1)
        XCTAssertEqual(seen.engine, 1, "an operation on another thread used that thread's OpenMP default")
        XCTAssertEqual(seen.session, 1, "a session run on another thread used that thread's OpenMP default")
    }

    func testACountSetOnAnotherThreadHoldsHere() throws {
        CPUEngine.threadCount = 2
        XCTAssertEqual(try countDuringEngineWork(), 2)
        try onNewThread { CPUEngine.threadCount = 1 }
        XCTAssertEqual(CPUEngine.threadCount, 1)
        XCTAssertEqual(try countDuringEngineWork(), 1)
        XCTAssertEqual(try countDuringSessionRun(session()), 1)
        try onNewThread { CPUEngine.threadCount = 2 }
        XCTAssertEqual(try countDuringEngineWork(), 2)
    }

    func testCountsAreClampedToTheMaximum() {
        CPUEngine.threadCount = 100_000
        XCTAssertEqual(CPUEngine.threadCount, CPUEngine.maximumThreadCount)
        CPUEngine.threadCount = 0
        XCTAssertEqual(CPUEngine.threadCount, 1)
    }
}
