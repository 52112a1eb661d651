import Foundation
import MobileNet

/// What `mobilenet bench --profile` reports: each step of the compiled inference plan with its
/// time, work and traffic, measured against the machine's compute and memory ceilings, a
/// summary by kind of step, and the steps' sum against the end-to-end time.
///
/// The JSON keys are snake_case and every figure a column of the table, so two profiles can be
/// compared by a script (`Scripts/profile_diff.swift`).
struct ProfileReport: Encodable {
    struct Operand: Encodable {
        var dims: [Int]
        var layout: String
        var type: String
        var bytes: Int
    }

    struct Step: Encodable {
        var index: Int
        var name: String
        var kind: String
        var primitive: String
        var implementation: String
        var inputs: [Operand]
        var weights: [Operand]
        var output: Operand
        var macs: Int
        /// Inputs, weights and output, each once.
        var bytes: Int
        var usP50: Double
        /// Of the sum of all steps.
        var share: Double
        var gflops: Double
        var gbps: Double
        /// FLOPs (2 per multiply-add) per byte moved.
        var intensity: Double
        /// Achieved GFLOP/s over the compute ceiling.
        var peakShare: Double
        /// Achieved GFLOP/s over the roofline at this intensity: min(compute, intensity × memory).
        var rooflineShare: Double
        /// The time beyond what the step's FLOPs need at the compute ceiling.
        var lostUs: Double

        enum CodingKeys: String, CodingKey {
            case index, name, kind, primitive, implementation, inputs, weights, output, macs, bytes
            case usP50 = "us_p50", share, gflops, gbps, intensity
            case peakShare = "peak_share", rooflineShare = "roofline_share", lostUs = "lost_us"
        }
    }

    struct Kind: Encodable {
        var kind: String
        var steps: Int
        var usP50: Double
        var share: Double
        var macs: Int
        var macShare: Double

        enum CodingKeys: String, CodingKey {
            case kind, steps, usP50 = "us_p50", share, macs, macShare = "mac_share"
        }
    }

    var mode = "profile"
    var variant: String
    var width: Double
    var resolution: Int
    var batch: Int
    var threads: Int
    var parallelism: String
    var precision: String
    var isa: String
    var iterations: Int
    var warmup: Int
    var peakGflops: Double
    var peakGbps: Double
    /// `measured` (the FMA and load loops of ``MachinePeak``) or `flag` (`--peak-gflops`, `--peak-gbps`).
    var peakSource: String
    var endToEndUsP50: Double
    var stepSumUsP50: Double
    /// End-to-end minus the steps' sum: the time between steps in a normal run.
    var overheadUs: Double
    var overheadShare: Double
    var profiledRunUsP50: Double
    var steps: [Step]
    var kinds: [Kind]

    enum CodingKeys: String, CodingKey {
        case mode, variant, width, resolution, batch, threads, parallelism, precision, isa, iterations, warmup
        case peakGflops = "peak_gflops", peakGbps = "peak_gbps", peakSource = "peak_source"
        case endToEndUsP50 = "end_to_end_us_p50", stepSumUsP50 = "step_sum_us_p50", overheadUs = "overhead_us"
        case overheadShare = "overhead_share", profiledRunUsP50 = "profiled_run_us_p50", steps, kinds
    }

    /// The order kinds are summarised in: a network's own order, then the rest.
    static let kindOrder = InferenceGraph.StepKind.allCases.map(\.rawValue) + ["reorder"]

    struct Setting {
        var variant: String
        var width: Double
        var resolution: Int
        var batch: Int
        var precision: String
        var iterations: Int
        var warmup: Int
    }

    init(_ profile: InferenceProfile, setting: Setting, peak: (gflops: Double, gbps: Double, source: String)) {
        let total = profile.stepSumP50
        steps = profile.steps.enumerated().map { index, step in
            let microseconds = step.p50
            let flops = 2 * Double(step.multiplyAdds)
            let seconds = microseconds / 1e6
            let gflops = seconds > 0 ? flops / seconds / 1e9 : 0
            let intensity = step.bytesMoved > 0 ? flops / Double(step.bytesMoved) : 0
            let roofline = min(peak.gflops, intensity * peak.gbps)
            func operand(_ value: InferenceProfile.Operand) -> Operand {
                Operand(dims: value.dimensions, layout: value.layout, type: value.type, bytes: value.bytes)
            }
            return Step(
                index: index, name: step.name, kind: step.kind, primitive: step.primitive, implementation: step.implementation,
                inputs: step.inputs.map(operand), weights: step.weights.map(operand), output: operand(step.output),
                macs: step.multiplyAdds, bytes: step.bytesMoved, usP50: microseconds, share: total > 0 ? microseconds / total : 0,
                gflops: gflops, gbps: seconds > 0 ? Double(step.bytesMoved) / seconds / 1e9 : 0, intensity: intensity,
                peakShare: gflops / peak.gflops, rooflineShare: roofline > 0 ? gflops / roofline : 0,
                lostUs: max(0, microseconds - flops / (peak.gflops * 1e3)))
        }
        let totalMACs = steps.reduce(0) { $0 + $1.macs }
        let byKind = Dictionary(grouping: steps, by: \.kind)
        kinds = byKind.keys.sorted {
            (Self.kindOrder.firstIndex(of: $0) ?? .max, $0) < (Self.kindOrder.firstIndex(of: $1) ?? .max, $1)
        }.map { kind in
            let members = byKind[kind]!
            let microseconds = members.reduce(0) { $0 + $1.usP50 }
            let macs = members.reduce(0) { $0 + $1.macs }
            return Kind(
                kind: kind, steps: members.count, usP50: microseconds, share: total > 0 ? microseconds / total : 0, macs: macs,
                macShare: totalMACs > 0 ? Double(macs) / Double(totalMACs) : 0)
        }
        variant = setting.variant
        width = setting.width
        resolution = setting.resolution
        batch = setting.batch
        threads = profile.threads
        parallelism = profile.parallelism == .acrossImages ? "images" : "primitives"
        precision = setting.precision
        isa = CPUEngine.instructionSet
        iterations = setting.iterations
        warmup = setting.warmup
        peakGflops = peak.gflops
        peakGbps = peak.gbps
        peakSource = peak.source
        endToEndUsP50 = profile.endToEndP50
        stepSumUsP50 = total
        overheadUs = profile.endToEndP50 - total
        overheadShare = profile.endToEndP50 > 0 ? (profile.endToEndP50 - total) / profile.endToEndP50 : 0
        profiledRunUsP50 = profile.profiledRunP50
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The steps as a table, the summary by kind, and the sum against the end-to-end time.
    func table() -> String {
        func dims(_ operand: Operand) -> String { operand.dims.map(String.init).joined(separator: "x") }
        // int8 steps do integer operations: the same column, in GOP/s against the int8 peak.
        let header = ["#", "step", "kind", "kernel", "input", "output", "MMAC", "KB", "µs p50", "time", precision == "int8" ? "GOP/s" : "GFLOP/s", "GB/s", "peak"]
        let body = steps.map { step -> [String] in
            [
                String(step.index), step.name, step.kind, step.implementation,
                step.inputs.first.map { "\(dims($0)) \($0.layout)" } ?? "", "\(dims(step.output)) \(step.output.layout)",
                String(format: "%.2f", Double(step.macs) / 1e6), String(format: "%.0f", Double(step.bytes) / 1024),
                String(format: "%.1f", step.usP50), String(format: "%.1f%%", step.share * 100), String(format: "%.1f", step.gflops),
                String(format: "%.1f", step.gbps), String(format: "%.1f%%", step.peakShare * 100),
            ]
        }
        var lines = [
            "profile: MobileNet \(variant) α=\(width) \(resolution)x\(resolution), batch \(batch), \(threads) thread(s) across \(parallelism), "
                + "\(precision) on \(isa); peak \(String(format: "%.1f", peakGflops)) \(precision == "int8" ? "GOP/s" : "GFLOP/s"), "
                + "\(String(format: "%.1f", peakGbps)) GB/s (\(peakSource))",
            "",
        ]
        lines += TextTable.lines([header] + body, rightAligned: { $0 == 0 || $0 >= 6 })
        lines.append("")
        let kindRows = kinds.map {
            [$0.kind, String($0.steps), String(format: "%.1f", $0.usP50), String(format: "%.1f%%", $0.share * 100),
             String(format: "%.2f", Double($0.macs) / 1e6), String(format: "%.1f%%", $0.macShare * 100)]
        }
        lines += TextTable.lines([["kind", "steps", "µs p50", "time", "MMAC", "MACs"]] + kindRows, rightAligned: { $0 >= 1 })
        lines.append("")
        lines.append(String(
            format: "steps sum to %.1f µs; end to end (no waits between steps) p50 %.1f µs: %.1f µs (%.1f%%) between steps",
            stepSumUsP50, endToEndUsP50, overheadUs, overheadShare * 100))
        return lines.joined(separator: "\n")
    }
}
