import CDNNL
import Synchronization

// oneDNN's kernels run on OpenMP's threads, and OpenMP keeps its thread count per OS thread.
// The engine keeps one count for the process instead and gives it to each thread that enters oneDNN.

extension CPUEngine {
    /// The most threads oneDNN's kernels may use: 1024, more than the hardware threads of the
    /// largest x86 servers (two 192-core sockets with SMT, 768). Past the cores more threads only
    /// wait on each other; far past them libgomp cannot create its pool and crashes (it did at
    /// 100 000, `OMP_NUM_THREADS` included).
    public static let maximumThreadCount = 1024

    /// The number of threads oneDNN's kernels use (OpenMP), for the whole process: set on any
    /// thread, it holds for work started on every thread. Values are clamped to
    /// 1...``maximumThreadCount``. Defaults to `OMP_NUM_THREADS` or the core count (at most
    /// ``maximumThreadCount``, see ``defaultThreadCountAboveMaximum``).
    ///
    /// OpenMP itself keeps the count per OS thread (`omp_set_num_threads` changes only the
    /// calling thread's), so the value lives here, and every call into oneDNN first gives its
    /// thread this count (``applyThreadCount()``).
    public static var threadCount: Int {
        get {
            let set = configuredThreadCount.load(ordering: .acquiring)
            return set > 0 ? set : defaultThreadCount.used
        }
        set {
            configuredThreadCount.store(min(max(1, newValue), maximumThreadCount), ordering: .releasing)
            applyThreadCount()
        }
    }

    /// What OpenMP offered at the first use of the engine (`OMP_NUM_THREADS`, else the core
    /// count) when that was above ``maximumThreadCount``, which the default is clamped to; nil
    /// when it was within. A command-line tool can tell its user.
    public static var defaultThreadCountAboveMaximum: Int? {
        defaultThreadCount.offered > maximumThreadCount ? defaultThreadCount.offered : nil
    }

    /// The count ``threadCount`` was set to; 0 until it is set.
    private static let configuredThreadCount = Atomic<Int>(0)

    /// OpenMP's default for a thread that never set its own, read once, and that clamped.
    private static let defaultThreadCount: (offered: Int, used: Int) = {
        let offered = Int(omp_get_max_threads())
        return (offered, min(max(1, offered), maximumThreadCount))
    }()

    /// Gives the calling OS thread the process-wide ``threadCount``; every entry into oneDNN
    /// (primitive creation and execution) runs after it. Reading and comparing the thread's own
    /// count first keeps this to a thread-local load in the usual case.
    static func applyThreadCount() {
        applyThreadCount(threadCount)
    }

    /// Gives the calling OS thread `count` OpenMP threads (the inference workers' one).
    static func applyThreadCount(_ count: Int) {
        let wanted = Int32(count)
        if omp_get_max_threads() != wanted { omp_set_num_threads(wanted) }
    }

    /// The threads OpenMP would start on the calling OS thread now.
    static var callingThreadCount: Int { Int(omp_get_max_threads()) }
}
