import Dispatch
import Synchronization

/// Splits a kernel's work among the runtime's threads.
///
/// OpenBLAS runs single-threaded (the executor sets it once), and each worker here calls it on
/// its own share: the runtime's threads never compete with OpenBLAS's own, which would otherwise
/// spin while the transforms and patch copies run.
enum Parallel {
    /// Runs `body(worker, range)` over contiguous, non-empty ranges covering `0..<count`, each at
    /// least `minimumShare` long where possible, on up to `workers` threads at once. A worker
    /// index is in `0..<workers` and is never used by two ranges at the same time, so it can
    /// pick per-worker scratch.
    ///
    /// The work is cut into up to `piecesPerWorker` pieces per worker, which workers claim as
    /// they finish the last: a core slowed by other work on a shared machine takes fewer of them
    /// instead of holding the others up. Pass 1 where every piece costs a fixed overhead.
    static func split(_ count: Int, workers: Int, minimumShare: Int = 1, piecesPerWorker: Int = 3,
                      _ body: (Int, Range<Int>) -> Void) {
        let used = max(1, min(workers, count / max(1, minimumShare)))
        guard used > 1 else {
            if count > 0 { body(0, 0..<count) }
            return
        }
        let pieces = max(used, min(used * piecesPerWorker, count / max(1, minimumShare)))
        let share = (count + pieces - 1) / pieces  // the last piece may be shorter, or absent
        let claimed = PieceCounter()
        withoutActuallyEscaping(body) { body in
            // Workers write disjoint parts of shared buffers.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: used) { worker in
                while true {
                    let start = claimed.next.add(1, ordering: .relaxed).oldValue * share
                    guard start < count else { return }
                    body(worker, start..<min(count, start + share))
                }
            }
        }
    }
}

/// The next piece of a split to be claimed.
private final class PieceCounter: Sendable {
    let next = Atomic<Int>(0)
}
