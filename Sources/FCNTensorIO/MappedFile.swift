import FCNDiagnostics
import Foundation

/// A regular file mapped read-only into memory, unmapped when the value goes away.
///
/// Opening never blocks (a FIFO or device named as input is refused, not waited on), and
/// the pages are the file's own: reading a large file costs no copy of it.
final class MappedFile {
    private let base: UnsafeMutableRawPointer?
    private let count: Int

    /// Why a file could not be mapped, in words for a message.
    struct Failure: Error {
        let reason: String
    }

    init(path: String) throws(Failure) {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(reason: InputFileProblem.failing(errno: errno).description) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Failure(reason: String(cString: strerror(errno))) }
        // Checked on the open descriptor, so a path swapped after a check by name is caught too.
        if let problem = InputFileProblem.of(mode: status.st_mode) { throw Failure(reason: problem.description) }
        count = Int(status.st_size)
        guard count > 0 else {
            base = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else { throw Failure(reason: String(cString: strerror(errno))) }
        base = mapped
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// Calls `body` with the file's bytes, valid only during the call.
    func withUnsafeBytes<Result, Failure: Error>(_ body: (UnsafeRawBufferPointer) throws(Failure) -> Result) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }
}
