import ArgumentParser
import FCNImport
import FCNIsolation
import FCNModel
import Foundation

/// The options every subcommand that reads a model shares.
struct ModelArguments: ParsableArguments {
    @Argument(help: "The model: a Keras .h5 / .weights.h5, a Caffe .caffemodel.h5, or an architecture file (.json, .yaml, .prototxt).")
    var model: String

    @Option(name: .customLong("arch"), help: "The architecture for a weights-only file: Keras .json/.yaml, a full-model .h5, or a Caffe .prototxt.")
    var architecture: String?

    @Option(help: "Flip convolution kernels stored by Theano (auto: Keras 1 files saved with Theano or th ordering).")
    var flipKernels: KernelFlip = .auto

    @Flag(help: """
        Read the model in this process instead of an isolated reader process (for trusted files; \
        also FCN_TRUSTED_FILES=1). The reader's limits: FCN_READER_TIMEOUT (seconds, default 120), \
        FCN_READER_MAX_MEMORY (MiB, default 8192), FCN_READER_CPU_SECONDS (default 30).
        """)
    var trustedFile = false

    /// Imports the model the options name.
    func load() throws -> Model {
        try Self.load(path: model, options: ImportOptions(architecturePath: architecture, kernelFlip: flipKernels), trusted: trustedFile)
    }

    /// Imports the model at `path`: in an isolated reader process unless `trusted` or
    /// `FCN_TRUSTED_FILES=1`.
    static func load(path: String, options: ImportOptions = ImportOptions(), trusted: Bool) throws -> Model {
        if trusted || ProcessInfo.processInfo.environment["FCN_TRUSTED_FILES"] == "1" {
            return try ModelImporter.load(path: path, options: options)
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return try IsolatedImporter.load(path: path, options: options, executable: executable)
    }
}

/// `fcn _read-model`: the isolated reader `IsolatedImporter.load` starts; not for people.
struct ReadModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: IsolatedImporter.childCommand, shouldDisplay: false)

    @Argument var model: String
    @Option(name: .customLong("arch")) var architecture: String?
    @Option var flipKernels: KernelFlip = .auto
    @Option var maxMemory: Int
    @Option var cpuSeconds: Int

    func run() throws {
        IsolatedImporter.serveChild(path: model, options: ImportOptions(architecturePath: architecture, kernelFlip: flipKernels),
                                    memoryBytes: maxMemory, cpuSeconds: cpuSeconds)
    }
}

extension KernelFlip: ExpressibleByArgument {}

extension Size2D: ExpressibleByArgument {
    /// Parses `HxW` (also `H×W`, `H,W`) or a single number for a square, up to 2²⁰ a side.
    public init?(argument: String) {
        guard let size = Size2D(text: argument), size.height <= 1 << 20, size.width <= 1 << 20 else { return nil }
        self = size
    }
}
