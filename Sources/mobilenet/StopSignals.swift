import Dispatch
import Foundation

/// SIGINT (Ctrl-C) and SIGTERM as a request to stop at a clean point.
///
/// The signals' default action (ending the process at once, files half written) is turned off
/// while an instance lives; instead the first signal sets a flag that the work reads between its
/// steps (``requested``), and a second one ends the process at once with ``exitStatus``, for a
/// user who will not wait for the step in progress. Signal sources run their handlers on a
/// dispatch queue, not in signal context, so the handlers may lock and write.
final class StopSignals: @unchecked Sendable {
    /// The status a process stopped this way exits with: 75, `EX_TEMPFAIL` of `sysexits.h`
    /// ("try again later"), below 128 so that it never reads as death by a signal.
    static let exitStatus: Int32 = 75

    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// Starts listening for `signals`; `onFirst` hears the first one (on a background queue).
    init(_ signals: [Int32] = [SIGINT, SIGTERM], onFirst: @escaping @Sendable (String) -> Void = { _ in }) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            // The handler holds its source until `deinit` cancels it, which releases the handler.
            source.setEventHandler { [unowned self, source] in
                // `data`: how many arrived since the handler last ran (two quick ones come as one event).
                let (first, again) = lock.withLock {
                    defer { received = received ?? number }
                    return (received == nil, received != nil || source.data > 1)
                }
                if first { onFirst(Self.name(number)) }
                if again {
                    FileHandle.standardError.write(Data(
                        "mobilenet: stopped at once by a second \(Self.name(number)); the last checkpoint holds the run\n".utf8))
                    _exit(Self.exitStatus)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources {
            source.cancel()
            signal(Int32(source.handle), SIG_DFL)
        }
    }

    /// Whether a stop was asked for.
    var requested: Bool { lock.withLock { received != nil } }

    /// The name of the signal that asked, e.g. `SIGTERM`.
    var signalName: String? { lock.withLock { received.map(Self.name) } }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(number)"
        }
    }
}
