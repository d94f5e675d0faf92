import ArgumentParser
import Foundation

/// `fcn-fuzz`: mutation and grammar-aware fuzzing of the readers of `fcn`, with every run
/// under a timeout and a memory cap, outcomes counted per reader and reproducers of each
/// finding saved by cause. Needs no Python: CI runs `scripts/fuzz --minutes 1`.
@main
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fcn-fuzz",
        abstract: "Fuzz the readers of fcn (HDF5, .keras, JSON/YAML, prototxt, .npy, PNG/JPEG, output paths) and sort what fails by cause.",
        discussion: """
            Each run gets a fresh folder holding its inputs (the working directory of fcn); a run is a finding when fcn crashes \
            (a signal or a sanitizer report), uses more than --timeout CPU seconds, peaks over --memory-limit MiB, leaves files behind or changes \
            its inputs, prints libhdf5 dumps, control characters or more than one error line, or exits 0 on an input made \
            malformed on purpose. Reproducers go to <findings>/<outcome>/<reader>/<n>/ (inputs, command.txt, stderr.txt); \
            counts to <findings>/summary.json. Exits 1 when there was any finding.
            """)

    @Option(help: "The fcn binary to fuzz.")
    var fcn: String = ".build/debug/fcn"

    @Option(help: "The fixture folder the seeds come from.")
    var corpus: String = "Tests/Fixtures"

    @Option(help: "Where to save reproducers and summary.json (made if missing).")
    var findings: String = "fuzz-findings"

    @Option(help: "Stop after this many minutes (with --runs, whichever comes first).")
    var minutes: Double?

    @Option(help: "Stop after this many runs.")
    var runs: Int?

    @Option(help: "Readers to fuzz, comma-separated (default: all): hdf5, keras-zip, json, yaml, prototxt, caffe, npy, png, jpeg, output.")
    var readers: String?

    @Option(help: "Runs at once.")
    var jobs: Int = 1

    @Option(help: "Seed of the generators; worker i uses seed + i.")
    var seed: UInt64 = 1

    @Option(help: "CPU seconds (fcn and its reader) after which a run counts as a hang; one that blocks is killed after ten times as long.")
    var timeout: Double = 60

    @Option(help: "Peak resident MiB (fcn and its reader process) above which a run is a memory blow-up.")
    var memoryLimit: Int = 2048

    @Option(help: "Address-space cap of fcn in MiB (RLIMIT_AS); 0 for none, as AddressSanitizer builds need.")
    var addressSpace: Int = 4096

    @Option(help: "Reproducers kept per outcome, reader and first error line.")
    var keep: Int = 3

    func validate() throws {
        guard minutes != nil || runs != nil else { throw ValidationError("Give --minutes or --runs.") }
        guard jobs >= 1, jobs <= 64 else { throw ValidationError("--jobs must be 1 to 64.") }
        guard FileManager.default.isExecutableFile(atPath: fcn) else { throw ValidationError("\(fcn) is not an executable; build fcn first.") }
        if let readers {
            let unknown = readers.split(separator: ",").map(String.init).filter { !CaseMaker.readers.contains($0) }
            guard unknown.isEmpty else { throw ValidationError("unknown readers \(unknown); known: \(CaseMaker.readers.joined(separator: ", "))") }
        }
    }

    func run() throws {
        let chosen = readers.map { $0.split(separator: ",").map(String.init) } ?? CaseMaker.readers
        let findingsFolder = URL(fileURLWithPath: findings)
        try FileManager.default.createDirectory(at: findingsFolder, withIntermediateDirectories: true)
        let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fcn-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var environment = ProcessInfo.processInfo.environment
        // Under AddressSanitizer: no leak report at exit, and an impossible allocation (libhdf5
        // asks for 2^63 bytes on some damaged files) fails as glibc's malloc does, returning NULL.
        environment["ASAN_OPTIONS"] = environment["ASAN_OPTIONS"]
            ?? "detect_leaks=0:allocator_may_return_null=1:hard_rss_limit_mb=\(memoryLimit + 1024)"
        let runner = Runner(executable: URL(fileURLWithPath: fcn).standardizedFileURL.path, workFolder: work, timeout: timeout,
                            addressSpaceLimit: addressSpace > 0 ? addressSpace << 20 : nil, memoryLimit: memoryLimit << 20,
                            environment: environment)
        let tally = Tally(findings: findingsFolder, keep: keep, fcn: fcn, seed: seed)
        let deadline = minutes.map { Date(timeIntervalSinceNow: $0 * 60) } ?? .distantFuture
        let corpusURL = URL(fileURLWithPath: corpus)
        _ = try CaseMaker(corpus: corpusURL)
        let workers = jobs
        let limit = runs ?? Int.max
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var random = SeededRandom(seed: seed &+ UInt64(worker))
            guard var maker = try? CaseMaker(corpus: corpusURL) else { return }
            while Date() < deadline, let index = tally.claim(limit: limit) {
                let reader = chosen[index % chosen.count]
                do {
                    let fuzzCase = try maker.make(reader: reader, random: &random)
                    let result = try runner.run(fuzzCase, index: index)
                    tally.record(fuzzCase, result)
                } catch {
                    tally.recordHarnessError(reader: reader, "\(error)")
                }
            }
        }
        let summary = tally.summary()
        try tally.save(summary)
        print(summary.table)
        if summary.findings > 0 {
            throw ExitCode(1)
        }
    }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}

/// Counts outcomes per reader and saves reproducers; shared by the workers.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private let findings: URL
    private let keep: Int
    private var started = 0
    private var counts: [String: [String: Int]] = [:]
    private var kept: [String: Int] = [:]
    private var harnessErrors: [String] = []
    private let fcn: String
    private let seed: UInt64
    private let startedAt = Date()
    private var finished = 0

    init(findings: URL, keep: Int, fcn: String, seed: UInt64) {
        self.findings = findings
        self.keep = keep
        self.fcn = fcn
        self.seed = seed
    }

    /// Writes `summary.json`; also every 100 runs, so that a long run stopped early keeps its counts.
    func save(_ summary: Summary) throws {
        try JSONEncoder.pretty.encode(summary).write(to: findings.appendingPathComponent("summary.json"), options: .atomic)
    }

    /// The next run's index, or nil when `limit` runs have been started.
    func claim(limit: Int) -> Int? {
        lock.withLock {
            guard started < limit else { return nil }
            started += 1
            return started - 1
        }
    }

    func recordHarnessError(reader: String, _ message: String) {
        lock.withLock {
            counts[reader, default: [:]]["harness-error", default: 0] += 1
            if harnessErrors.count < 20 { harnessErrors.append("\(reader): \(message)") }
        }
    }

    func record(_ fuzzCase: FuzzCase, _ result: Runner.Result) {
        lock.withLock {
            counts[fuzzCase.reader, default: [:]][result.outcome.rawValue, default: 0] += 1
            finished += 1
            if finished % 100 == 0 { try? save(unlockedSummary()) }
            guard result.outcome.isFinding else { return }
            let firstLine = result.standardError.split(separator: "\n").first.map(String.init) ?? ""
            let signature = result.outcome.rawValue + fuzzCase.reader + String(firstLine.map { $0.isNumber ? "#" : $0 }.prefix(120))
            let number = kept[signature, default: 0]
            kept[signature] = number + 1
            guard number < keep else { return }
            let folder = findings.appendingPathComponent(result.outcome.rawValue).appendingPathComponent(fuzzCase.reader)
                .appendingPathComponent("\(abs(signature.hashValue) % 1_000_000)-\(number)")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (name, bytes) in fuzzCase.files {
                let url = folder.appendingPathComponent("inputs").appendingPathComponent(name)
                try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try? Data(bytes).write(to: url)
            }
            let command = "cd inputs && fcn " + fuzzCase.arguments.map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }.joined(separator: " ")
            let notes = """
                \(command)
                # \(fuzzCase.note)
                # \(result.detail); exit \(result.status)\(result.signal.map { ", signal \($0)" } ?? ""), \
                \(String(format: "%.2f", result.seconds)) s (CPU \(String(format: "%.2f", result.cpuSeconds)) s), peak \(result.peakBytes >> 20) MiB

                """
            try? Data(notes.utf8).write(to: folder.appendingPathComponent("command.txt"))
            try? Data(result.standardError.utf8).write(to: folder.appendingPathComponent("stderr.txt"))
        }
    }

    struct Summary: Codable {
        var runs: Int
        var seconds: Double
        var fcn: String
        var seed: UInt64
        var findings: Int
        /// reader → outcome → runs.
        var counts: [String: [String: Int]]
        var harnessErrors: [String]

        var table: String {
            let outcomes = Outcome.allCases.map(\.rawValue) + (counts.values.contains { $0["harness-error"] != nil } ? ["harness-error"] : [])
            var lines = ["reader      " + outcomes.map { $0.padding(toLength: max($0.count, 6), withPad: " ", startingAt: 0) }.joined(separator: " ") + "  total"]
            for reader in counts.keys.sorted() {
                let row = counts[reader]!
                let cells = outcomes.map { String(row[$0] ?? 0).padding(toLength: max($0.count, 6), withPad: " ", startingAt: 0) }
                lines.append(reader.padding(toLength: 12, withPad: " ", startingAt: 0) + cells.joined(separator: " ")
                             + "  \(row.values.reduce(0, +))")
            }
            lines.append("\(runs) runs in \(Int(seconds)) s, \(findings) findings")
            return lines.joined(separator: "\n")
        }
    }

    func summary() -> Summary {
        lock.withLock { unlockedSummary() }
    }

    private func unlockedSummary() -> Summary {
        let findingCount = counts.values.flatMap { $0 }.filter { key, _ in Outcome(rawValue: key)?.isFinding ?? true }.map(\.value).reduce(0, +)
        return Summary(runs: counts.values.flatMap(\.values).reduce(0, +), seconds: Date().timeIntervalSince(startedAt), fcn: fcn, seed: seed,
                       findings: findingCount, counts: counts, harnessErrors: harnessErrors)
    }
}
