// Compares two `mobilenet bench --profile --json` reports and prints the steps that got slower
// or faster, matched by name, the largest changes first; then the change by kind and in total.
//
//     swift Scripts/profile_diff.swift before.json after.json [--threshold PERCENT] [--all]
//
// A step is listed when its p50 moved by more than the threshold (default 5 %) and by more than
// 1 µs; `--all` lists every step. Reports from different ISAs, thread counts, precisions or
// batches do not compare like with like: the header says so when they differ.
import Foundation

struct Failure: Error, CustomStringConvertible {
    var description: String
}

struct Report: Decodable {
    struct Step: Decodable {
        var name: String
        var kind: String
        var implementation: String
        var us_p50: Double
        var macs: Int
    }

    struct Kind: Decodable {
        var kind: String
        var us_p50: Double
    }

    var variant: String
    var width: Double
    var resolution: Int
    var batch: Int
    var threads: Int
    var parallelism: String
    var precision: String
    var isa: String
    var end_to_end_us_p50: Double
    var step_sum_us_p50: Double
    var steps: [Step]
    var kinds: [Kind]

    var setting: String {
        "\(variant) α=\(width) \(resolution)², batch \(batch), \(threads) thread(s) across \(parallelism), \(precision) on \(isa)"
    }
}

func load(_ path: String) throws -> Report {
    guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "cannot read \(path)") }
    do {
        return try JSONDecoder().decode(Report.self, from: data)
    } catch {
        throw Failure(description: "\(path) is not a `mobilenet bench --profile --json` report (\(error))")
    }
}

func change(_ before: Double, _ after: Double) -> String {
    let percent = before > 0 ? (after - before) / before * 100 : 0
    return String(format: "%9.1f → %9.1f µs  %+8.1f µs  %+6.1f %%", before, after, after - before, percent)
}

func main() throws {
    var arguments = Array(CommandLine.arguments.dropFirst())
    var threshold = 5.0
    var all = false
    if let index = arguments.firstIndex(of: "--all") {
        all = true
        arguments.remove(at: index)
    }
    if let index = arguments.firstIndex(of: "--threshold") {
        guard index + 1 < arguments.count, let value = Double(arguments[index + 1]), value >= 0 else {
            throw Failure(description: "--threshold needs a percentage, e.g. --threshold 10")
        }
        threshold = value
        arguments.removeSubrange(index...(index + 1))
    }
    guard arguments.count == 2 else {
        throw Failure(description: "usage: swift Scripts/profile_diff.swift before.json after.json [--threshold PERCENT] [--all]")
    }
    let (before, after) = (try load(arguments[0]), try load(arguments[1]))
    print("before: \(before.setting)")
    print("after:  \(after.setting)")
    if before.setting != after.setting { print("note: the settings differ; the times do not compare like with like") }

    let old = Dictionary(before.steps.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    let new = Dictionary(after.steps.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    let changed = after.steps.compactMap { step -> (Report.Step, Report.Step)? in
        guard let previous = old[step.name] else { return nil }
        let delta = step.us_p50 - previous.us_p50
        let moved = previous.us_p50 > 0 && abs(delta) / previous.us_p50 * 100 > threshold && abs(delta) > 1
        return all || moved ? (previous, step) : nil
    }.sorted { abs($0.1.us_p50 - $0.0.us_p50) > abs($1.1.us_p50 - $1.0.us_p50) }

    let width = max(4, (changed.map(\.1.name.count).max() ?? 4))
    print("\nsteps " + (all ? "(all)" : "that moved by more than \(threshold) % (and 1 µs)") + ", largest change first:")
    for (previous, step) in changed {
        let kernel = previous.implementation == step.implementation ? "" : "  kernel \(previous.implementation) → \(step.implementation)"
        print("  " + step.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + change(previous.us_p50, step.us_p50) + kernel)
    }
    if changed.isEmpty { print("  none") }
    let gone = before.steps.filter { new[$0.name] == nil }.map(\.name)
    let added = after.steps.filter { old[$0.name] == nil }.map(\.name)
    if !gone.isEmpty { print("only before: " + gone.joined(separator: ", ")) }
    if !added.isEmpty { print("only after: " + added.joined(separator: ", ")) }

    print("\nby kind:")
    let oldKinds = Dictionary(before.kinds.map { ($0.kind, $0.us_p50) }, uniquingKeysWith: { a, _ in a })
    for kind in after.kinds {
        print("  " + kind.kind.padding(toLength: 12, withPad: " ", startingAt: 0) + change(oldKinds[kind.kind] ?? 0, kind.us_p50))
    }
    print("\n  " + "step sum".padding(toLength: 12, withPad: " ", startingAt: 0) + change(before.step_sum_us_p50, after.step_sum_us_p50))
    print("  " + "end to end".padding(toLength: 12, withPad: " ", startingAt: 0) + change(before.end_to_end_us_p50, after.end_to_end_us_p50))
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("profile_diff: \(error)\n".utf8))
    exit(1)
}
