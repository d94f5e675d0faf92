import CHDF5
import Foundation

/// One place that talks to libhdf5's error machinery.
///
/// Every libhdf5 call that returns an id or a status goes through `checked`, which turns a
/// negative result into an `HDF5Error` carrying libhdf5's own message. libhdf5's habit of
/// printing its error stack to stderr is switched off once, before the first call.
package enum LibraryCalls {
    /// Debian's libhdf5 is built without thread safety, so every call into it holds this lock.
    private static let lock = NSRecursiveLock()

    /// Runs `body` while holding the libhdf5 lock; every public entry point goes through here.
    package static func serialized<Value, Failure: Error>(_ body: () throws(Failure) -> Value) throws(Failure) -> Value {
        lock.lock()
        defer { lock.unlock() }
        prepare()
        return try body()
    }

    /// Makes sure libhdf5 is initialised and does not print errors itself.
    package static func prepare() {
        chdf5_silence_error_printing()
    }

    /// The most specific message on libhdf5's error stack, which is cleared, on one line.
    package static func takeErrorMessage() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        chdf5_take_error_message(&buffer)
        return oneLine(String(nulTerminated: buffer))
    }

    /// libhdf5's message without its dumps: a failed write reads "file write failed: time = …,
    /// filename = …, file descriptor = 3, errno = 27, error message = 'File too large', buf = …";
    /// that becomes "file write failed: File too large". Line breaks become spaces.
    static func oneLine(_ message: String) -> String {
        var text = message
        if let colon = text.range(of: ": time = "), let quoted = text.range(of: "error message = '") {
            let reason = text[quoted.upperBound...].prefix { $0 != "'" }
            text = String(text[..<colon.lowerBound]) + ": " + reason
        }
        text = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return text.isEmpty ? "libhdf5 gave no reason" : text
    }

    /// Returns `value` when libhdf5 reports success (non-negative), or throws the error
    /// `failure` builds from libhdf5's message.
    @discardableResult
    package static func checked<Value: BinaryInteger>(
        _ value: Value, or failure: (String) -> HDF5Error
    ) throws(HDF5Error) -> Value {
        if value < 0 { throw failure(takeErrorMessage()) }
        return value
    }
}

package extension String {
    /// The UTF-8 text in a C buffer, up to its first NUL.
    init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `name` joined onto the HDF5 path `parent`.
package func hdf5ChildPath(_ parent: String, _ name: String) -> String {
    parent == "/" ? "/" + name : parent + "/" + name
}
