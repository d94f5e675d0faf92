import ArgumentParser
import FCNRuntime
import FCNModel
import FCNTensorIO

/// `fcn run`: a model as stored, on a tensor from a `.npy` file.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model as stored on an input .npy and write its output .npy.",
        discussion: """
            A classifier on its own input size gives its class scores; a converted FCN on a larger \
            input gives the score grid. Inputs are in the model's own layout: (H, W, C) or \
            (N, H, W, C) for channels_last models, (C, H, W) or (N, C, H, W) for channels_first and Caffe; \
            a one-channel model also takes (H, W).

            Examples:
              fcn run digits-fcn.h5 scene.npy -o grid.npy
            """)

    @OptionGroup var modelArguments: ModelArguments

    @Argument(help: "The input tensor (.npy: float32 as is; float16/64, integers and bool converted, with a note on stderr).")
    var input: String

    @Option(name: .shortAndLong, help: "Where to write the output tensor (.npy).")
    var output: String

    @OptionGroup var runtime: RuntimeArguments

    func run() throws {
        let model = try modelArguments.load()
        let executor = try runtime.executor(for: model)
        let result = try executor.run(try NumPyFile.read(path: input, noting: Note.print), noting: { Note.print("\(input): \($0)") })
        try NumPyFile.write(result, to: output)
    }
}

/// `--threads`, `--max-memory` and `--max-isa`, shared by the commands that run networks.
struct RuntimeArguments: ParsableArguments {
    @Option(help: "Threads for the runtime (default: all cores).")
    var threads: Int?

    @Option(help: "The highest instruction set the kernels may use: avx512, avx2 or baseline (default: what the CPU has, capped by FCN_MAX_ISA).")
    var maxIsa: InstructionSet?

    @Option(help: "Most memory (MiB) the runtime's buffers may take; larger inputs are computed in tiles that give the same result.")
    var maxMemory = 768

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256.")
        }
        guard maxMemory >= 1 else { throw ValidationError("--max-memory must be at least 1 (MiB).") }
    }

    /// The memory budget in bytes.
    var memoryBudget: Int { maxMemory << 20 }

    /// An executor for `model` with these settings.
    func executor(for model: Model) throws -> Executor {
        let executor = try Executor(model: model, threads: threads, maxISA: maxIsa)
        executor.memoryBudget = memoryBudget
        return executor
    }
}

extension InstructionSet: ExpressibleByArgument {}
