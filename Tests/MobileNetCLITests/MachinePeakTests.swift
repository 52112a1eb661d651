import Foundation
import XCTest
@testable import mobilenet
import MobileNet
import CMachinePeak

/// The ceilings `bench --profile` measures: the loops run at the width oneDNN uses and report
/// work done (the rates themselves vary with the machine and its load; no test of speed).
final class MachinePeakTests: XCTestCase {
    func testTheLoopsRunAtOneDNNsVectorWidth() throws {
        let peak = try XCTUnwrap(MachinePeak.measure(threads: 1), "x86-64 with AVX2 at least")
        if CPUEngine.instructionSet.hasPrefix("avx512") {
            XCTAssertEqual(peak.vectorBits, 512)
        } else {
            XCTAssertEqual(peak.vectorBits, 256, "capped to AVX2 (\(CPUEngine.instructionSet)): 256-bit loops")
        }
        // One core does at least one fused multiply-add per cycle on 8 lanes at 1 GHz.
        XCTAssertGreaterThan(peak.gigaflops, 16)
        XCTAssertGreaterThan(peak.int8Gigaops, peak.gigaflops, "int8 does more operations per instruction")
        XCTAssertGreaterThan(peak.gigabytesPerSecond, 1)
    }

    func testTheLoopsCountTheirWorkAndRefuseWhatTheyCannotDo() {
        let bits = MachinePeak.vectorBits
        XCTAssertEqual(mobilenet_peak_fma(Int32(bits), 1000), bits == 512 ? 1000 * 16 * 16 * 2 : 1000 * 12 * 8 * 2)
        XCTAssertEqual(mobilenet_peak_fma(1024, 1000), 0, "no such width")
        XCTAssertEqual(mobilenet_peak_int8(256, 1000), 1000 * 4 * 32 * 2, "the AVX2 sequence runs on any AVX2 CPU")
        XCTAssertEqual(mobilenet_peak_int8(512, 1000), mobilenet_peak_has_vnni() != 0 ? 1000 * 12 * 64 * 2 : 0)
        XCTAssertEqual(mobilenet_peak_fma(Int32(bits), 0), 0)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 64)
        defer { buffer.deallocate() }
        XCTAssertEqual(mobilenet_peak_read(Int32(bits), buffer, 4096), 4096)
        XCTAssertEqual(mobilenet_peak_read(Int32(bits), buffer + 8, 1024), 0, "unaligned")
    }
}
