import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One input for `fcn`: the files to place in a fresh folder, the arguments (naming those
/// files), and what a correct `fcn` may do with it.
struct FuzzCase {
    /// The reader the case aims at (hdf5, keras-zip, json, yaml, prototxt, caffe, npy, png, jpeg, output).
    var reader: String
    /// File name → bytes, written into the run's folder, which is also the working directory.
    var files: [String: [UInt8]]
    var arguments: [String]
    /// What the arguments may create on success (a file, or a folder and everything in it; "."
    /// for anything in the run's folder).
    var outputs: [String]
    /// True when the input is malformed by construction: `fcn` must refuse it.
    var mustFail: Bool
    /// How the input was made, for the reproducer.
    var note: String
    /// Whether `fcn` may read the (unchanged, valid) model in process: for the cases that aim at
    /// another reader (an input, an image, an output path), which saves a process per run.
    var modelIsTrusted = false
}

/// How one run ended, from worst to best.
enum Outcome: String, CaseIterable, Codable {
    case crash, timeout, memory
    case leftovers = "files-left-behind"
    case rawStderr = "raw-stderr"
    case acceptedMalformed = "exit0-on-malformed"
    case refused = "clean-error"
    case accepted = "ok"

    /// Whether the outcome is a finding (a bug of `fcn`).
    var isFinding: Bool { self != .refused && self != .accepted }
}

/// Runs `fcn` on cases, each in its own folder under a time and memory cap, and classifies
/// the ending.
struct Runner {
    let executable: String
    let workFolder: URL
    /// CPU seconds (of `fcn` and its reader process) beyond which a run is a hang. CPU time,
    /// not wall time: on a loaded machine a run at the lowest priority may wait a minute for a
    /// core. A run that blocks without using CPU is killed after ten times as long.
    let timeout: Double
    /// `RLIMIT_AS` for `fcn` (nil under AddressSanitizer, which reserves terabytes of address space).
    let addressSpaceLimit: Int?
    /// The peak resident size above which a run is a memory blow-up.
    let memoryLimit: Int
    let environment: [String: String]

    struct Result {
        var outcome: Outcome
        var status: Int32
        var signal: Int32?
        var seconds: Double
        var cpuSeconds: Double
        var peakBytes: Int
        var standardError: String
        var detail: String
    }

    /// Files a hostile `.keras` member name might reach if it were ever used as a path.
    static let escapeProbes = ["/tmp/fcn-fuzz-escape", "/tmp/fcn-fuzz-escape.txt"]

    func run(_ fuzzCase: FuzzCase, index: Int) throws -> Result {
        let folder = workFolder.appendingPathComponent("run-\(index)")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, bytes) in fuzzCase.files {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        let errorPath = workFolder.appendingPathComponent("stderr-\(index).txt").path
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let started = Date()
        let (status, signal, peak, cpu, timedOut) = try spawn(arguments: fuzzCase.arguments, in: folder.path, errorPath: errorPath,
                                                         trusted: fuzzCase.modelIsTrusted)
        let seconds = Date().timeIntervalSince(started)
        let rawError = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errorPath)).prefix(1 << 20)) ?? Data(), as: UTF8.self)
        // AddressSanitizer's note that an impossible allocation returned NULL is not fcn's output.
        let errorText = rawError.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("WARNING: AddressSanitizer failed to allocate") }.joined(separator: "\n")

        func result(_ outcome: Outcome, _ detail: String) -> Result {
            Result(outcome: outcome, status: status, signal: signal, seconds: seconds, cpuSeconds: cpu, peakBytes: peak,
                   standardError: errorText, detail: detail)
        }
        if timedOut { return result(.timeout, "killed after \(Int(seconds)) s of waiting") }
        if signal == SIGXCPU || cpu > timeout { return result(.timeout, "used \(Int(cpu)) s of CPU") }
        if let signal { return result(.crash, "signal \(signal)") }
        for marker in ["ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "Fatal error", "Program crashed"] where errorText.contains(marker) {
            return result(.crash, marker)
        }
        if peak > memoryLimit { return result(.memory, "peak \(peak >> 20) MiB") }
        if let problem = leftovers(in: folder, case: fuzzCase, succeeded: status == 0) { return result(.leftovers, problem) }
        if let problem = Self.rawStderr(errorText, status: status) { return result(.rawStderr, problem) }
        if status == 0 { return fuzzCase.mustFail ? result(.acceptedMalformed, "exit 0") : result(.accepted, "") }
        return result(.refused, "")
    }

    /// What a run left that it should not have: inputs changed or gone, files other than its
    /// outputs (none at all after a failure), anything at the escape probes.
    private func leftovers(in folder: URL, case fuzzCase: FuzzCase, succeeded: Bool) -> String? {
        for (name, bytes) in fuzzCase.files {
            guard let now = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path), Array(now) == bytes else {
                return "input \(name) was changed or removed"
            }
        }
        for probe in Self.escapeProbes where FileManager.default.fileExists(atPath: probe) {
            try? FileManager.default.removeItem(atPath: probe)
            return "\(probe) was created"
        }
        let allowed = Set(fuzzCase.files.keys)
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        while let relative = enumerator?.nextObject() as? String {
            if allowed.contains(relative) || fuzzCase.files.keys.contains(where: { $0.hasPrefix(relative + "/") }) { continue }
            // An output, a file in an output folder, or a folder made on the way to one.
            if succeeded, fuzzCase.outputs.contains(where: { $0 == "." || relative == $0 || relative.hasPrefix($0 + "/") || $0.hasPrefix(relative + "/") }) {
                continue
            }
            return "left \(relative)"
        }
        return nil
    }

    /// libhdf5's own error dumps, control characters, or (for an ordinary error) more than one
    /// error line; `note:` lines (how an input was read) are not errors.
    static func rawStderr(_ text: String, status: Int32) -> String? {
        for marker in ["HDF5-DIAG", "#000:", "H5E_", "major: ", "minor: "] where text.contains(marker) { return "libhdf5 dump (\(marker))" }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) {
            return "control characters"
        }
        if status == 1, text.split(separator: "\n").filter({ !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("note: ") }).count > 1 {
            return "more than one line"
        }
        return nil
    }

    /// Starts `fcn` in its own process group under `/bin/sh` (which sets the address-space
    /// limit and the folder, then becomes `fcn`), waits at most `timeout`, and returns its
    /// status, signal, peak resident bytes (its reader process included) and whether it was killed.
    private func spawn(arguments: [String], in folder: String, errorPath: String, trusted: Bool) throws -> (Int32, Int32?, Int, Double, Bool) {
        let limit = addressSpaceLimit.map { String($0 >> 10) } ?? "unlimited"
        // RLIMIT_CPU a little over the timeout: the kernel ends a spinning fcn (SIGXCPU).
        let script = "cd \"$1\" && ulimit -v \"$2\" && ulimit -t \"$3\" && shift 3 && exec \"$@\""
        let argv = ["/bin/sh", "-c", script, "sh", folder, limit, String(Int(timeout) + 5), executable] + arguments
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let environmentStrings = environment.merging(trusted ? ["FCN_TRUSTED_FILES": "1"] : [:]) { $1 }.map { "\($0.key)=\($0.value)" }
        var cArguments = argv.map { strdup($0) } + [nil]
        var cEnvironment = environmentStrings.map { strdup($0) } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &fileActions, &attributes, &cArguments, &cEnvironment)
        guard spawned == 0 else { throw FuzzError("cannot start /bin/sh: \(String(cString: strerror(spawned)))") }
        let deadline = Date(timeIntervalSinceNow: timeout * 10)
        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        while true {
            let waited = wait4(pid, &status, WNOHANG, &usage)
            if waited == pid { break }
            if waited < 0, errno != EINTR { throw FuzzError("wait4 failed: \(String(cString: strerror(errno)))") }
            if !timedOut, Date() > deadline {
                kill(-pid, SIGKILL)
                timedOut = true
            }
            usleep(timedOut ? 1000 : 5000)
        }
        // Whatever the group still holds (a reader process whose parent was killed) goes too.
        kill(-pid, SIGKILL)
        let signaled = (status & 0x7F) != 0 && (status & 0x7F) != 0x7F
        let exitStatus = (status >> 8) & 0xFF
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return (signaled ? 0 : exitStatus, signaled && !timedOut ? status & 0x7F : nil, Int(usage.ru_maxrss) << 10, cpu, timedOut)
    }
}

struct FuzzError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
