import ArgumentParser
import FCNRuntime
import FCNTensorIO

/// `fcn run`: a model as stored, on a tensor from a `.npy` file.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model as stored on an input .npy and write its output .npy.",
        discussion: """
            A classifier on its own input size gives its class scores; a converted FCN on a larger \
            input gives the score grid. Inputs are float32 in the model's own layout: (H, W, C) or \
            (N, H, W, C) for channels_last models, (C, H, W) or (N, C, H, W) for channels_first and Caffe.
            """)

    @OptionGroup var modelArguments: ModelArguments

    @Argument(help: "The input tensor (.npy, little-endian float32, C order).")
    var input: String

    @Option(name: .shortAndLong, help: "Where to write the output tensor (.npy).")
    var output: String

    @OptionGroup var threading: ThreadingArguments

    func run() throws {
        let model = try modelArguments.load()
        let executor = try Executor(model: model, threads: threading.threads)
        let result = try executor.run(try NumPyFile.read(path: input))
        try NumPyFile.write(result, to: output)
    }
}

/// `--threads`, shared by the commands that run networks.
struct ThreadingArguments: ParsableArguments {
    @Option(help: "Threads for the runtime (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256.")
        }
    }
}
