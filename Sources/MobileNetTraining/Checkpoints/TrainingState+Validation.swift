extension TrainingState {
    /// The largest count a saved state may hold: 2^53, the integers a JSON number carries exactly
    /// everywhere, and far from `Int.max`, so that the `+ 1`s of a resumed run cannot overflow.
    static let countLimit = 1 << 53

    /// The first of this state's counters (epoch, step, global step, optimizer steps, average
    /// updates, the history's epochs) that is negative or above ``countLimit``, as `name = value`.
    ///
    /// A resumed run adds to each of them (`steps[key] + 1`, `updateCount + 1`, `epoch + 1`), and
    /// computes remaining work from `configuration.epochs - epoch`, so a snapshot JSON carrying
    /// `Int.min` or `Int.max` would stop it with an overflow trap.
    var counterOutOfRange: String? {
        var counters: [(String, Int)] = [("epoch", epoch), ("step", step), ("globalStep", globalStep)]
        counters += optimizerSteps.sorted { $0.key < $1.key }.map { ("optimizerSteps[\"\($0.key)\"]", $0.value) }
        if let averageUpdateCount { counters.append(("averageUpdateCount", averageUpdateCount)) }
        counters += history.enumerated().map { ("history[\($0.offset)].epoch", $0.element.epoch) }
        return counters.first { !(0...Self.countLimit).contains($0.1) }.map { "\($0.0) = \($0.1)" }
    }
}
