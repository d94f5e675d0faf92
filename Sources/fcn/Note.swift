import Foundation

/// Notes for the user on stderr: how an input was read or converted, what was skipped.
/// Errors are not notes; `-q` silences notes, never errors.
enum Note {
    /// Set once from `-q/--quiet` before any work.
    nonisolated(unsafe) static var quiet = false

    /// Writes `note: <line>` to stderr unless quiet.
    static func print(_ line: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data("note: \(line)\n".utf8))
    }
}
