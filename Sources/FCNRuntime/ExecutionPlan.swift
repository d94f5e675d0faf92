import FCNModel

/// What running a network on one input size takes: every layer's inputs, output and padding,
/// which buffer holds each value, and the arithmetic. Worked out once per input size.
///
/// Buffers are planned by liveness: a value keeps its buffer from the layer that makes it to
/// the last layer that reads it (a residual's input stays alive across its branch), then the
/// buffer takes another value. Layers that work in place (activations, per-channel affines,
/// identities) write over their input when nothing later reads it.
struct ExecutionPlan {
    struct Step {
        let inputs: [ActivationShape]
        let output: ActivationShape
        let padding: EdgePadding

        /// The first input's shape.
        var input: ActivationShape { inputs[0] }
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
    /// The buffer of the network's input, of each layer's output, and the size of each buffer in floats.
    let inputBuffer: Int
    let outputBuffers: [Int]
    let bufferCounts: [Int]
    /// The size of the scratch buffer (patch matrices, Winograd bands), in floats.
    let scratchCount: Int
    /// The share of the scratch buffer each worker's patch matrices may use, in floats.
    let scratchPerWorker: Int
    /// The threads the plan's kernels split their work among.
    let workers: Int
    /// What each layer's kernel needs of the scratch buffer; banded runs of the plan ask it too.
    let scratchNeed: ScratchNeed
    /// Floating-point operations of each layer: 2 per multiply-add of convolutions and dense layers.
    let layerFlops: [Double]
    /// Floating-point operations of one run.
    var flops: Double { layerFlops.reduce(0, +) }
    /// The output's shape.
    var output: ActivationShape { steps.last?.output ?? input }

    /// The plan for the whole of an input of `input`, run by `workers` threads whose kernels
    /// need `scratchNeed`.
    init(network: Network, input: ActivationShape, workers: Int = 1, scratchNeed: @escaping ScratchNeed = noScratch) throws(ShapeError) {
        let outputs = try network.outputShapes(input: input)
        var steps: [Step] = []
        for (index, layer) in network.layers.enumerated() {
            let inputs = network.sources[index].map { $0.shape(input: input, outputs: outputs) }
            let padding = layer.operation.slidingWindows.map { sliding in
                sliding.padding.edges(windows: (sliding.vertical, sliding.horizontal), input: inputs[0].spatial)
            } ?? EdgePadding(uniform: 0)
            steps.append(Step(inputs: inputs, output: outputs[index], padding: padding))
        }
        self.init(network: network, input: input, steps: steps, workers: workers, scratchNeed: scratchNeed)
    }

    /// Plans the buffers and counts the arithmetic of `steps`, which say what each layer
    /// receives, gives and pads.
    init(network: Network, input: ActivationShape, steps: [Step], workers: Int, scratchNeed: @escaping ScratchNeed) {
        self.input = input
        self.steps = steps
        self.workers = workers
        self.scratchNeed = scratchNeed
        var scratch = 0
        var scratchPerWorker = 0
        var layerFlops: [Double] = []
        for (index, (layer, step)) in zip(network.layers, steps).enumerated() {
            layerFlops.append(Self.flops(of: layer, step: step))
            let need = scratchNeed(index, step, workers)
            scratch = max(scratch, need.shared)
            scratchPerWorker = max(scratchPerWorker, need.perWorker.rounded(upToMultipleOf: Self.cacheLineFloats))
        }
        let sizes = [input.elementCount] + steps.map(\.output.elementCount)
        let (holders, counts) = Self.assignBuffers(network: network, sizes: sizes, pinned: sizes.map { _ in false })
        (inputBuffer, outputBuffers, bufferCounts) = (holders[0], Array(holders.dropFirst()), counts)
        self.scratchPerWorker = scratchPerWorker
        scratchCount = max(scratch, scratchPerWorker * workers)
        self.layerFlops = layerFlops
    }

    private static func flops(of layer: Layer, step: Step) -> Double {
        switch layer.operation {
        case .convolution(let convolution):
            let depth = convolution.kernelSize.height * convolution.kernelSize.width * step.input.channels / convolution.groups
            return 2 * Double(depth) * Double(convolution.filters) * Double(step.output.spatial.height * step.output.spatial.width)
        case .dense(let dense):
            let inputs = step.input.isFeatureMap ? step.input.channels : step.input.elementCount
            return 2 * Double(inputs) * Double(dense.units) * Double(step.output.spatial.height * step.output.spatial.width)
        case .pooling, .zeroPadding, .flatten, .activation, .batchNormalization, .globalPooling, .dropout, .reshape, .merge,
             .concatenate, .layerNormalization, .channelAffine, .parametricReLU, .localResponseNormalization, .resize:
            return 0
        }
    }

    /// Gives every value a buffer by liveness; returns each value's buffer (index 0 the input,
    /// i + 1 layer i's output) and each buffer's size in floats.
    ///
    /// - Parameters:
    ///   - sizes: the floats of each value.
    ///   - pinned: per value, whether it keeps a buffer of its own for the whole run (in banded
    ///     runs, values that carry rows from one band to the next): such a buffer is never shared,
    ///     freed or written over in place.
    static func assignBuffers(network: Network, sizes: [Int], pinned: [Bool]) -> (holders: [Int], counts: [Int]) {
        let layerCount = network.layers.count
        // The last layer that reads each value.
        var lastUse = [Int](repeating: -1, count: layerCount + 1)
        for (index, sources) in network.sources.enumerated() {
            for source in sources { lastUse[source.value] = index }
        }
        lastUse[layerCount] = layerCount  // the output lives to the end
        var counts = [sizes[0]]
        var free: [Int] = []
        var holder = [0]  // the buffer of each value so far
        for (index, layer) in network.layers.enumerated() {
            let value = index + 1
            let needed = sizes[value]
            let first = network.sources[index][0].value
            let buffer: Int
            if layer.operation.worksInPlace, lastUse[first] == index, network.sources[index].count == 1, !pinned[first], !pinned[value] {
                buffer = holder[first]
                counts[buffer] = max(counts[buffer], needed)
            } else if !pinned[value], let reuse = free.indices.max(by: { counts[free[$0]] < counts[free[$1]] }) {
                buffer = free.remove(at: reuse)
                counts[buffer] = max(counts[buffer], needed)
            } else {
                buffer = counts.count
                counts.append(needed)
            }
            for source in Set(network.sources[index].map(\.value)) where lastUse[source] == index && holder[source] != buffer && !pinned[source] {
                free.append(holder[source])
            }
            holder.append(buffer)
        }
        return (holder, counts)
    }

    /// The size of a value the plan computes.
    func size(of source: ValueSource) -> MapSize {
        switch source {
        case .input: return input.mapSize
        case .layer(let index): return steps[index].output.mapSize
        }
    }

    /// The memory the plan's buffers take, in bytes.
    var workspaceBytes: Int { (bufferCounts.reduce(0, +) + scratchCount) * MemoryLayout<Float>.size }
}

extension ValueSource {
    /// The value's index among the network input (0) and the layers' outputs (1…).
    var value: Int {
        switch self {
        case .input: return 0
        case .layer(let index): return index + 1
        }
    }
}

extension LayerOperation {
    /// Whether the runtime computes the layer over its input's buffer.
    var worksInPlace: Bool {
        switch self {
        case .activation, .batchNormalization, .dropout, .channelAffine, .parametricReLU, .layerNormalization, .reshape:
            return true
        case .flatten(let order):
            return order == .heightWidthChannels
        case .convolution, .dense, .pooling, .zeroPadding, .globalPooling, .merge, .concatenate, .localResponseNormalization, .resize:
            return false
        }
    }

    /// The windows the layer slides at run time (1×1 for pointwise layers and zero padding,
    /// whose amounts are the step's padding).
    var runtimeWindows: (vertical: AxisWindow, horizontal: AxisWindow) {
        slidingWindows.map { ($0.vertical, $0.horizontal) } ?? (AxisWindow(kernel: 1, stride: 1), AxisWindow(kernel: 1, stride: 1))
    }
}

extension ActivationShape {
    /// The runtime's view of the shape: a vector is a 1×1 map.
    var mapSize: MapSize { MapSize(height: spatial.height, width: spatial.width, channels: channels) }
}
