import CMachinePeak
import Dispatch
import MobileNet

/// What the machine can do at most on `threads` threads, measured once: fused multiply-adds on
/// registers (the compute ceiling) and loads from a buffer far larger than the caches (the
/// memory ceiling), with the vector width oneDNN dispatches to.
struct MachinePeak: Sendable {
    var gigaflops: Double
    /// Integer operations (two per u8 x s8 multiply-add) a second, as int8 kernels do them.
    var int8Gigaops: Double
    var gigabytesPerSecond: Double
    /// 512 or 256: the width of the loops, matching oneDNN's instruction set.
    var vectorBits: Int

    /// The vector width of oneDNN's kernels: AVX-512 only when oneDNN uses it (not under
    /// `ONEDNN_MAX_CPU_ISA=AVX2`).
    static var vectorBits: Int {
        let available = Int(mobilenet_peak_vector_bits())
        return CPUEngine.instructionSet.hasPrefix("avx512") ? available : min(available, 256)
    }

    /// Bytes each thread reads for the memory ceiling: 128 MiB, beyond any L3.
    static let bytesPerThread = 128 << 20

    /// Measures both ceilings on `threads` threads at once (best of three runs each); nil where
    /// the loops cannot run (not x86-64 with AVX2).
    static func measure(threads: Int) -> MachinePeak? {
        let bits = vectorBits
        guard bits > 0 else { return nil }
        let compute = best(threads: threads) { _ in mobilenet_peak_fma(Int32(bits), 2_000_000) }
        // VNNI's dot products on 512-bit registers where oneDNN uses them, else the AVX2 sequence.
        let int8Bits: Int32 = bits == 512 && mobilenet_peak_has_vnni() != 0 ? 512 : 256
        let integer = best(threads: threads) { _ in mobilenet_peak_int8(int8Bits, 1_000_000) }
        let buffers = (0..<threads).map { _ in UnsafeMutableRawPointer.allocate(byteCount: bytesPerThread, alignment: 64) }
        defer { buffers.forEach { $0.deallocate() } }
        // Touch every page first, so the timed reads find memory, not page faults.
        for buffer in buffers { buffer.initializeMemory(as: UInt8.self, repeating: 1, count: bytesPerThread) }
        nonisolated(unsafe) let shared = buffers
        let memory = best(threads: threads) { thread in mobilenet_peak_read(Int32(bits), shared[thread], bytesPerThread) }
        return MachinePeak(gigaflops: compute / 1e9, int8Gigaops: integer / 1e9, gigabytesPerSecond: memory / 1e9, vectorBits: bits)
    }

    /// The best rate of `work` (which returns what it did) run on `threads` threads together.
    private static func best(threads: Int, _ work: @escaping @Sendable (Int) -> Double) -> Double {
        var rate = 0.0
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            let done = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads)
            defer { done.deallocate() }
            nonisolated(unsafe) let results = done
            DispatchQueue.concurrentPerform(iterations: threads) { results[$0] = work($0) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            rate = max(rate, done.reduce(0, +) / seconds)
        }
        return rate
    }
}
