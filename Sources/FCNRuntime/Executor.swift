import COpenBLAS
import FCNModel
import Foundation

/// Runs a network with its weights on the CPU, on any input size its windows allow.
///
/// Activations are kept in HWC order (channels fastest), so a Keras kernel (kh, kw, in, out)
/// is already the right-hand matrix of the convolution's GEMM and channels_last Flatten needs
/// no reordering. Inputs and outputs are converted from and to the model's own data format.
/// Buffers are sized once per input size and reused across runs of that size.
public final class Executor {
    public let network: Network
    /// The threads the kernels split their work among.
    public let threads: Int
    /// The instruction-set level whose kernels the executor runs (see `init`'s `maxISA`).
    public var instructionSet: InstructionSet { platform.instructionSet }
    private let platform: Platform
    private let layers: [PreparedLayer]
    private var plan: ExecutionPlan?
    private var workspace: Workspace?

    /// The most memory, in bytes, the buffers of one run may take; a larger input is computed in
    /// tiles whose stitched result equals the untiled run. nil: no limit.
    public var memoryBudget: Int?

    /// When true, each run adds every layer's wall time, in milliseconds, to `layerMilliseconds`.
    public var isProfiling = false {
        didSet { layerMilliseconds = Array(repeating: 0, count: layers.count) }
    }
    /// Accumulated time per layer while `isProfiling`, in the network's layer order.
    public private(set) var layerMilliseconds: [Double] = []

    /// The kernel each layer runs on and its instruction set, in the network's layer order, e.g.
    /// "winograd F(4x4,3x3) avx512", "direct avx2", "gemm-packed avx512", "im2col+gemm openblas"
    /// (chosen per layer when the executor is built).
    public var layerPaths: [String] { layers.map(\.path) }

    /// Prepares `model` to run, with `threads` OpenBLAS threads (default: all cores).
    ///
    /// - Parameters:
    ///   - fastConvolutions: use Winograd's minimal filtering for 3×3, 4×4 and 5×5 stride-1
    ///     convolutions, the direct kernel for small patches and the packed GEMM for large weights
    ///     (default); false keeps every convolution on the im2col + GEMM path and dense layers on GEMV.
    ///   - maxISA: the highest instruction-set level to run (nil: what the CPU has). The
    ///     environment variable `FCN_MAX_ISA` caps it too; the lower of the two wins.
    /// - Throws: `ExecutionError` when the model has no weights or they contain NaN, or when
    ///   `FCN_MAX_ISA` names no level.
    public init(model: Model, threads: Int? = nil, fastConvolutions: Bool = true, maxISA: InstructionSet? = nil) throws(ExecutionError) {
        guard let weights = model.weights else { throw .noWeights }
        network = model.network
        platform = try Platform(cap: maxISA)
        var layers: [PreparedLayer] = []
        for layer in model.network.layers {
            layers.append(try PreparedLayer(layer, weights: weights[layer.name], fastConvolutions: fastConvolutions, platform: platform))
        }
        self.layers = layers
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        // The kernels share work among `threads` workers themselves; OpenBLAS runs on each
        // worker's thread alone, so the two never compete for cores.
        openblas_set_num_threads(1)
    }

    /// Floating-point operations of one run on an input of `size`.
    public func flops(inputSize size: Size2D) throws(ExecutionError) -> Double {
        try plan(for: network.inputShape(resizedTo: size)).flops
    }

    /// Floating-point operations of each layer on an input of `size`.
    public func layerFlops(inputSize size: Size2D) throws(ExecutionError) -> [Double] {
        try plan(for: network.inputShape(resizedTo: size)).layerFlops
    }

    /// The output shape for an input of `size`.
    public func outputShape(inputSize size: Size2D) throws(ExecutionError) -> ActivationShape {
        try plan(for: network.inputShape(resizedTo: size)).steps.last?.output ?? network.inputShape(resizedTo: size)
    }

    /// Runs the network on `input`, laid out as the source framework takes it (see `TensorLayout`),
    /// with or without a batch axis; the output has a batch axis exactly when the input has.
    public func run(_ input: Tensor) throws(ExecutionError) -> Tensor {
        let layout = try TensorLayout(inputShape: input.shape, network: network)
        if let index = input.values.firstIndex(where: { !$0.isFinite }) { throw .nonFiniteInput(index: index) }
        let plan = try plan(for: network.inputShape(resizedTo: layout.size))
        let output = plan.steps.last?.output ?? plan.input
        var values: [Float] = []
        values.reserveCapacity(layout.batch * output.elementCount)
        let sampleCount = plan.input.elementCount
        for sample in 0..<layout.batch {
            let range = (sample * sampleCount)..<((sample + 1) * sampleCount)
            values += input.values[range].withUnsafeBufferPointer { sample in
                runSample(sample.baseAddress!, plan: plan, channelsFirst: network.dataFormat == .channelsFirst)
            }
        }
        return Tensor(shape: layout.outputShape(output, format: network.dataFormat), values: values)
    }

    /// Runs one sample and returns its output in the model's data format.
    private func runSample(_ input: UnsafePointer<Float>, plan: ExecutionPlan, channelsFirst: Bool) -> [Float] {
        let inputSize = plan.input.mapSize
        let output = plan.steps.last?.output ?? plan.input
        let size = output.mapSize
        // The sample in the runtime's HWC layout, written where the run starts from.
        func copyInput(into target: UnsafeMutablePointer<Float>) {
            if channelsFirst {
                LayoutKernel.transpose(input, rows: inputSize.channels, columns: inputSize.height * inputSize.width, into: target)
            } else {
                target.update(from: input, count: inputSize.count)
            }
        }
        var result = [Float](repeating: 0, count: size.count)
        result.withUnsafeMutableBufferPointer { result in
            if let budget = memoryBudget, plan.workspaceBytes > budget, ExecutionPlan.isTileable(network) {
                var image = [Float](repeating: 0, count: inputSize.count)
                image.withUnsafeMutableBufferPointer { image in
                    copyInput(into: image.baseAddress!)
                    runTiles(image: image.baseAddress!, plan: plan, budget: budget, into: result.baseAddress!)
                }
            } else {
                let workspace = workspace(for: plan)
                copyInput(into: workspace.first)
                result.baseAddress!.update(from: runSteps(of: plan, in: workspace), count: size.count)
            }
            if channelsFirst, case .featureMap = output {
                let hwc = Array(result)
                hwc.withUnsafeBufferPointer { hwc in
                    LayoutKernel.transpose(hwc.baseAddress!, rows: size.height * size.width, columns: size.channels, into: result.baseAddress!)
                }
            }
        }
        return result
    }

    /// Runs `plan` on what `workspace.first` holds; returns the buffer holding the result (HWC).
    private func runSteps(of plan: ExecutionPlan, in workspace: Workspace) -> UnsafeMutablePointer<Float> {
        var current = workspace.first
        var spare = workspace.second
        for (index, (layer, step)) in zip(layers, plan.steps).enumerated() {
            let start = isProfiling ? DispatchTime.now().uptimeNanoseconds : 0
            if execute(layer, step: step, of: plan, input: current, output: spare, workspace: workspace) {
                swap(&current, &spare)
            }
            if isProfiling { layerMilliseconds[index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
        }
        return current
    }

    /// Computes the output of `plan` tile by tile, each within `budget`, into `output` (HWC).
    private func runTiles(image: UnsafePointer<Float>, plan: ExecutionPlan, budget: Int, into output: UnsafeMutablePointer<Float>) {
        let layout = TileLayout(plan: plan, network: network, budget: budget)
        let full = plan.input.mapSize
        let channels = (plan.steps.last?.output ?? plan.input).channels
        var tileWorkspace: Workspace?
        for (rows, columns) in layout.tiles {
            let (tile, inputRows, inputColumns) = plan.tile(network: network, rows: rows, columns: columns)
            if tileWorkspace.map({ $0.activationCount < tile.activationCount || $0.scratchCount < tile.scratchCount }) ?? true {
                tileWorkspace = Workspace(activationCount: tile.activationCount, scratchCount: tile.scratchCount)
            }
            let workspace = tileWorkspace!
            for (offset, y) in inputRows.enumerated() {
                (workspace.first + offset * inputColumns.count * full.channels)
                    .update(from: image + (y * full.width + inputColumns.lowerBound) * full.channels, count: inputColumns.count * full.channels)
            }
            let result = runSteps(of: tile, in: workspace)
            for (offset, y) in rows.enumerated() {
                (output + (y * layout.grid.width + columns.lowerBound) * channels)
                    .update(from: result + offset * columns.count * channels, count: columns.count * channels)
            }
        }
    }

    /// Runs one layer; returns true when the result is in `output`, false when it was computed in place.
    private func execute(_ layer: PreparedLayer, step: ExecutionPlan.Step, of plan: ExecutionPlan, input: UnsafeMutablePointer<Float>,
                         output: UnsafeMutablePointer<Float>, workspace: Workspace) -> Bool {
        let inputSize = step.input.mapSize
        let outputSize = step.output.mapSize
        switch layer {
        case .convolution(let convolution, let weights, let bias):
            ConvolutionKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                                  output: output, outputSize: outputSize, padding: step.padding,
                                  scratch: workspace.scratch, scratchPerWorker: plan.scratchPerWorker, workers: plan.workers)
        case .direct(let convolution, let filters, let bias):
            DirectConvolutionKernel.run(convolution, filters: filters, bias: bias, input: input, inputSize: inputSize,
                                        output: output, outputSize: outputSize, padding: step.padding, workers: plan.workers)
        case .winograd(let convolution, let weights, let bias):
            WinogradKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                               output: output, outputSize: outputSize, padding: step.padding,
                               scratch: workspace.scratch, scratchCount: plan.scratchCount, workers: plan.workers)
        case .packedConvolution(let convolution, let weights, let bias):
            PackedGemmKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                                 output: output, outputSize: outputSize, padding: step.padding,
                                 scratch: workspace.scratch, scratchCount: plan.scratchCount, workers: plan.workers)
        case .dense(let dense, let weights, let bias):
            weights.withUnsafeBufferPointer { weights in
                ConvolutionKernel.multiplyOneRow(depth: inputSize.count, filters: dense.units, patches: input,
                                                 weights: weights.baseAddress!, output: output, workers: plan.workers)
            }
            Epilogue.apply(bias: bias, activation: dense.activation, to: output, positions: 1, channels: dense.units)
        case .packedDense(let dense, let weights, let bias):
            PackedGemmKernel.multiply(rows: 1, a: input, aStride: weights.depth, weights: weights, output: output, workers: plan.workers)
            Epilogue.apply(bias: bias, activation: dense.activation, to: output, positions: 1, channels: dense.units)
        case .pooling(let pooling):
            PoolingKernel.pool(pooling, input: input, inputSize: inputSize, output: output, outputSize: outputSize,
                               padding: step.padding, workers: plan.workers)
        case .zeroPadding:
            PoolingKernel.zeroPad(step.padding, input: input, inputSize: inputSize, output: output, outputSize: outputSize)
        case .flatten(let order):
            guard order == .channelsHeightWidth, inputSize.channels > 1, inputSize.height * inputSize.width > 1 else { return false }
            LayoutKernel.transpose(input, rows: inputSize.height * inputSize.width, columns: inputSize.channels, into: output)
        case .globalPooling(let kind):
            PoolingKernel.global(kind, input: input, inputSize: inputSize, output: output)
        case .activation(let activation):
            Epilogue.apply(bias: nil, activation: activation, to: input, positions: inputSize.height * inputSize.width,
                           channels: step.input.channels, workers: plan.workers)
            return false
        case .affine(let scale, let shift):
            let channels = inputSize.channels
            for position in 0..<(inputSize.height * inputSize.width) {
                let cell = input + position * channels
                for channel in 0..<channels { cell[channel] = cell[channel] * scale[channel] + shift[channel] }
            }
            return false
        case .identity:
            return false
        }
        return true
    }

    /// Buffers for `plan`, kept from the last run when they are large enough.
    private func workspace(for plan: ExecutionPlan) -> Workspace {
        if let workspace, workspace.activationCount >= plan.activationCount, workspace.scratchCount >= plan.scratchCount {
            return workspace
        }
        let made = Workspace(activationCount: plan.activationCount, scratchCount: plan.scratchCount)
        workspace = made
        return made
    }

    /// The plan for `input`, made on first use of that size.
    private func plan(for input: ActivationShape) throws(ExecutionError) -> ExecutionPlan {
        if let plan, plan.input == input { return plan }
        let made: ExecutionPlan
        let layers = layers
        do {
            made = try ExecutionPlan(network: network, input: input, workers: threads) { index, step, workers in
                layers[index].scratchNeeded(for: step, workers: workers)
            }
        } catch { throw .inputTooSmall(error) }
        plan = made
        return made
    }
}

/// The buffers of one plan: two for activations, used in turn, and one for patch matrices, each
/// on a cache-line boundary (so are the per-worker shares of the scratch: see `ExecutionPlan`).
final class Workspace {
    private let buffers: [AlignedFloats]
    var first: UnsafeMutablePointer<Float> { buffers[0].base }
    var second: UnsafeMutablePointer<Float> { buffers[1].base }
    var scratch: UnsafeMutablePointer<Float> { buffers[2].base }
    var activationCount: Int { buffers[0].count }
    var scratchCount: Int { buffers[2].count }

    init(activationCount: Int, scratchCount: Int) {
        let bytes = ExecutionPlan.cacheLineFloats * MemoryLayout<Float>.size
        buffers = [activationCount, activationCount, scratchCount].map { AlignedFloats(count: $0, alignment: bytes) }
    }
}
