import Foundation
import MobileNet

/// The picture of a profile (`bench --profile --svg FILE`): one bar per step, its length the
/// step's time and its colour the kind of step, with the step's share of the time and of the
/// multiply-adds beside it; below, a roofline: each step's arithmetic intensity against the
/// GFLOP/s it achieved, under the measured compute and memory ceilings.
enum ProfilePicture {
    /// A colour per kind, stable across profiles.
    static let colours: [String: String] = [
        "stem": "#8c564b", "expand": "#1f77b4", "depthwise": "#ff7f0e", "project": "#2ca02c", "pointwise": "#17becf",
        "se": "#9467bd", "pool": "#7f7f7f", "head": "#d62728", "classifier": "#e377c2", "reorder": "#bcbd22",
    ]

    static func colour(_ kind: String) -> String { colours[kind] ?? "#555555" }

    static func svg(_ report: ProfileReport) -> String {
        let rowHeight = 13.0, left = 190.0, barSpace = 430.0, top = 64.0
        let rooflineHeight = 360.0
        let barsHeight = Double(report.steps.count) * rowHeight
        let width = 900.0
        var canvas = SVGCanvas(width: width, height: top + barsHeight + 110 + rooflineHeight + 70)
        canvas.text(
            "MobileNet \(report.variant) α=\(report.width) \(report.resolution)², batch \(report.batch), \(report.threads) thread(s), \(report.precision) on \(report.isa)",
            at: (16, 24), size: 15, bold: true)
        canvas.text(
            String(format: "steps sum to %.0f µs of %.0f µs end to end (%.0f µs between steps); bar = time, right: share of time · share of MACs",
                   report.stepSumUsP50, report.endToEndUsP50, report.overheadUs),
            at: (16, 44), size: 11, fill: "#555")
        legend(&canvas, kinds: report.kinds.map(\.kind), at: (16, top - 8), width: width - 32)

        let longest = report.steps.map(\.usP50).max() ?? 1
        let totalMACs = max(1, report.steps.reduce(0) { $0 + $1.macs })
        for (row, step) in report.steps.enumerated() {
            let y = top + Double(row) * rowHeight
            canvas.text(step.name, at: (left - 6, y + 10), size: 9, anchor: .end, fill: "#333")
            let length = max(0.5, barSpace * step.usP50 / longest)
            canvas.rectangle(x: left, y: y + 1.5, width: length, height: rowHeight - 3, fill: colour(step.kind))
            let macShare = Double(step.macs) / Double(totalMACs)
            canvas.text(
                String(format: "%.0f µs · %.1f%% time · %.1f%% MACs", step.usP50, step.share * 100, macShare * 100),
                at: (left + length + 4, y + 10), size: 9, fill: "#555")
        }

        let rooflineTop = top + barsHeight + 84
        roofline(&canvas, report, origin: (80, rooflineTop), size: (width - 120, rooflineHeight))
        return canvas.document
    }

    private static func legend(_ canvas: inout SVGCanvas, kinds: [String], at origin: (Double, Double), width: Double) {
        var x = origin.0
        for kind in kinds {
            canvas.rectangle(x: x, y: origin.1 - 9, width: 10, height: 10, fill: colour(kind))
            canvas.text(kind, at: (x + 14, origin.1), size: 11)
            x += 24 + Double(kind.count) * 6.5
            if x > origin.0 + width { break }
        }
    }

    /// Log-log axes: intensity (FLOP/byte) across, GFLOP/s up; the ceilings as lines, each step
    /// with multiply-adds a dot (its area the step's share of the time).
    private static func roofline(_ canvas: inout SVGCanvas, _ report: ProfileReport, origin: (Double, Double), size: (Double, Double)) {
        let (x0, y0) = origin
        let (w, h) = size
        let points = report.steps.filter { $0.macs > 0 && $0.gflops > 0 }
        let intensities = points.map(\.intensity) + [report.peakGflops / report.peakGbps]
        let xRange = (floor(log10(max(1e-3, intensities.min() ?? 0.1))) , ceil(log10(max(10, (intensities.max() ?? 10) * 2))))
        let yRange = (floor(log10(max(1e-3, points.map(\.gflops).min() ?? 0.1))), ceil(log10(report.peakGflops * 1.5)))
        func px(_ intensity: Double) -> Double { x0 + w * (log10(intensity) - xRange.0) / (xRange.1 - xRange.0) }
        func py(_ gflops: Double) -> Double { y0 + h - h * (log10(gflops) - yRange.0) / (yRange.1 - yRange.0) }

        // int8 steps do integer operations: the same axes, in GOP/s against the int8 peak.
        let rate = report.precision == "int8" ? "GOP/s" : "GFLOP/s"
        canvas.text("Roofline: achieved \(rate) against arithmetic intensity (steps with multiply-adds)", at: (x0 - 60, y0 - 30), size: 13, bold: true)
        canvas.text(
            "ceilings measured here: FMA loops (compute) and reads from DRAM (memory); a step whose data stay in cache can sit above the memory line; dot area = share of time",
            at: (x0 - 60, y0 - 12), size: 10, fill: "#555")
        canvas.rectangle(x: x0, y: y0, width: w, height: h, fill: "none", stroke: "#999")
        for decade in stride(from: xRange.0, through: xRange.1, by: 1) {
            let x = px(pow(10, decade))
            canvas.line(from: (x, y0), to: (x, y0 + h), stroke: "#eee")
            canvas.text(Self.decade(decade), at: (x, y0 + h + 14), size: 10, anchor: .middle)
        }
        for decade in stride(from: yRange.0, through: yRange.1, by: 1) {
            let y = py(pow(10, decade))
            canvas.line(from: (x0, y), to: (x0 + w, y), stroke: "#eee")
            canvas.text(Self.decade(decade), at: (x0 - 6, y + 4), size: 10, anchor: .end)
        }
        canvas.text(report.precision == "int8" ? "operations per byte moved (inputs + weights + output)" : "FLOP per byte moved (inputs + weights + output)", at: (x0 + w / 2, y0 + h + 32), size: 11, anchor: .middle)
        canvas.text(rate, at: (x0 - 44, y0 + h / 2), size: 11, anchor: .middle, rotation: -90)

        // The ceilings: memory (intensity × GB/s) up to the ridge, then compute.
        let ridge = report.peakGflops / report.peakGbps
        let start = pow(10, xRange.0), end = pow(10, xRange.1)
        let memoryStart = max(start, pow(10, yRange.0) / report.peakGbps)
        canvas.polyline(
            [(px(memoryStart), py(memoryStart * report.peakGbps)), (px(ridge), py(report.peakGflops)), (px(end), py(report.peakGflops))],
            stroke: "#333", width: 1.5)
        canvas.text(String(format: "compute %.0f ", report.peakGflops) + rate, at: (px(end) - 4, py(report.peakGflops) - 6), size: 10, anchor: .end)
        canvas.text(
            String(format: "memory %.1f GB/s", report.peakGbps), at: (px(memoryStart) + 6, py(memoryStart * report.peakGbps) - 8), size: 10)

        for step in points {
            let radius = 2 + 10 * step.share.squareRoot()
            canvas.circle(at: (px(step.intensity), py(step.gflops)), radius: radius, fill: colour(step.kind), opacity: 0.7)
        }
    }

    private static func decade(_ exponent: Double) -> String {
        let value = pow(10, exponent)
        return value >= 1 ? String(Int(value)) : String(format: "%g", value)
    }

    static func write(_ report: ProfileReport, to path: String, overwrite: Bool) throws {
        try AtomicFile.write(Data(svg(report).utf8), to: URL(fileURLWithPath: path), overwrite: overwrite)
    }
}
