import Foundation
import Synchronization

/// The signal that asked the process to stop, 0 while none has. Written only by the handler.
private let received = Atomic<Int32>(0)

/// SIGINT and SIGTERM turned into a request that long runs honour at safe points, instead of
/// dying in the middle of a write. The handler only stores the signal's number (async-signal
/// safe); the run checks `requested` between inputs and between the steps of one input, removes
/// its temporaries and exits with `exitStatus` (130 for SIGINT, 143 for SIGTERM).
public enum StopSignal {
    /// Installs the handler for SIGINT and SIGTERM and unblocks them on the calling thread. The
    /// corresponding C functions are `sigaction` and `pthread_sigmask`.
    public static func install() {
        var action = sigaction()
        #if os(Linux)
        action.__sigaction_handler.sa_handler = { number in received.store(number, ordering: .relaxed) }
        #else
        action.__sigaction_u.__sa_handler = { number in received.store(number, ordering: .relaxed) }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A process can start with these signals blocked (a parent's thread mask is inherited
        // through fork and posix_spawn; Foundation's Process started from a test runner's worker
        // thread does this), which would hold every stop request until the end. Unblocked here,
        // before any worker thread starts, so all threads inherit the unblocked mask.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    /// The signal received, if any.
    public static var requested: Int32? {
        let number = received.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// `128 + signal`, the shell's convention.
    public static func exitStatus(for signal: Int32) -> Int32 { 128 + signal }

    /// The signal's name for messages.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}

/// Thrown by a step that noticed a stop request; the run discards the input it was working on.
public struct StopRequested: Error, CustomStringConvertible {
    public let signal: Int32
    public init(signal: Int32) { self.signal = signal }
    public var description: String { "stopped by \(StopSignal.name(of: signal))" }

    /// Throws when a stop was requested.
    public static func check() throws(StopRequested) {
        if let signal = StopSignal.requested { throw StopRequested(signal: signal) }
    }
}
