import ArgumentParser
import FCNDensity
import FCNRuntime
import FCNGeometry
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
            a one-channel model also takes (H, W). With --density F the model must be a converted FCN \
            (fcn convert); the output is its dense grid (docs/density.md).

            Examples:
              fcn run digits-fcn.h5 scene.npy -o grid.npy
              fcn run digits-fcn.h5 scene.npy -o dense.npy --density 2
            """)

    @OptionGroup var modelArguments: ModelArguments

    @Argument(help: "The input tensor (.npy: float32 as is; float16/64, integers and bool converted, with a note on stderr).")
    var input: String

    @Option(name: .shortAndLong, help: "Where to write the output tensor (.npy; written to a temporary name, then renamed).")
    var output: String

    @Flag(help: "Replace the output file if it exists (by default run refuses).")
    var overwrite = false

    @OptionGroup var runtime: RuntimeArguments
    @OptionGroup var densityArguments: DensityArguments

    func run() throws {
        try OutputPathError.check(output, overwrite: overwrite)
        let model = try modelArguments.load()
        let tensor: Tensor
        do {
            tensor = try NumPyFile.read(path: input, maximumBytes: runtime.memoryBudget, noting: Note.print)
        } catch .tooLarge(let path, let bytes, let limit) {
            throw RunInputTooLarge(path: path, bytes: bytes, limit: limit)
        }
        let result: Tensor
        if let density = densityArguments.density {
            let dense = try runtime.denseExecutor(for: model, density: density)
            result = try dense.run(tensor)
        } else {
            result = try runtime.executor(for: model).run(tensor, noting: { Note.print("\(input): \($0)") })
        }
        try NumPyFile.write(result, to: output)
    }
}

/// `--threads`, `--max-memory` and `--max-isa`, shared by the commands that run networks.
struct RuntimeArguments: ParsableArguments {
    @Option(help: "Threads for the runtime (default: all cores).")
    var threads: Int?

    @Option(help: "The highest instruction set the kernels may use: avx512, avx2 or baseline (default: what the CPU has, capped by FCN_MAX_ISA).")
    var maxIsa: InstructionSet?

    @Option(help: "Most memory (MiB) the runtime's buffers may take; larger inputs are computed in row bands that give the same result.")
    var maxMemory = 768

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256.")
        }
        guard maxMemory >= 1 else { throw ValidationError("--max-memory must be at least 1 (MiB).") }
    }

    /// The memory budget in bytes.
    var memoryBudget: Int { maxMemory << 20 }

    /// A dense executor for `model`, a converted FCN, with these settings.
    func denseExecutor(for model: Model, density: Density) throws -> DenseExecutor {
        let executor = try DenseExecutor(model: model, density: density, threads: threads, maxISA: maxIsa)
        executor.memoryBudget = memoryBudget
        return executor
    }

    /// An executor for `model` with these settings.
    func executor(for model: Model) throws -> Executor {
        let executor = try Executor(model: model, threads: threads, maxISA: maxIsa)
        executor.memoryBudget = memoryBudget
        return executor
    }
}

extension InstructionSet: ExpressibleByArgument {}

/// An input array larger than `--max-memory`, refused before it is read.
struct RunInputTooLarge: Error, CustomStringConvertible {
    let path: String
    let bytes: Int
    let limit: Int
    var description: String {
        "\(path): the array takes \(bytes >> 20) MiB as float32, more than --max-memory \(limit >> 20) MiB; raise --max-memory or give a smaller array"
    }
}
