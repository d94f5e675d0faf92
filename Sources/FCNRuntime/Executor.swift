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
        let inputs: [[ActivationShape]]
        do { inputs = try model.network.inputShapes() } catch { throw .inputTooSmall(error) }
        var layers: [PreparedLayer] = []
        for (layer, input) in zip(model.network.layers, inputs) {
            layers.append(try PreparedLayer(layer, weights: weights[layer.name], input: input[0], fastConvolutions: fastConvolutions,
                                            platform: platform))
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
        try plan(for: network.inputShape(resizedTo: size)).output
    }

    /// Runs the network on `input`, laid out as the source framework takes it (see `TensorLayout`),
    /// with or without a batch axis; the output has a batch axis exactly when the input has.
    /// `noting` hears how the input's shape was read when it was not the model's own
    /// (a 2-D array given to a one-channel model).
    public func run(_ input: Tensor, noting: (String) -> Void = { _ in }) throws(ExecutionError) -> Tensor {
        let layout = try TensorLayout(inputShape: input.shape, network: network)
        if layout.addedChannelAxis {
            noting("the input's shape (\(input.shape.map(String.init).joined(separator: ", "))) is read as one channel")
        }
        if let index = input.values.firstIndex(where: { !$0.isFinite }) { throw .nonFiniteInput(index: index) }
        let plan = try checkedPlan(inputSize: layout.size)
        let output = plan.output
        var values: [Float] = []
        values.reserveCapacity(layout.batch * output.elementCount)
        let sampleCount = plan.input.elementCount
        for sample in 0..<layout.batch {
            let range = (sample * sampleCount)..<((sample + 1) * sampleCount)
            values += input.values[range].withUnsafeBufferPointer { sample in
                runSample(sample.baseAddress!, plan: plan, channelsFirst: network.dataFormat == .channelsFirst)
            }
        }
        return Tensor(shape: layout.outputShape(output, format: network.dataFormat, isSequence: network.isSequence), values: values)
    }

    /// Runs the network on one sample already in the runtime's HWC layout (a feature-map input),
    /// and gives its output the same way: (height, width, channels), a vector as a 1×1 map.
    public func run(_ image: MapImage) throws(ExecutionError) -> MapImage {
        guard network.inputShape.isFeatureMap, image.channels == network.inputShape.channels, image.values.count == image.size.height * image.size.width * image.channels
        else {
            throw .inputShape(found: [image.size.height, image.size.width, image.channels],
                              expected: "(H, W, \(network.inputShape.channels)) in HWC order")
        }
        if let index = image.values.firstIndex(where: { !$0.isFinite }) { throw .nonFiniteInput(index: index) }
        let plan = try checkedPlan(inputSize: image.size)
        let values = image.values.withUnsafeBufferPointer { runSample($0.baseAddress!, plan: plan, channelsFirst: false) }
        return MapImage(size: plan.output.spatial, channels: plan.output.channels, values: values)
    }

    /// The plan for an input of `size`, refused when it is over the memory budget and cannot be tiled.
    private func checkedPlan(inputSize size: Size2D) throws(ExecutionError) -> ExecutionPlan {
        let plan = try plan(for: network.inputShape(resizedTo: size))
        if let budget = memoryBudget, plan.workspaceBytes > budget, !ExecutionPlan.isTileable(network) {
            // Tiles need every layer to keep a spatial layout; this network's Flatten, global
            // pooling or resizing see the whole input at once.
            throw .overBudget(needed: plan.workspaceBytes, budget: budget)
        }
        return plan
    }

    /// Whether a run on an input of `size` is split into tiles to stay within `memoryBudget`.
    public func runsInTiles(inputSize size: Size2D) throws(ExecutionError) -> Bool {
        guard let budget = memoryBudget else { return false }
        return try plan(for: network.inputShape(resizedTo: size)).workspaceBytes > budget
    }

    /// Runs one sample and returns its output in the model's data format.
    private func runSample(_ input: UnsafePointer<Float>, plan: ExecutionPlan, channelsFirst: Bool) -> [Float] {
        let inputSize = plan.input.mapSize
        let output = plan.output
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
            if let budget = memoryBudget, plan.workspaceBytes > budget {
                var image = [Float](repeating: 0, count: inputSize.count)
                image.withUnsafeMutableBufferPointer { image in
                    copyInput(into: image.baseAddress!)
                    runTiles(image: image.baseAddress!, plan: plan, budget: budget, into: result.baseAddress!)
                }
            } else {
                let workspace = workspace(for: plan)
                copyInput(into: workspace.buffers[plan.inputBuffer])
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

    /// Runs `plan` on what the input's buffer holds; returns the buffer holding the result (HWC).
    private func runSteps(of plan: ExecutionPlan, in workspace: Workspace) -> UnsafeMutablePointer<Float> {
        var holders = [workspace.buffers[plan.inputBuffer]]
        holders.reserveCapacity(layers.count + 1)
        for (index, (layer, step)) in zip(layers, plan.steps).enumerated() {
            let start = isProfiling ? DispatchTime.now().uptimeNanoseconds : 0
            var cropped = workspace.crops
            let inputs = zip(network.sources[index], step.crops).map { source, crop -> UnsafeMutablePointer<Float> in
                let whole = holders[source.value]
                guard let crop else { return whole }
                let full = plan.size(of: source)
                let target = cropped
                for row in 0..<crop.size.height {
                    (target + row * crop.size.width * crop.size.channels)
                        .update(from: whole + ((crop.top + row) * full.width + crop.left) * full.channels, count: crop.size.width * crop.size.channels)
                }
                cropped += crop.size.count
                return target
            }
            let output = workspace.buffers[plan.outputBuffers[index]]
            execute(layer, step: step, inputs: inputs, output: output,
                    scratch: KernelScratch(base: workspace.scratch, count: plan.scratchCount, perWorker: plan.scratchPerWorker, workers: plan.workers))
            holders.append(output)
            if isProfiling { layerMilliseconds[index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
        }
        return holders.last!
    }

    /// Computes the output of `plan` tile by tile, each within `budget`, into `output` (HWC).
    private func runTiles(image: UnsafePointer<Float>, plan: ExecutionPlan, budget: Int, into output: UnsafeMutablePointer<Float>) {
        let layout = TileLayout(plan: plan, network: network, budget: budget)
        let full = plan.input.mapSize
        let channels = plan.output.channels
        var tileWorkspace: Workspace?
        for (rows, columns) in layout.tiles {
            let (tile, inputRows, inputColumns) = plan.tile(network: network, rows: rows, columns: columns)
            if !(tileWorkspace?.fits(tile) ?? false) { tileWorkspace = Workspace(plan: tile) }
            let workspace = tileWorkspace!
            let input = workspace.buffers[tile.inputBuffer]
            for (offset, y) in inputRows.enumerated() {
                (input + offset * inputColumns.count * full.channels)
                    .update(from: image + (y * full.width + inputColumns.lowerBound) * full.channels, count: inputColumns.count * full.channels)
            }
            let result = runSteps(of: tile, in: workspace)
            for (offset, y) in rows.enumerated() {
                (output + (y * layout.grid.width + columns.lowerBound) * channels)
                    .update(from: result + offset * columns.count * channels, count: columns.count * channels)
            }
        }
    }

    /// Runs one layer from `inputs` into `output`, which may be the first input's buffer for
    /// layers that work in place.
    private func execute(_ layer: PreparedLayer, step: ExecutionPlan.Step, inputs: [UnsafeMutablePointer<Float>],
                         output: UnsafeMutablePointer<Float>, scratch: KernelScratch) {
        let input = inputs[0]
        let inputSize = step.input.mapSize
        let outputSize = step.output.mapSize
        /// For layers that work in place: the input moved to the output's buffer first when they differ.
        func inPlace() -> UnsafeMutablePointer<Float> {
            if input != output { output.update(from: input, count: inputSize.count) }
            return output
        }
        switch layer {
        case .convolution(let convolution, let weights, let bias):
            ConvolutionKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                                  output: output, outputSize: outputSize, padding: step.padding,
                                  scratch: scratch.base, scratchPerWorker: scratch.perWorker, workers: scratch.workers)
        case .direct(let convolution, let filters, let bias):
            DirectConvolutionKernel.run(convolution, filters: filters, bias: bias, input: input, inputSize: inputSize,
                                        output: output, outputSize: outputSize, padding: step.padding, workers: scratch.workers)
        case .winograd(let convolution, let weights, let bias):
            WinogradKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                               output: output, outputSize: outputSize, padding: step.padding,
                               scratch: scratch.base, scratchCount: scratch.count, workers: scratch.workers)
        case .grouped(let convolution, let weights, let bias):
            GroupedConvolutionKernel.run(weights: weights, bias: bias, groups: convolution.groups, kernelSize: convolution.kernelSize,
                                         strides: convolution.strides, dilation: convolution.dilation, activation: convolution.activation,
                                         input: input, inputSize: inputSize, output: output, outputSize: outputSize,
                                         padding: step.padding, workers: scratch.workers)
        case .packedConvolution(let convolution, let weights, let bias):
            PackedGemmKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                                 output: output, outputSize: outputSize, padding: step.padding,
                                 scratch: scratch.base, scratchCount: scratch.count, workers: scratch.workers)
        case .dense(let dense, let weights, let bias):
            let positions = outputSize.height * outputSize.width
            weights.withUnsafeBufferPointer { weights in
                if positions == 1 {
                    ConvolutionKernel.multiplyOneRow(depth: inputSize.count, filters: dense.units, patches: input,
                                                     weights: weights.baseAddress!, output: output, workers: scratch.workers)
                } else {
                    ConvolutionKernel.multiplyShared(rows: positions, depth: inputSize.channels, filters: dense.units, patches: input,
                                                     weights: weights.baseAddress!, output: output, workers: scratch.workers)
                }
            }
            Epilogue.apply(bias: bias, activation: dense.activation, to: output, positions: positions, channels: dense.units)
        case .packedDense(let dense, let weights, let bias):
            let positions = outputSize.height * outputSize.width
            PackedGemmKernel.multiply(rows: positions, a: input, aStride: weights.depth, weights: weights, output: output, workers: scratch.workers)
            Epilogue.apply(bias: bias, activation: dense.activation, to: output, positions: positions, channels: dense.units)
        case .pooling(let pooling):
            PoolingKernel.pool(pooling, input: input, inputSize: inputSize, output: output, outputSize: outputSize,
                               padding: step.padding, workers: scratch.workers)
        case .zeroPadding:
            PoolingKernel.zeroPad(step.padding, input: input, inputSize: inputSize, output: output, outputSize: outputSize)
        case .flatten(let order):
            if order == .channelsHeightWidth, inputSize.channels > 1, inputSize.height * inputSize.width > 1 {
                LayoutKernel.transpose(input, rows: inputSize.height * inputSize.width, columns: inputSize.channels, into: output)
            } else {
                _ = inPlace()
            }
        case .globalPooling(let kind):
            PoolingKernel.global(kind, input: input, inputSize: inputSize, output: output)
        case .activation(let activation):
            Epilogue.apply(bias: nil, activation: activation, to: inPlace(), positions: inputSize.height * inputSize.width,
                           channels: step.input.channels, workers: scratch.workers)
        case .affine(let scale, let shift):
            NormalizationKernel.affine(input: input, output: output, positions: inputSize.height * inputSize.width,
                                       channels: inputSize.channels, scale: scale, shift: shift, workers: scratch.workers)
        case .layerNormalization(let gamma, let beta, let epsilon):
            NormalizationKernel.layerNormalization(input: input, output: output, positions: inputSize.height * inputSize.width,
                                                   channels: inputSize.channels, gamma: gamma, beta: beta, epsilon: epsilon,
                                                   workers: scratch.workers)
        case .parametricReLU(let slopes):
            ExtendedActivation.prelu(inPlace(), positions: inputSize.height * inputSize.width, channels: inputSize.channels,
                                     alpha: slopes, workers: scratch.workers)
        case .localResponseNormalization(let normalization):
            NormalizationKernel.localResponseNormalization(input: input, output: output, positions: inputSize.height * inputSize.width,
                                                           channels: inputSize.channels, size: normalization.size, alpha: normalization.alpha,
                                                           beta: normalization.beta, k: normalization.k, workers: scratch.workers)
        case .resize(let resize):
            ResizeKernel.resize(resize.interpolation, cropToAspectRatio: resize.cropToAspectRatio, input: input, inputSize: inputSize,
                                output: output, outputSize: outputSize, workers: scratch.workers)
        case .merge(let kind):
            MergeKernel.merge(kind, inputs: inputs.map { UnsafePointer($0) }, inputSizes: step.inputs.map(\.mapSize), output: output,
                              outputSize: outputSize, workers: scratch.workers)
        case .concatenate:
            MergeKernel.concatenate(inputs: inputs.map { UnsafePointer($0) }, inputSizes: step.inputs.map(\.mapSize), output: output,
                                    outputSize: outputSize, workers: scratch.workers)
        case .identity:
            _ = inPlace()
        case .phased(let convolution, let weights, let bias, let inner):
            let phases = PhasedConvolution(dilation: convolution.dilation, kernel: convolution.kernelSize, input: inputSize,
                                           output: outputSize, padding: step.padding)
            guard let phases else {
                // A phase that would read padding only: the general path takes the dilation itself.
                execute(.convolution(convolution, weights: weights, bias: bias), step: step, inputs: inputs, output: output, scratch: scratch)
                return
            }
            let gathered = scratch.base
            let computed = gathered + phases.inputFloats
            let innerScratch = KernelScratch(base: computed + phases.outputFloats, count: scratch.count - phases.inputFloats - phases.outputFloats,
                                             perWorker: scratch.perWorker, workers: scratch.workers)
            for phase in phases.phases {
                phases.gather(phase, from: input, into: gathered)
                execute(inner, step: phases.step(of: phase), inputs: [gathered], output: computed, scratch: innerScratch)
                phases.scatter(phase, from: computed, into: output)
            }
        }
    }

    /// Buffers for `plan`, kept from the last run when they are large enough.
    private func workspace(for plan: ExecutionPlan) -> Workspace {
        if let workspace, workspace.fits(plan) { return workspace }
        let made = Workspace(plan: plan)
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

/// The scratch a kernel may use, and the threads it shares its work among.
struct KernelScratch {
    let base: UnsafeMutablePointer<Float>
    /// Floats from `base`.
    let count: Int
    /// Each worker's share for per-worker patch bands (`ExecutionPlan.scratchPerWorker`).
    let perWorker: Int
    let workers: Int
}

/// The buffers of one plan: one per value the plan keeps alive at once, a crop area and scratch
/// for patch matrices and Winograd tiles, each on a cache-line boundary (so are the per-worker
/// shares of the scratch: see `ExecutionPlan`).
final class Workspace {
    private let storage: [AlignedFloats]
    private let crop: AlignedFloats
    private let scratchStorage: AlignedFloats
    let buffers: [UnsafeMutablePointer<Float>]
    var crops: UnsafeMutablePointer<Float> { crop.base }
    var scratch: UnsafeMutablePointer<Float> { scratchStorage.base }

    init(plan: ExecutionPlan) {
        let bytes = ExecutionPlan.cacheLineFloats * MemoryLayout<Float>.size
        storage = plan.bufferCounts.map { AlignedFloats(count: $0, alignment: bytes) }
        buffers = storage.map(\.base)
        crop = AlignedFloats(count: plan.cropCount, alignment: bytes)
        scratchStorage = AlignedFloats(count: plan.scratchCount, alignment: bytes)
    }

    /// Whether these buffers can hold `plan`'s.
    func fits(_ plan: ExecutionPlan) -> Bool {
        storage.count == plan.bufferCounts.count && zip(storage, plan.bufferCounts).allSatisfy { $0.count >= $1 }
            && crop.count >= plan.cropCount && scratchStorage.count >= plan.scratchCount
    }
}
