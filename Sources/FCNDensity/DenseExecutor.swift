import FCNConvert
import FCNGeometry
import FCNModel
import FCNRuntime

/// How a dense map was computed.
public enum DenseMethod: Hashable, Sendable {
    /// Density 1: the network's own run.
    case single
    /// One pass of the rarefied network (the fast path); the layers whose stride it reduced.
    case rarefied(layers: [String])
    /// F_h · F_w runs of the network on shifted inputs, interlaced (the reference).
    case shiftAndStitch(runs: Int)
}

extension DenseMethod {
    /// A few words for reports: "rarefied (pool5 stride reduced)".
    public var summary: String {
        switch self {
        case .single: return "density 1: the plain run"
        case .rarefied(let layers): return "one pass of the rarefied network (stride reduced in \(layers.joined(separator: ", ")))"
        case .shiftAndStitch(let runs): return "shift-and-stitch (\(runs) runs)"
        }
    }
}

/// Runs a fully convolutional network at density F (see `DenseGrid` for the definition): by
/// filter rarefaction in one pass (`run`), or by shift-and-stitch, the reference (`runShiftAndStitch`).
///
/// The rarefied network is an ordinary `Network`, run by an ordinary `Executor` with this
/// executor's memory budget, so it is planned and tiled like any other; it is made for each
/// input size (its padding after each window depends on it) and kept for the next run of that size.
public final class DenseExecutor {
    public let model: Model
    public let density: Density
    public let threads: Int?
    public let maxISA: InstructionSet?
    /// The memory budget of each run (see `Executor.memoryBudget`); nil: no limit.
    public var memoryBudget: Int? {
        didSet {
            base?.memoryBudget = memoryBudget
            rarefied?.executor.memoryBudget = memoryBudget
        }
    }
    /// When true, rarefied runs add each layer's wall time to `layerMilliseconds` (see `Executor.isProfiling`).
    public var isProfiling = false {
        didSet { rarefied?.executor.isProfiling = isProfiling }
    }
    /// The rarefied network's time per layer while `isProfiling`, in its layer order.
    public var layerMilliseconds: [Double] { rarefied?.executor.layerMilliseconds ?? [] }
    /// The kernel of each layer of the rarefied network (see `Executor.layerPaths`).
    public var layerPaths: [String] { rarefied?.executor.layerPaths ?? [] }
    /// How the last map was computed.
    public private(set) var lastMethod: DenseMethod?
    private var base: Executor?
    private var rarefied: (network: RarefiedNetwork, executor: Executor)?

    /// Prepares `model`, a fully convolutional network with weights, to run at `density`.
    ///
    /// - Throws: `DensityError.geometry` when the network is not fully convolutional (a
    ///   classifier that has not been converted), `.notDividing` when F does not divide its
    ///   jump, `.input` for networks over vectors.
    public init(model: Model, density: Density, threads: Int? = nil, maxISA: InstructionSet? = nil) throws(DensityError) {
        try DenseGrid.check(network: model.network, density: density)
        self.model = model
        self.density = density
        self.threads = threads
        self.maxISA = maxISA
    }

    /// Converts `classifier` with `options` and prepares its FCN to run at `density`.
    ///
    /// - Throws: `DensityError.classActivationMap` for a CAM conversion of a classifier with global
    ///   pooling at a density above 1 (the CAM drops the pooling, so it has no exact dense form);
    ///   conversion errors; as `init(model:density:threads:maxISA:)`.
    public convenience init(classifier: Model, options: ConversionOptions, density: Density, threads: Int? = nil,
                            maxISA: InstructionSet? = nil) throws {
        try Self.checkConversion(of: classifier.network, options: options, density: density)
        try self.init(model: try Convolutionalizer.convert(classifier, options: options), density: density, threads: threads, maxISA: maxISA)
    }

    /// Refuses a density above 1 for a CAM conversion of a classifier with global pooling: the
    /// CAM drops the pooling, so it has no exact dense form (`DensityError.classActivationMap`).
    public static func checkConversion(of classifier: Network, options: ConversionOptions, density: Density) throws(DensityError) {
        let pools = classifier.layers.contains { if case .globalPooling = $0.operation { true } else { false } }
        if options.globalPooling == .cam, pools, !density.isSingle { throw .classActivationMap }
    }

    /// The dense grid on an input of `size`.
    public func grid(inputSize size: Size2D) throws(DensityError) -> DenseGrid {
        if let rarefied, rarefied.network.grid.inputSize == size { return rarefied.network.grid }
        return try DenseGrid(network: model.network, inputSize: size, density: density)
    }

    /// The rarefied network for an input of `size` (made on first use of that size).
    public func rarefiedNetwork(inputSize size: Size2D) throws -> RarefiedNetwork { try rarefiedExecutor(inputSize: size).network }

    /// Floating-point operations of each layer of the rarefied network on an input of `size`.
    public func layerFlops(inputSize size: Size2D) throws -> [Double] {
        try rarefiedExecutor(inputSize: size).executor.layerFlops(inputSize: size)
    }

    /// Whether the rarefied run on an input of `size` is split into tiles to stay within the budget.
    public func runsInTiles(inputSize size: Size2D) throws -> Bool {
        density.isSingle ? try baseExecutor().runsInTiles(inputSize: size) : try rarefiedExecutor(inputSize: size).executor.runsInTiles(inputSize: size)
    }

    /// The dense map of `image` (HWC, as `Executor.run(_: MapImage)` takes it) in one pass of the
    /// rarefied network; the plain run at density 1.
    public func run(_ image: MapImage) throws -> MapImage {
        guard !density.isSingle else {
            let output = try baseExecutor().run(image)
            lastMethod = .single
            return output
        }
        let (network, executor) = try rarefiedExecutor(inputSize: image.size)
        let output = try executor.run(image)
        lastMethod = .rarefied(layers: network.rarefiedLayers)
        return output.cropped(to: network.grid.size)
    }

    /// The dense map of `image` by its definition: the network run on the input with its first
    /// `a·s` rows and `b·s` columns removed, for every (a, b), interlaced.
    ///
    /// - Throws: `DensityError.shiftedRunMoves` when `same` padding moves a shifted run's cells,
    ///   so that the runs do not interlace into a regular grid.
    public func runShiftAndStitch(_ image: MapImage) throws -> MapImage {
        let grid = try grid(inputSize: image.size)
        if let moved = grid.movedShift { throw moved }
        let executor = try baseExecutor()
        let size = grid.size
        var values: [Float] = []
        var channels = 0
        for a in 0..<density.rows {
            for b in 0..<density.columns {
                let removed = grid.removed(a: a, b: b)
                let shifted = image.crop(top: removed.height, left: removed.width,
                                         size: Size2D(height: image.size.height - removed.height, width: image.size.width - removed.width))
                let run = try executor.run(shifted)
                if values.isEmpty {
                    channels = run.channels
                    values = [Float](repeating: 0, count: size.height * size.width * channels)
                }
                precondition(run.size == Size2D(height: grid.rowLengths[a], width: grid.columnLengths[b]), "a shifted run has the grid DenseGrid gave")
                for i in 0..<run.size.height {
                    for j in 0..<run.size.width {
                        let target = ((density.rows * i + a) * size.width + density.columns * j + b) * channels
                        let source = (i * run.size.width + j) * channels
                        values.replaceSubrange(target..<(target + channels), with: run.values[source..<(source + channels)])
                    }
                }
            }
        }
        lastMethod = .shiftAndStitch(runs: density.rows * density.columns)
        return MapImage(size: size, channels: channels, values: values)
    }

    /// `run(_: MapImage)` on every sample of `input` (laid out as `Executor.run(_: Tensor)` takes
    /// it), the result laid out as that gives its output.
    public func run(_ input: Tensor) throws -> Tensor {
        let (samples, hasBatchAxis) = try MapImage.samples(of: input, for: model.network)
        let outputs = try samples.map { try run($0) }
        return MapImage.tensor(ofOutputs: outputs, for: model.network, hasBatchAxis: hasBatchAxis)
    }

    /// The executor of the network itself (density 1 and the shifted runs).
    private func baseExecutor() throws -> Executor {
        if let base { return base }
        let made = try Executor(model: model, threads: threads, maxISA: maxISA)
        made.memoryBudget = memoryBudget
        base = made
        return made
    }

    private func rarefiedExecutor(inputSize size: Size2D) throws -> (network: RarefiedNetwork, executor: Executor) {
        if let rarefied, rarefied.network.grid.inputSize == size { return rarefied }
        rarefied = nil  // the old executor's weights go before the new one's are prepared
        let network = try Rarefaction.rarefy(model.network, density: density, inputSize: size)
        let executor = try Executor(model: Model(network: network.network, weights: model.weights, source: model.source),
                                    threads: threads, maxISA: maxISA)
        executor.memoryBudget = memoryBudget
        executor.isProfiling = isProfiling
        rarefied = (network, executor)
        return (network, executor)
    }
}

extension MapImage {
    /// The top-left `size` cells (`size` at most the map's size).
    func cropped(to size: Size2D) -> MapImage {
        guard size != self.size else { return self }
        return crop(top: 0, left: 0, size: size)
    }
}
