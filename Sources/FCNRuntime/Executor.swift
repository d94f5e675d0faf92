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
    /// the bands of a streaming run (`runStreaming`), whose grid equals the whole run's. nil: no limit.
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
    public func run(_ input: Tensor) throws(ExecutionError) -> Tensor {
        let layout = try TensorLayout(inputShape: input.shape, network: network)
        if let index = input.values.firstIndex(where: { !$0.isFinite }) { throw .nonFiniteInput(index: index) }
        let plan = try plan(for: network.inputShape(resizedTo: layout.size))
        let banded = memoryBudget.map { plan.workspaceBytes > $0 } ?? false
        if banded, let budget = memoryBudget, !ExecutionPlan.isTileable(network) {
            // Bands need every layer to keep a spatial layout; this network's Flatten, global
            // pooling or resizing see the whole input at once.
            throw .overBudget(needed: plan.workspaceBytes, budget: budget)
        }
        let output = plan.output
        var values: [Float] = []
        values.reserveCapacity(layout.batch * output.elementCount)
        let sampleCount = plan.input.elementCount
        for sample in 0..<layout.batch {
            let range = (sample * sampleCount)..<((sample + 1) * sampleCount)
            values += try input.values[range].withUnsafeBufferPointer { sample throws(ExecutionError) in
                try runSample(sample.baseAddress!, plan: plan, channelsFirst: network.dataFormat == .channelsFirst,
                              bandsWithin: banded ? memoryBudget : nil)
            }
        }
        return Tensor(shape: layout.outputShape(output, format: network.dataFormat, isSequence: network.isSequence), values: values)
    }

    /// Runs one sample and returns its output in the model's data format: whole, or in the bands
    /// of a streaming run within `budget` bytes (through an in-memory source and sink).
    private func runSample(_ input: UnsafePointer<Float>, plan: ExecutionPlan, channelsFirst: Bool, bandsWithin budget: Int?) throws(ExecutionError)
        -> [Float] {
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
        var result: [Float]
        if let budget {
            var image = [Float](repeating: 0, count: inputSize.count)
            image.withUnsafeMutableBufferPointer { copyInput(into: $0.baseAddress!) }
            let source = MapImageSource(MapImage(size: Size2D(height: inputSize.height, width: inputSize.width), channels: inputSize.channels,
                                                 values: image))
            let sink = MapImageSink(size: Size2D(height: size.height, width: size.width), channels: size.channels)
            do {
                let layout = try BandLayout.fitting(plan: plan, network: network, budget: budget)
                _ = try runBands(layout, plan: plan, source: source, sink: sink, progress: { _ in }, shouldStop: { false })
            } catch let error as ExecutionError {
                throw error
            } catch {
                preconditionFailure("an in-memory image and grid do not throw, yet: \(error)")
            }
            result = sink.values
        } else {
            let workspace = workspace(for: plan)
            copyInput(into: workspace.buffers[plan.inputBuffer])
            result = Array(UnsafeBufferPointer(start: runSteps(of: plan, in: workspace), count: size.count))
        }
        if channelsFirst, case .featureMap = output {
            let hwc = result
            hwc.withUnsafeBufferPointer { hwc in
                result.withUnsafeMutableBufferPointer { result in
                    LayoutKernel.transpose(hwc.baseAddress!, rows: size.height * size.width, columns: size.channels, into: result.baseAddress!)
                }
            }
        }
        return result
    }

    /// Runs `plan` on what the input's buffer holds; returns the buffer holding the result (HWC).
    func runSteps(of plan: ExecutionPlan, in workspace: Workspace) -> UnsafeMutablePointer<Float> {
        let context = KernelContext(plan: plan, workspace: workspace)
        var holders = [workspace.buffers[plan.inputBuffer]]
        holders.reserveCapacity(layers.count + 1)
        for (index, step) in plan.steps.enumerated() {
            let output = workspace.buffers[plan.outputBuffers[index]]
            execute(layer: index, step: step, inputs: network.sources[index].map { holders[$0.value] }, output: output, context: context)
            holders.append(output)
        }
        return holders.last!
    }

    /// Runs layer `index` from `inputs` into `output`, which may be the first input's buffer for
    /// layers that work in place, and adds its time to the profile.
    func execute(layer index: Int, step: ExecutionPlan.Step, inputs: [UnsafeMutablePointer<Float>], output: UnsafeMutablePointer<Float>,
                 context: KernelContext) {
        let start = isProfiling ? DispatchTime.now().uptimeNanoseconds : 0
        execute(layers[index], step: step, inputs: inputs, output: output, context: context)
        if isProfiling { layerMilliseconds[index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
    }

    private func execute(_ layer: PreparedLayer, step: ExecutionPlan.Step, inputs: [UnsafeMutablePointer<Float>],
                         output: UnsafeMutablePointer<Float>, context plan: KernelContext) {
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
                                  scratch: plan.scratch, scratchPerWorker: plan.scratchPerWorker, workers: plan.workers)
        case .direct(let convolution, let filters, let bias):
            DirectConvolutionKernel.run(convolution, filters: filters, bias: bias, input: input, inputSize: inputSize,
                                        output: output, outputSize: outputSize, padding: step.padding, workers: plan.workers)
        case .winograd(let convolution, let weights, let bias):
            WinogradKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                               output: output, outputSize: outputSize, padding: step.padding,
                               scratch: plan.scratch, scratchCount: plan.scratchCount, workers: plan.workers)
        case .grouped(let convolution, let weights, let bias):
            GroupedConvolutionKernel.run(weights: weights, bias: bias, groups: convolution.groups, kernelSize: convolution.kernelSize,
                                         strides: convolution.strides, dilation: convolution.dilation, activation: convolution.activation,
                                         input: input, inputSize: inputSize, output: output, outputSize: outputSize,
                                         padding: step.padding, workers: plan.workers)
        case .packedConvolution(let convolution, let weights, let bias):
            PackedGemmKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                                 output: output, outputSize: outputSize, padding: step.padding,
                                 scratch: plan.scratch, scratchCount: plan.scratchCount, workers: plan.workers)
        case .dense(let dense, let weights, let bias):
            let positions = outputSize.height * outputSize.width
            weights.withUnsafeBufferPointer { weights in
                if positions == 1 {
                    ConvolutionKernel.multiplyOneRow(depth: inputSize.count, filters: dense.units, patches: input,
                                                     weights: weights.baseAddress!, output: output, workers: plan.workers)
                } else {
                    ConvolutionKernel.multiplyShared(rows: positions, depth: inputSize.channels, filters: dense.units, patches: input,
                                                     weights: weights.baseAddress!, output: output, workers: plan.workers)
                }
            }
            Epilogue.apply(bias: bias, activation: dense.activation, to: output, positions: positions, channels: dense.units)
        case .packedDense(let dense, let weights, let bias):
            let positions = outputSize.height * outputSize.width
            PackedGemmKernel.multiply(rows: positions, a: input, aStride: weights.depth, weights: weights, output: output, workers: plan.workers)
            Epilogue.apply(bias: bias, activation: dense.activation, to: output, positions: positions, channels: dense.units)
        case .pooling(let pooling):
            PoolingKernel.pool(pooling, input: input, inputSize: inputSize, output: output, outputSize: outputSize,
                               padding: step.padding, workers: plan.workers)
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
                           channels: step.input.channels, workers: plan.workers)
        case .affine(let scale, let shift):
            NormalizationKernel.affine(input: input, output: output, positions: inputSize.height * inputSize.width,
                                       channels: inputSize.channels, scale: scale, shift: shift, workers: plan.workers)
        case .layerNormalization(let gamma, let beta, let epsilon):
            NormalizationKernel.layerNormalization(input: input, output: output, positions: inputSize.height * inputSize.width,
                                                   channels: inputSize.channels, gamma: gamma, beta: beta, epsilon: epsilon,
                                                   workers: plan.workers)
        case .parametricReLU(let slopes):
            ExtendedActivation.prelu(inPlace(), positions: inputSize.height * inputSize.width, channels: inputSize.channels,
                                     alpha: slopes, workers: plan.workers)
        case .localResponseNormalization(let normalization):
            NormalizationKernel.localResponseNormalization(input: input, output: output, positions: inputSize.height * inputSize.width,
                                                           channels: inputSize.channels, size: normalization.size, alpha: normalization.alpha,
                                                           beta: normalization.beta, k: normalization.k, workers: plan.workers)
        case .resize(let resize):
            ResizeKernel.resize(resize.interpolation, cropToAspectRatio: resize.cropToAspectRatio, input: input, inputSize: inputSize,
                                output: output, outputSize: outputSize, workers: plan.workers)
        case .merge(let kind):
            MergeKernel.merge(kind, inputs: inputs.map { UnsafePointer($0) }, inputSizes: step.inputs.map(\.mapSize), output: output,
                              outputSize: outputSize, workers: plan.workers)
        case .concatenate:
            MergeKernel.concatenate(inputs: inputs.map { UnsafePointer($0) }, inputSizes: step.inputs.map(\.mapSize), output: output,
                                    outputSize: outputSize, workers: plan.workers)
        case .identity:
            _ = inPlace()
        }
    }

    /// Buffers for `plan`, kept from the last run when they are large enough.
    func workspace(for plan: ExecutionPlan) -> Workspace {
        if let workspace, workspace.fits(plan) { return workspace }
        let made = Workspace(bufferCounts: plan.bufferCounts, scratchCount: plan.scratchCount)
        workspace = made
        return made
    }

    /// The plan for `input`, made on first use of that size.
    func plan(for input: ActivationShape) throws(ExecutionError) -> ExecutionPlan {
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

/// What a layer's kernel may use besides its input and output: the scratch, each worker's share
/// of it, and the threads it splits its work among.
struct KernelContext {
    let scratch: UnsafeMutablePointer<Float>
    let scratchCount: Int
    let scratchPerWorker: Int
    let workers: Int

    init(plan: ExecutionPlan, workspace: Workspace) {
        (scratch, scratchCount, scratchPerWorker, workers) = (workspace.scratch, plan.scratchCount, plan.scratchPerWorker, plan.workers)
    }

    init(layout: BandLayout, workspace: Workspace, workers: Int) {
        (scratch, scratchCount, scratchPerWorker, self.workers) = (workspace.scratch, layout.scratchCount, layout.scratchPerWorker, workers)
    }
}

/// The buffers of one plan or band layout: one per value kept alive at once, a crop area and
/// scratch for patch matrices and Winograd tiles, each on a cache-line boundary (so are the
/// per-worker shares of the scratch: see `ExecutionPlan`).
final class Workspace {
    private let storage: [AlignedFloats]
    private let crop: AlignedFloats
    private let scratchStorage: AlignedFloats
    let buffers: [UnsafeMutablePointer<Float>]
    var crops: UnsafeMutablePointer<Float> { crop.base }
    var scratch: UnsafeMutablePointer<Float> { scratchStorage.base }

    init(bufferCounts: [Int], cropCount: Int = 0, scratchCount: Int) {
        let bytes = ExecutionPlan.cacheLineFloats * MemoryLayout<Float>.size
        storage = bufferCounts.map { AlignedFloats(count: $0, alignment: bytes) }
        buffers = storage.map(\.base)
        crop = AlignedFloats(count: cropCount, alignment: bytes)
        scratchStorage = AlignedFloats(count: scratchCount, alignment: bytes)
    }

    /// Whether these buffers can hold `plan`'s.
    func fits(_ plan: ExecutionPlan) -> Bool {
        storage.count == plan.bufferCounts.count && zip(storage, plan.bufferCounts).allSatisfy { $0.count >= $1 }
            && scratchStorage.count >= plan.scratchCount
    }
}
