import CProcessLimits
import FCNDiagnostics
import FCNImport
import FCNModel
import Foundation
import HDF5Reader
#if canImport(Glibc)
import Glibc
#endif

/// The limits of one isolated read.
public struct ReaderLimits: Sendable {
    /// Wall-clock seconds the parent waits for the whole model.
    public var timeout: Double
    /// The child's address space (`RLIMIT_AS`), in bytes.
    public var memoryBytes: Int
    /// The child's CPU time (`RLIMIT_CPU`), in seconds. Reading VGG16's 553 MB takes under a
    /// second of CPU; a libhdf5 that spins on a damaged file (its global-heap cache can) uses
    /// CPU without end, while a slow disk uses wall time, which `timeout` bounds.
    public var cpuSeconds: Int

    public init(timeout: Double = 120, memoryBytes: Int = 8 << 30, cpuSeconds: Int = 30) {
        self.timeout = timeout
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
    }

    /// The defaults, changed by `FCN_READER_TIMEOUT` (seconds), `FCN_READER_MAX_MEMORY` (MiB)
    /// and `FCN_READER_CPU_SECONDS`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ReaderLimits {
        var limits = ReaderLimits()
        if let text = environment["FCN_READER_TIMEOUT"], let seconds = Double(text), seconds > 0, seconds <= 86_400 {
            limits.timeout = seconds
        }
        if let text = environment["FCN_READER_MAX_MEMORY"], let mebibytes = Int(text), mebibytes > 0, mebibytes <= 1 << 24 {
            limits.memoryBytes = mebibytes << 20
        }
        if let text = environment["FCN_READER_CPU_SECONDS"], let seconds = Int(text), seconds > 0, seconds <= 86_400 {
            limits.cpuSeconds = seconds
        }
        return limits
    }
}

/// Reads untrusted model files in a child process, so that a fault of libhdf5 on a damaged or
/// hostile file (a crash, a hang, a runaway allocation) ends the child, not the caller.
///
/// The parent starts `executable` (the `fcn` binary itself) with the hidden subcommand
/// `childCommand`; the child runs `ModelImporter.load` under `RLIMIT_AS` and `RLIMIT_CPU`,
/// names on a pipe every HDF5 object before it reads it, and sends back the validated `Model`:
/// the network as JSON (rebuilt through `Network.validated`) and the weights as raw float32,
/// which the parent reads straight into the arrays it keeps. When the child dies or the
/// timeout passes, the error names the object it was reading. Library callers who trust their
/// files keep calling `ModelImporter.load` in process.
public enum IsolatedImporter {
    /// The hidden subcommand of `fcn` that runs `serveChild`.
    public static let childCommand = "_read-model"

    /// The descriptor the child writes its frames to.
    static let channelDescriptor: Int32 = 3

    /// Reads the model at `path` in a child process started from `executable`.
    ///
    /// - Throws: `ImportError`: the child's own error, or `.readerFailed` naming the object it
    ///   was reading when it died or ran out of time.
    public static func load(path: String, options: ImportOptions = ImportOptions(), limits: ReaderLimits = .fromEnvironment(),
                            executable: String) throws(ImportError) -> Model {
        var arguments = [executable, childCommand, "--flip-kernels", options.kernelFlip.rawValue,
                         "--max-memory", String(limits.memoryBytes), "--cpu-seconds", String(limits.cpuSeconds)]
        if let architecture = options.architecturePath { arguments += ["--arch", architecture] }
        arguments += ["--", path]
        let child: ChildProcess
        do { child = try ChildProcess(arguments: arguments) } catch {
            throw .readerFailed(path: path, object: nil, reason: "cannot start the reader process: \(String(cString: strerror(error.errno)))")
        }
        let reader = ChannelReader(descriptor: child.channel, deadline: Date(timeIntervalSinceNow: limits.timeout))
        var lastObject: String?
        do {
            while true {
                let (tag, payload) = try reader.receive(maximumPayload: 64 << 20)
                switch tag {
                case .progress?:
                    lastObject = String(decoding: payload, as: UTF8.self)
                case .failure?:
                    let failure = try? JSONDecoder().decode(ReaderFailure.self, from: payload)
                    child.finish()
                    throw failure?.error ?? .readerFailed(path: path, object: lastObject, reason: "the reader sent an unreadable error")
                case .model?:
                    let model = try receiveModel(payload, path: path, reader: reader)
                    child.finish()
                    return model
                case nil:
                    child.kill()
                    throw ImportError.readerFailed(path: path, object: lastObject, reason: "the reader sent an unknown message")
                }
            }
        } catch let error as ImportError {
            throw error
        } catch ChannelEnd.timedOut {
            child.kill()
            throw .readerFailed(path: path, object: lastObject,
                                reason: "no result within \(limits.timeout.formatted()) s; FCN_READER_TIMEOUT sets the limit")
        } catch {
            let ending = child.finish()
            throw .readerFailed(path: path, object: lastObject, reason: ending.description(memoryLimit: limits.memoryBytes))
        }
    }

    /// Rebuilds the model the child described, reading each tensor's values from the channel
    /// into its own array.
    private static func receiveModel(_ payload: Data, path: String, reader: ChannelReader) throws -> Model {
        let description: TransferredModel
        do { description = try JSONDecoder().decode(TransferredModel.self, from: payload) } catch {
            throw ImportError.readerFailed(path: path, object: nil, reason: "the reader sent a model that does not decode: \(error)")
        }
        guard let transferred = description.weights else {
            return Model(network: description.network, weights: nil, source: description.source)
        }
        var weights: [String: LayerWeights] = [:]
        for layer in transferred {
            var tensors: [Tensor?] = []
            for shape in layer.shapes {
                guard let shape else { tensors.append(nil); continue }
                guard let count = TransferredWeights.elementCount(shape) else {
                    throw ImportError.readerFailed(path: path, object: nil, reason: "the reader sent a tensor of shape \(shape)")
                }
                var failure: (any Error)?
                let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    do { try reader.read(into: UnsafeMutableRawBufferPointer(buffer)) } catch { failure = error; initialized = 0; return }
                    initialized = count
                }
                if let failure { throw failure }
                tensors.append(Tensor(shape: shape, values: values))
            }
            guard let built = layer.weights(tensors), weights.updateValue(built, forKey: layer.layer) == nil else {
                throw ImportError.readerFailed(path: path, object: nil, reason: "the reader sent malformed weights for \(QuotedName.quoted(layer.layer))")
            }
        }
        return Model(network: description.network, weights: weights, source: description.source)
    }

    /// The child's side: limits itself, reads the model at `path` and sends it on descriptor 3,
    /// then exits. Runs only in the process `load` started.
    public static func serveChild(path: String, options: ImportOptions, memoryBytes: Int, cpuSeconds: Int) -> Never {
        // Die with the parent, even when it is killed outright.
        guard fcn_die_with_parent() == 0, getppid() != 1,
              fcn_limit_resources(UInt64(memoryBytes), UInt64(max(cpuSeconds, 1))) == 0 else { exit(2) }

        let channel = ChannelWriter(descriptor: channelDescriptor)
        HDF5ReadProgress.observe { object in try? channel.send(.progress, Data(object.utf8)) }
        do {
            let model = try ModelImporter.load(path: path, options: options)
            HDF5ReadProgress.observe(nil)
            let (description, tensors) = TransferredModel.describing(model)
            try channel.send(.model, try JSONEncoder().encode(description))
            for tensor in tensors {
                try tensor.values.withUnsafeBytes { bytes throws in try channel.write(bytes) }
            }
            exit(0)
        } catch let error as ImportError {
            try? channel.send(.failure, (try? JSONEncoder().encode(ReaderFailure(error))) ?? Data())
            exit(1)
        } catch {
            exit(3)
        }
    }
}

/// How the child ended, for the message.
struct ChildEnding {
    let status: Int32

    func description(memoryLimit: Int) -> String {
        // WIFSIGNALED / WTERMSIG, which Swift does not import.
        let signal = status & 0x7F
        if signal != 0 && signal != 0x7F {
            let name = String(cString: strsignal(signal))
            if signal == SIGXCPU || signal == SIGKILL {
                return "it was stopped at its CPU time limit (FCN_READER_CPU_SECONDS), or killed"
            }
            return "the reader process was killed by signal \(signal), \(name); it may have run out of its "
                + "\(memoryLimit >> 20) MiB memory limit (FCN_READER_MAX_MEMORY)"
        }
        return "the reader process exited with status \((status >> 8) & 0xFF) before sending the model"
    }
}

/// Why the child could not be started: an `errno` value.
struct SpawnFailure: Error {
    let errno: Int32
}

/// A started child with the read end of its channel; reaped by `finish` or `kill`.
final class ChildProcess {
    let pid: pid_t
    let channel: Int32
    private var reaped = false

    /// Starts `arguments[0]` with `arguments`, its descriptor 3 the write end of a new pipe,
    /// stdin, stdout and stderr on /dev/null (libhdf5's and the runtime's crash reports must not
    /// reach the user's terminal; the error says what happened).
    ///
    /// The corresponding C functions are `pipe2` and `posix_spawn`.
    init(arguments: [String]) throws(SpawnFailure) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw SpawnFailure(errno: errno) }
        // Neither end may leak into processes other threads start; the child gets a copy as descriptor 3.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, ends[1], IsolatedImporter.channelDescriptor)
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment["LIBC_FATAL_STDERR_"] = "1"
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        close(ends[1])
        guard status == 0 else {
            close(ends[0])
            throw SpawnFailure(errno: status)
        }
        self.pid = pid
        channel = ends[0]
    }

    deinit {
        if !reaped { kill() }
        close(channel)
    }

    /// Waits for the child to exit and returns how it ended.
    @discardableResult
    func finish() -> ChildEnding {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        return ChildEnding(status: status)
    }

    /// Ends the child at once and reaps it.
    func kill() {
        _ = Glibc.kill(pid, SIGKILL)
        finish()
    }
}
