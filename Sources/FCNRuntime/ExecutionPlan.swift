import FCNModel

/// What running a network on one input size takes: every layer's input and output size and
/// padding, the buffer sizes, and the arithmetic. Worked out once per input size.
struct ExecutionPlan {
    struct Step {
        let input: ActivationShape
        let output: ActivationShape
        let padding: EdgePadding
    }

    /// The most values the patch matrix of a convolution may take at once (32 MiB of floats);
    /// larger ones are built a band of output rows at a time.
    static let patchBudget = 8 << 20

    let input: ActivationShape
    let steps: [Step]
    /// The size of each of the two activation buffers, in floats.
    let activationCount: Int
    /// The size of the scratch buffer (patch matrices, Winograd bands), in floats.
    let scratchCount: Int
    /// The share of the scratch buffer each worker's patch matrices may use, in floats.
    let scratchPerWorker: Int
    /// The threads the plan's kernels split their work among.
    let workers: Int
    /// Floating-point operations of each layer: 2 per multiply-add of convolutions and dense layers.
    let layerFlops: [Double]
    /// Floating-point operations of one run.
    var flops: Double { layerFlops.reduce(0, +) }

    /// The plan for the whole of an input of `input`, run by `workers` threads.
    init(network: Network, input: ActivationShape, workers: Int = 1) throws(ShapeError) {
        var steps: [Step] = []
        var current = input
        let outputs = try network.outputShapes(input: input)
        for (layer, output) in zip(network.layers, outputs) {
            let padding: EdgePadding
            switch layer.operation {
            case .convolution(let convolution):
                padding = convolution.padding.edges(windows: convolution.windows, input: current.spatial)
            case .pooling(let pooling):
                padding = pooling.padding.edges(windows: pooling.windows, input: current.spatial)
            case .zeroPadding(let edges):
                padding = edges
            default:
                padding = EdgePadding(uniform: 0)
            }
            steps.append(Step(input: current, output: output, padding: padding))
            current = output
        }
        self.init(network: network, input: input, steps: steps, workers: workers)
    }

    /// Sizes the buffers and counts the arithmetic of `steps`, which say what each layer
    /// receives, gives and pads.
    init(network: Network, input: ActivationShape, steps: [Step], workers: Int) {
        self.input = input
        self.steps = steps
        self.workers = workers
        var largest = input.elementCount
        var scratch = 0
        var scratchPerWorker = 0
        var layerFlops: [Double] = []
        for (layer, step) in zip(network.layers, steps) {
            let (current, output) = (step.input, step.output)
            var flops = 0.0
            switch layer.operation {
            case .convolution(let convolution):
                let depth = convolution.kernelSize.height * convolution.kernelSize.width * current.channels
                let positions = output.spatial.height * output.spatial.width
                flops = 2 * Double(depth) * Double(convolution.filters) * Double(positions)
                if WinogradKernel.applies(to: convolution, inputChannels: current.channels) {
                    scratch = max(scratch, WinogradKernel.scratchNeeded(
                        outputSize: output.spatial, block: 7 - convolution.kernelSize.height, inputChannels: current.channels,
                        filters: convolution.filters, workers: workers, budget: Self.patchBudget))
                }
                scratchPerWorker = max(scratchPerWorker, min(positions * depth, max(Self.patchBudget / workers, output.spatial.width * depth)))
            case .dense(let dense):
                flops = 2 * Double(current.elementCount) * Double(dense.units)
            default:
                break
            }
            layerFlops.append(flops)
            largest = max(largest, output.elementCount)
        }
        activationCount = largest
        self.scratchPerWorker = scratchPerWorker
        scratchCount = max(scratch, scratchPerWorker * workers)
        self.layerFlops = layerFlops
    }

    /// The memory the plan's buffers take, in bytes.
    var workspaceBytes: Int { (2 * activationCount + scratchCount) * MemoryLayout<Float>.size }
}

extension ActivationShape {
    /// The runtime's view of the shape: a vector is a 1×1 map.
    var mapSize: MapSize { MapSize(height: spatial.height, width: spatial.width, channels: channels) }
}

extension LayerOperation {
    /// The windows the layer slides at run time (1×1 for pointwise layers and zero padding,
    /// whose amounts are the step's padding).
    var runtimeWindows: (vertical: AxisWindow, horizontal: AxisWindow) {
        switch self {
        case .convolution(let convolution): return convolution.windows
        case .pooling(let pooling): return pooling.windows
        default: return (AxisWindow(kernel: 1, stride: 1), AxisWindow(kernel: 1, stride: 1))
        }
    }
}
