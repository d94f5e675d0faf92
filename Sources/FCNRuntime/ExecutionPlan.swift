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

    /// Floats per cache line: workspace buffers start on one, and each worker's share of the
    /// scratch is a whole number of them, so workers never write the same line.
    static let cacheLineFloats = 16

    /// The scratch, in floats, that layer `index`'s kernel needs for `step` with `workers`
    /// threads: a part shared by all workers, and a part each worker needs for itself.
    typealias ScratchNeed = (_ index: Int, _ step: Step, _ workers: Int) -> (shared: Int, perWorker: Int)

    /// For plans that only say what each layer receives and gives, and run nothing.
    static func noScratch(_ index: Int, _ step: Step, _ workers: Int) -> (shared: Int, perWorker: Int) { (0, 0) }

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
    /// What each layer's kernel needs of the scratch buffer; tiles of the plan ask it too.
    let scratchNeed: ScratchNeed
    /// Floating-point operations of each layer: 2 per multiply-add of convolutions and dense layers.
    let layerFlops: [Double]
    /// Floating-point operations of one run.
    var flops: Double { layerFlops.reduce(0, +) }

    /// The plan for the whole of an input of `input`, run by `workers` threads whose kernels
    /// need `scratchNeed`.
    init(network: Network, input: ActivationShape, workers: Int = 1, scratchNeed: @escaping ScratchNeed = noScratch) throws(ShapeError) {
        var steps: [Step] = []
        var current = input
        let outputs = try network.outputShapes(input: input)
        for (layer, output) in zip(network.layers, outputs) {
            let padding = layer.operation.slidingWindows.map { sliding in
                sliding.padding.edges(windows: (sliding.vertical, sliding.horizontal), input: current.spatial)
            } ?? EdgePadding(uniform: 0)
            steps.append(Step(input: current, output: output, padding: padding))
            current = output
        }
        self.init(network: network, input: input, steps: steps, workers: workers, scratchNeed: scratchNeed)
    }

    /// Sizes the buffers and counts the arithmetic of `steps`, which say what each layer
    /// receives, gives and pads.
    init(network: Network, input: ActivationShape, steps: [Step], workers: Int, scratchNeed: @escaping ScratchNeed) {
        self.input = input
        self.steps = steps
        self.workers = workers
        self.scratchNeed = scratchNeed
        var largest = input.elementCount
        var scratch = 0
        var scratchPerWorker = 0
        var layerFlops: [Double] = []
        for (index, (layer, step)) in zip(network.layers, steps).enumerated() {
            let (current, output) = (step.input, step.output)
            switch layer.operation {
            case .convolution(let convolution):
                let depth = convolution.kernelSize.height * convolution.kernelSize.width * current.channels
                layerFlops.append(2 * Double(depth) * Double(convolution.filters) * Double(output.spatial.height * output.spatial.width))
            case .dense(let dense):
                layerFlops.append(2 * Double(current.elementCount) * Double(dense.units))
            default:
                layerFlops.append(0)
            }
            let need = scratchNeed(index, step, workers)
            scratch = max(scratch, need.shared)
            scratchPerWorker = max(scratchPerWorker, need.perWorker.rounded(upToMultipleOf: Self.cacheLineFloats))
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
        slidingWindows.map { ($0.vertical, $0.horizontal) } ?? (AxisWindow(kernel: 1, stride: 1), AxisWindow(kernel: 1, stride: 1))
    }
}
