import Dispatch

/// Splits a kernel's work among the runtime's threads.
///
/// OpenBLAS runs single-threaded (the executor sets it once), and each worker here calls it on
/// its own share: the runtime's threads never compete with OpenBLAS's own, which would otherwise
/// spin while the transforms and patch copies run.
enum Parallel {
    /// Runs `body(worker, range)` at once for up to `workers` contiguous, non-empty ranges
    /// covering `0..<count`, each at least `minimumShare` long where possible.
    static func split(_ count: Int, workers: Int, minimumShare: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let used = max(1, min(workers, count / max(1, minimumShare)))
        guard used > 1 else {
            if count > 0 { body(0, 0..<count) }
            return
        }
        let share = (count + used - 1) / used
        withoutActuallyEscaping(body) { body in
            // Workers write disjoint parts of shared buffers.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: used) { worker in
                let range = (worker * share)..<min(count, (worker + 1) * share)
                if !range.isEmpty { body(worker, range) }
            }
        }
    }
}
