import Foundation

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct ProgressBar {
    let total: Int
    let enabled: Bool

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled && isatty(STDERR_FILENO) != 0
    }

    mutating func update(done: Int, label: String) {
        guard enabled else { return }
        let width = 30
        let filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        // Cut to the terminal's width, so that the line never wraps and `\r` redraws it in place.
        let line = String("[\(bar)] \(done)/\(total) \(label)".prefix(max(10, Self.terminalColumns() - 1)))
        FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
    }

    /// The width of the terminal on stderr (80 when unknown).
    private static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    mutating func finish() {
        update(done: total, label: "done")
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
