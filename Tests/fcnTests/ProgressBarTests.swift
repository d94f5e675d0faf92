import Testing
@testable import fcn

/// The progress line fits the terminal, whatever its width, and says the time so far and left.
@Suite struct ProgressBarTests {
    @Test(arguments: [20, 50, 80, 200])
    func neverWiderThanTheTerminal(columns: Int) {
        let line = ProgressBar.line(done: 3, total: 7, label: "a/very/long/path/to/an/image/scene-with-a-long-name.png",
                                    elapsed: 90, columns: columns)
        #expect(line.count <= columns - 1, "\(line)")
        #expect(line.contains("3/7"))
    }

    @Test func saysElapsedAndRemainingTime() {
        let line = ProgressBar.line(done: 2, total: 6, label: "x.png", elapsed: 100, columns: 120)
        #expect(line.contains("2/6 1m40s, ~3m20s left"), "\(line)")
        #expect(line.hasSuffix(" x.png"))
        #expect(!ProgressBar.line(done: 6, total: 6, label: "done", elapsed: 100, columns: 120).contains("left"))
    }

    @Test func cutsTheLabelFromTheFront() {
        let line = ProgressBar.line(done: 1, total: 2, label: "folder/" + String(repeating: "a", count: 60) + ".png", elapsed: 1, columns: 60)
        #expect(line.hasSuffix("aaa.png"), "\(line)")
        #expect(line.contains("…"))
    }

    @Test func durations() {
        #expect(ProgressBar.duration(42.4) == "42s")
        #expect(ProgressBar.duration(185) == "3m05s")
        #expect(ProgressBar.duration(7620) == "2h07m")
    }
}
