import ArgumentParser
import FCNImport
import FCNModel

/// The options every subcommand that reads a model shares.
struct ModelArguments: ParsableArguments {
    @Argument(help: "The model: a Keras .h5 / .weights.h5, a Caffe .caffemodel.h5, or an architecture file (.json, .yaml, .prototxt).")
    var model: String

    @Option(name: .customLong("arch"), help: "The architecture for a weights-only file: Keras .json/.yaml, a full-model .h5, or a Caffe .prototxt.")
    var architecture: String?

    @Option(help: "Flip convolution kernels stored by Theano (auto: Keras 1 files saved with Theano or th ordering).")
    var flipKernels: KernelFlip = .auto

    /// Imports the model the options name.
    func load() throws -> Model {
        try ModelImporter.load(path: model, options: ImportOptions(architecturePath: architecture, kernelFlip: flipKernels))
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
