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
    private let layers: [PreparedLayer]
    private var plan: ExecutionPlan?
    private var workspace: Workspace?

    /// When true, each run adds every layer's wall time, in milliseconds, to `layerMilliseconds`.
    public var isProfiling = false {
        didSet { layerMilliseconds = Array(repeating: 0, count: layers.count) }
    }
    /// Accumulated time per layer while `isProfiling`, in the network's layer order.
    public private(set) var layerMilliseconds: [Double] = []

    /// Prepares `model` to run, with `threads` OpenBLAS threads (default: all cores).
    ///
    /// - Parameter fastConvolutions: use Winograd's F(4×4, 3×3) for 3×3 stride-1 convolutions
    ///   (default); false keeps every convolution on the im2col + GEMM path.
    /// - Throws: `ExecutionError` when the model has no weights or they contain NaN.
    public init(model: Model, threads: Int? = nil, fastConvolutions: Bool = true) throws(ExecutionError) {
        guard let weights = model.weights else { throw .noWeights }
        network = model.network
        var layers: [PreparedLayer] = []
        for layer in model.network.layers {
            layers.append(try PreparedLayer(layer, weights: weights[layer.name], fastConvolutions: fastConvolutions))
        }
        self.layers = layers
        openblas_set_num_threads(Int32(threads ?? ProcessInfo.processInfo.activeProcessorCount))
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
        let workspace = self.workspace!
        var current = workspace.first
        var spare = workspace.second
        let inputSize = plan.input.mapSize
        if channelsFirst {
            LayoutKernel.transpose(input, rows: inputSize.channels, columns: inputSize.height * inputSize.width, into: current)
        } else {
            current.update(from: input, count: inputSize.count)
        }
        for (index, (layer, step)) in zip(layers, plan.steps).enumerated() {
            let start = isProfiling ? DispatchTime.now().uptimeNanoseconds : 0
            if execute(layer, step: step, input: current, output: spare, workspace: workspace) {
                swap(&current, &spare)
            }
            if isProfiling { layerMilliseconds[index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
        }
        let output = (plan.steps.last?.output ?? plan.input)
        let size = output.mapSize
        var result = [Float](repeating: 0, count: size.count)
        result.withUnsafeMutableBufferPointer { result in
            if channelsFirst, case .featureMap = output {
                LayoutKernel.transpose(current, rows: size.height * size.width, columns: size.channels, into: result.baseAddress!)
            } else {
                result.baseAddress!.update(from: current, count: size.count)
            }
        }
        return result
    }

    /// Runs one layer; returns true when the result is in `output`, false when it was computed in place.
    private func execute(_ layer: PreparedLayer, step: ExecutionPlan.Step, input: UnsafeMutablePointer<Float>,
                         output: UnsafeMutablePointer<Float>, workspace: Workspace) -> Bool {
        let inputSize = step.input.mapSize
        let outputSize = step.output.mapSize
        switch layer {
        case .convolution(let convolution, let weights, let bias):
            ConvolutionKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                                  output: output, outputSize: outputSize, padding: step.padding,
                                  scratch: workspace.scratch, scratchCount: workspace.scratchCount)
        case .winograd(let convolution, let weights, let bias):
            WinogradKernel.run(convolution, weights: weights, bias: bias, input: input, inputSize: inputSize,
                               output: output, outputSize: outputSize, padding: step.padding,
                               scratch: workspace.scratch, scratchCount: workspace.scratchCount)
        case .dense(let dense, let weights, let bias):
            weights.withUnsafeBufferPointer { weights in
                ConvolutionKernel.multiply(rows: 1, depth: inputSize.count, filters: dense.units, patches: input,
                                           weights: weights.baseAddress!, output: output)
            }
            Epilogue.apply(bias: bias, activation: dense.activation, to: output, positions: 1, channels: dense.units)
        case .pooling(let pooling):
            PoolingKernel.pool(pooling, input: input, inputSize: inputSize, output: output, outputSize: outputSize,
                               padding: step.padding)
        case .zeroPadding(let edges):
            PoolingKernel.zeroPad(edges, input: input, inputSize: inputSize, output: output, outputSize: outputSize)
        case .flatten(let order):
            guard order == .channelsHeightWidth, inputSize.channels > 1, inputSize.height * inputSize.width > 1 else { return false }
            LayoutKernel.transpose(input, rows: inputSize.height * inputSize.width, columns: inputSize.channels, into: output)
        case .globalPooling(let kind):
            PoolingKernel.global(kind, input: input, inputSize: inputSize, output: output)
        case .activation(let activation):
            ActivationKernel.apply(activation, to: input, positions: inputSize.height * inputSize.width,
                                   channels: step.input.channels)
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

    /// The plan for `input`, made and its buffers allocated on first use of that size.
    private func plan(for input: ActivationShape) throws(ExecutionError) -> ExecutionPlan {
        if let plan, plan.input == input { return plan }
        let made: ExecutionPlan
        do { made = try ExecutionPlan(network: network, input: input) } catch { throw .inputTooSmall(error) }
        workspace = Workspace(activationCount: made.activationCount, scratchCount: made.scratchCount)
        plan = made
        return made
    }
}

/// The buffers of one plan: two for activations, used in turn, and one for patch matrices.
final class Workspace {
    let first: UnsafeMutablePointer<Float>
    let second: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>
    let scratchCount: Int

    init(activationCount: Int, scratchCount: Int) {
        first = .allocate(capacity: max(activationCount, 1))
        second = .allocate(capacity: max(activationCount, 1))
        scratch = .allocate(capacity: max(scratchCount, 1))
        self.scratchCount = scratchCount
    }

    deinit {
        first.deallocate()
        second.deallocate()
        scratch.deallocate()
    }
}
