import Foundation
import Testing
import _FCNTestSupport

/// The console examples of the README and docs/ run, and show what the commands print.
///
/// In a ```console block, a line `$ fcn …` is a command and the lines after it, up to the next
/// command, are what it prints (standard output, then standard error). In those lines `…`
/// stands for any text within a line (timings, long lists), and a line `...` for any number
/// of lines. The commands of one document run in order in one scratch folder where `models/`
/// is the repository's, so an example may use what an earlier one wrote.
@Suite struct DocsExamplesTests {
    struct Example: CustomStringConvertible {
        let document: String
        let line: Int
        let arguments: [String]
        let expected: [String]
        var description: String { "\(document):\(line): fcn \(arguments.joined(separator: " "))" }
    }

    /// The documents whose examples are checked.
    static let documents: [String] = {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.repositoryRoot.appendingPathComponent("docs").path)) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }
    }()

    /// The examples of `document`, in order.
    static func examples(in document: String) throws -> [Example] {
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent(document), encoding: .utf8)
        var examples: [Example] = []
        var inConsole = false
        var current: (line: Int, arguments: [String], expected: [String])?
        func finish() {
            if let current { examples.append(Example(document: document, line: current.line, arguments: current.arguments, expected: current.expected)) }
            current = nil
        }
        for (number, line) in text.components(separatedBy: "\n").enumerated() {
            if line.hasPrefix("```") {
                if inConsole { finish() }
                inConsole = line == "```console"
                continue
            }
            guard inConsole else { continue }
            if line.hasPrefix("$ ") {
                finish()
                let command = line.dropFirst(2).split(separator: "#", maxSplits: 1).first.map(String.init) ?? ""
                let words = command.split(separator: " ").map(String.init)
                #expect(words.first == "fcn", "\(document):\(number + 1): a console example runs something other than fcn: \(line)")
                current = (number + 1, Array(words.dropFirst()), [])
            } else {
                current?.expected.append(line)
            }
        }
        return examples
    }

    @Test(arguments: documents)
    func examplesShowWhatTheCommandsPrint(document: String) throws {
        let examples = try Self.examples(in: document)
        guard !examples.isEmpty else { return }
        let scratch = try TemporaryDirectory()
        try FileManager.default.createSymbolicLink(at: scratch.url.appendingPathComponent("models"),
                                                   withDestinationURL: Fixtures.repositoryRoot.appendingPathComponent("models"))
        for example in examples {
            let result = try CommandRunner.run(example.arguments, in: scratch.url)
            let printed = (result.standardOutput + result.standardError).split(separator: "\n", omittingEmptySubsequences: false)
                .map { String($0).trimmingCharacters(in: .whitespaces) }
            let expected = example.expected.map { $0.trimmingCharacters(in: .whitespaces) }.reversed().drop { $0.isEmpty }.reversed()
            if let mismatch = Self.mismatch(expected: Array(expected), printed: printed) {
                Issue.record("\(example): \(mismatch)\n--- printed:\n\(printed.joined(separator: "\n"))")
            }
        }
    }

    /// Why `printed` does not show `expected`, or nil when it does: the runs of expected
    /// lines between `...` lines appear in order, each as consecutive printed lines.
    static func mismatch(expected: [String], printed: [String]) -> String? {
        let runs = expected.split(separator: "...", omittingEmptySubsequences: false).map(Array.init)
        var position = 0
        for (index, run) in runs.enumerated() where !run.isEmpty {
            let anchored = index == 0
            let candidates = anchored ? Array(position...position) : Array(position...max(position, printed.count - run.count))
            guard let start = candidates.first(where: { start in
                start + run.count <= printed.count && zip(run, printed[start...]).allSatisfy { matches($0, $1) }
            }) else {
                return "no printed lines match \"\(run.first ?? "")\"" + (anchored ? " at the start" : "")
            }
            position = start + run.count
        }
        let trailing = printed[position...].filter { !$0.isEmpty }
        if runs.last?.isEmpty == false, !trailing.isEmpty { return "more was printed than shown: \"\(trailing.first!)\"" }
        return nil
    }

    /// Whether `line` is `pattern`, where `…` in the pattern stands for any text.
    static func matches(_ pattern: String, _ line: String) -> Bool {
        let pieces = pattern.components(separatedBy: "…")
        guard pieces.count > 1 else { return pattern == line }
        guard line.hasPrefix(pieces.first!), line.hasSuffix(pieces.last!), line.count >= pieces.first!.count + pieces.last!.count else { return false }
        var rest = line.dropFirst(pieces.first!.count).dropLast(pieces.last!.count)
        for piece in pieces.dropFirst().dropLast() where !piece.isEmpty {
            guard let range = rest.range(of: piece) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }

    @Test func theMatcherCanFail() {
        #expect(Self.matches("Median … ms", "Median 11.2 ms"))
        #expect(!Self.matches("Median … ms", "Mean 11.2 ms"))
        #expect(Self.mismatch(expected: ["a", "...", "c"], printed: ["a", "b", "c"]) == nil)
        #expect(Self.mismatch(expected: ["a", "c"], printed: ["a", "b", "c"]) != nil)
        #expect(Self.mismatch(expected: ["b"], printed: ["a", "b"]) != nil)
    }
}
