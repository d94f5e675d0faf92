import Foundation

/// A one-line progress bar on stderr, drawn only when stderr is a terminal: a bar, the count,
/// the time so far and the estimated time left, and the current item, cut to the
/// terminal's width so that a narrow window never wraps.
struct ProgressBar {
    let total: Int
    let enabled: Bool
    private let start = Date()

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled && isatty(STDERR_FILENO) != 0
    }

    mutating func update(done: Int, label: String) {
        guard enabled else { return }
        let line = Self.line(done: done, total: total, label: label, elapsed: Date().timeIntervalSince(start), columns: Self.columns())
        FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
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

    /// The bar for `done` of `total` after `elapsed` seconds, at most `columns − 1` characters
    /// (the last column left free, where some terminals wrap): the label is cut first, then the bar.
    static func line(done: Int, total: Int, label: String, elapsed: TimeInterval, columns: Int) -> String {
        let remaining = done > 0 && done < total ? elapsed / Double(done) * Double(total - done) : nil
        let timing = " \(done)/\(total) " + duration(elapsed) + (remaining.map { ", ~\(duration($0)) left" } ?? "")
        let room = max(0, columns - 1)
        let barWidth = min(30, max(0, room - timing.count - 3))
        let filled = total > 0 ? min(done, total) * barWidth / total : barWidth
        let bar = barWidth >= 5 ? "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]" : ""
        let head = String((bar + timing).prefix(room))
        let labelRoom = room - head.count - 1
        guard labelRoom >= 4 else { return head }
        let shown = label.count <= labelRoom ? label : "…" + label.suffix(labelRoom - 1)
        return head + " " + shown
    }

    /// `42s`, `3m05s`, `2h07m`.
    static func duration(_ seconds: TimeInterval) -> String {
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
    }

    /// The terminal's width: stderr's window size, else `COLUMNS`, else 80.
    private static func columns() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 80
    }
}
