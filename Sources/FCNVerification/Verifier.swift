import FCNDiagnostics
import FCNConvert
import FCNDensity
import FCNGeometry
import FCNModel
import FCNRuntime

/// How closely two sets of numbers agree.
public struct Agreement: Sendable {
    /// The largest absolute difference.
    public let maximumAbsoluteError: Float
    /// `maximumAbsoluteError` divided by the largest magnitude in the reference.
    public let relativeError: Float
    /// How many values were compared.
    public let count: Int

    init(actual: [Float], reference: [Float]) {
        precondition(actual.count == reference.count, "compared arrays differ in length")
        var largestError: Float = 0
        var largestReference: Float = 0
        for (value, expected) in zip(actual, reference) {
            largestError = max(largestError, abs(value - expected))
            largestReference = max(largestReference, abs(expected))
        }
        maximumAbsoluteError = largestError
        relativeError = largestReference > 0 ? largestError / largestReference : largestError
        count = actual.count
    }
}

/// The outcome of `Verifier.verify`.
public struct VerificationReport: Sendable {
    /// The classifier's input size and the larger size the grid was checked on.
    public let classifierSize: Size2D
    public let largeSize: Size2D
    public let grid: Size2D
    /// (a) The FCN at the classifier's size against the classifier.
    public let atClassifierSize: Agreement
    /// (b) Sampled cells of the large grid, (row, column), corners first.
    public let cells: [(row: Int, column: Int)]
    /// Whether no layer pads: then (b) compares against the classifier on each cell's crop.
    public let neverPads: Bool
    /// (b) The sampled cells against the classifier on their crops (never pads) or against an
    /// independent plain evaluation of the FCN (pads).
    public let sampledCells: Agreement
    /// For nets that pad: the sampled cells against the classifier on zero-filled crops; the
    /// effect of real context where the classifier saw zeros. Information, not a check.
    public let contextEffect: Agreement?
    public let tolerance: Float

    /// Whether both checks are within the tolerance.
    public var passed: Bool { atClassifierSize.relativeError <= tolerance && sampledCells.relativeError <= tolerance }
}

/// The outcome of `Verifier.verifyDensity`.
public struct DensityReport: Sendable {
    public let density: Density
    public let inputSize: Size2D
    public let grid: DenseGrid
    /// How the dense map was computed (the rarefied network's one pass).
    public let method: DenseMethod
    /// Whether no layer pads: then the cells were checked against the classifier on their crops.
    public let neverPads: Bool
    /// The cells compared: sampled (never pads) or every interior one (pads).
    public let cells: [(row: Int, column: Int)]
    /// Against the classifier on crops (never pads) or shift-and-stitch (pads).
    public let agreement: Agreement
    public let tolerance: Float

    public var passed: Bool { !cells.isEmpty && agreement.relativeError <= tolerance }
}

/// Why a verification cannot be made.
public enum VerificationError: Error, CustomStringConvertible {
    case classActivationMap
    /// The classifier starts by resizing its input, which the FCN leaves out (it takes images at
    /// the scale Resizing made), so the two take different inputs.
    case resizing(layer: String)
    /// The classifier gives more than one cell per crop, or the FCN a different count.
    case outputsDiffer(classifier: Int, converted: Int)
    /// A random input of `size` would take more than the memory budget (`budget` bytes).
    case inputTooLarge(size: Size2D, channels: Int, budget: Int?)
    /// At its own input size the classifier gives a map of `output`, not one cell of scores
    /// (a network of convolutions only), so no crop has one answer to compare a cell with.
    case classifierGivesAMap(output: ActivationShape)

    public var description: String {
        switch self {
        case .classActivationMap:
            return "--gap cam makes a class activation map, which by design differs from the classifier (it drops the pooling); "
                + "verify checks the exact form (--gap window)"
        case .resizing(let layer):
            return "the classifier resizes its input first (layer \(QuotedName.quoted(layer))); its FCN leaves that out and takes images at "
                + "the resized scale, so the two cannot be compared on the same input (fcn run still runs the classifier exactly)"
        case .outputsDiffer(let classifier, let converted):
            return "at the classifier's own size the classifier gives \(classifier) values and the FCN \(converted); "
                + "verify compares classifiers that give one vector of scores"
        case .classifierGivesAMap(let output):
            return "at its own input size the classifier gives a map of \(output), not one vector of scores, so its cells have no "
                + "single crop to be checked against; verify checks classifiers (fcn run and fcn heatmap run this network as it is)"
        case .inputTooLarge(let size, let channels, let budget):
            let limit = budget.map { "the memory budget of \($0 >> 20) MiB (--max-memory)" } ?? "what this machine can address"
            return "a random input of \(size)×\(channels) would take more than \(limit); choose a smaller --input"
        }
    }
}

/// Proves a converted network equal to its classifier: (a) on the classifier's own input
/// size it gives the classifier's output; (b) each sampled cell of a larger grid is what the
/// classifier says about the crop behind it, or, where layers pad, what a plain independent
/// evaluation of the FCN gives.
public struct Verifier {
    public let classifier: Model
    public let converted: Model
    private let classifierRunner: Executor
    private let convertedRunner: Executor
    /// The bytes one random input may take; nil: no limit.
    private let memoryBudget: Int?
    private let threads: Int?
    private let options: ConversionOptions

    /// - Parameters:
    ///   - converted: a converted network to check (such as a file `fcn convert` wrote); nil
    ///     converts `classifier` here.
    ///   - memoryBudget: the executors' `memoryBudget` (nil: no limit).
    /// - Throws: `VerificationError.classActivationMap` for CAM conversions, which by design
    ///   differ from the classifier; conversion and execution errors.
    public init(classifier: Model, converted: Model? = nil, options: ConversionOptions = ConversionOptions(), threads: Int? = nil,
                memoryBudget: Int? = nil) throws {
        self.classifier = classifier
        if options.globalPooling == .cam { throw VerificationError.classActivationMap }
        if let first = classifier.network.layers.first, case .resize = first.operation { throw VerificationError.resizing(layer: first.name) }
        let output = try classifier.network.outputShape()
        guard output.spatial == Size2D(square: 1) else { throw VerificationError.classifierGivesAMap(output: output) }
        if let converted {
            self.converted = converted
        } else {
            self.converted = try Convolutionalizer.convert(classifier, options: options)
        }
        classifierRunner = try Executor(model: classifier, threads: threads)
        convertedRunner = try Executor(model: self.converted, threads: threads)
        classifierRunner.memoryBudget = memoryBudget
        convertedRunner.memoryBudget = memoryBudget
        self.memoryBudget = memoryBudget
        self.threads = threads
        self.options = options
    }

    /// Runs both checks on random inputs drawn from `seed`.
    ///
    /// - Parameters:
    ///   - largeSize: the input for check (b); default twice the classifier's size plus 3.
    ///   - samples: how many cells to check, the four corners included.
    public func verify(largeSize: Size2D? = nil, samples: Int = 16, tolerance: Float = 1e-4, seed: UInt64 = 1) throws -> VerificationReport {
        let network = classifier.network
        let small = network.inputShape.spatial
        // Sequences stay one row high.
        let defaultSize = Size2D(height: network.isSequence ? 1 : small.height * 2 + 3, width: small.width * 2 + 3)
        let (large, geometry) = try Self.checkedSize(largeSize ?? defaultSize,
                                                     network: converted.network, chosen: largeSize != nil)
        var random = SeededRandom(seed: seed)
        let channels = network.inputShape.channels

        // (a) At the classifier's size.
        let image = try random.image(small, channels: channels, budget: memoryBudget)
        let tensor = image.tensor(for: network)
        let expected = try classifierRunner.run(tensor).values
        let atSize = try convertedRunner.run(image.tensor(for: converted.network)).values
        guard atSize.count == expected.count else { throw VerificationError.outputsDiffer(classifier: expected.count, converted: atSize.count) }
        let atClassifierSize = Agreement(actual: atSize, reference: expected)

        // (b) On a larger input.
        let largeImage = try random.image(large, channels: channels, budget: memoryBudget)
        let gridTensor = try convertedRunner.run(largeImage.tensor(for: converted.network))
        let gridImage = MapImage(framework: gridTensor, format: network.dataFormat)
        let grid = gridImage.size
        let cells = Self.sample(grid: grid, count: samples, random: &random)
        var actual: [Float] = []
        var onCrops: [Float] = []
        var reference: [Float] = []
        // Conversion keeps every layer that pads, so the FCN pads exactly where the classifier does.
        let neverPads = geometry.neverPads
        var checked: [(row: Int, column: Int)] = []
        for (row, column) in cells {
            actual += gridImage.cell(row: row, column: column)
            guard let box = geometry.box(row: row, column: column) else { continue }
            checked.append((row, column))
            let crop = largeImage.crop(top: box.rows.lowerBound, left: box.columns.lowerBound, size: small)
            onCrops += try classifierRunner.run(crop.tensor(for: network)).values
        }
        if !neverPads {
            reference = try ReferenceEvaluator(model: converted).values(ofCells: checked, input: largeImage.values, size: large)
        }
        return VerificationReport(
            classifierSize: small, largeSize: large, grid: grid, atClassifierSize: atClassifierSize, cells: cells,
            neverPads: neverPads,
            sampledCells: Agreement(actual: actual, reference: neverPads ? onCrops : reference),
            contextEffect: neverPads ? nil : Agreement(actual: actual, reference: onCrops),
            tolerance: tolerance)
    }

    /// Checks the FCN's dense grid at `density` (one pass of the rarefied network) on a random
    /// input: for a network that never pads, sampled dense cells (corners included) against the
    /// classifier on the crop at (row, column) · jump/F; for one that pads, every cell that sees no
    /// padding (`DenseGrid.isInterior`) against shift-and-stitch, the definition.
    ///
    /// - Parameter largeSize: the input; default twice the classifier's size plus 3.
    public func verifyDensity(_ density: Density, largeSize: Size2D? = nil, samples: Int = 16, tolerance: Float = 1e-4,
                              seed: UInt64 = 1) throws -> DensityReport {
        try DenseExecutor.checkConversion(of: classifier.network, options: options, density: density)
        let network = classifier.network
        let small = network.inputShape.spatial
        let size = largeSize ?? Size2D(height: network.isSequence ? 1 : small.height * 2 + 3, width: small.width * 2 + 3)
        let dense = try DenseExecutor(model: converted, density: density, threads: threads)
        dense.memoryBudget = memoryBudget
        var random = SeededRandom(seed: seed)
        let image = try random.image(size, channels: network.inputShape.channels, budget: memoryBudget)
        let map = try dense.run(image)
        guard let method = dense.lastMethod else { preconditionFailure("a run records its method") }
        let grid = try dense.grid(inputSize: size)
        let neverPads = grid.base.neverPads
        var actual: [Float] = []
        var reference: [Float] = []
        var cells: [(row: Int, column: Int)] = []
        if neverPads {
            cells = Self.sample(grid: map.size, count: samples, random: &random)
            for (row, column) in cells {
                actual += map.cell(row: row, column: column)
                let box = grid.box(row: row, column: column)
                let crop = image.crop(top: box.rows.lowerBound, left: box.columns.lowerBound, size: small)
                reference += try classifierRunner.run(crop.tensor(for: network)).values
            }
        } else {
            let stitched = try dense.runShiftAndStitch(image)
            for row in 0..<map.size.height {
                for column in 0..<map.size.width where grid.isInterior(row: row, column: column) {
                    cells.append((row, column))
                    actual += map.cell(row: row, column: column)
                    reference += stitched.cell(row: row, column: column)
                }
            }
        }
        return DensityReport(density: density, inputSize: size, grid: grid, method: method, neverPads: neverPads, cells: cells,
                             agreement: Agreement(actual: actual, reference: reference), tolerance: tolerance)
    }

    /// `size` and the FCN's geometry there; when the size was not chosen by the caller and a merge
    /// is misaligned at it (TensorFlow's `same` padding aligns some graphs only at some sizes),
    /// the nearest larger size at which every merge aligns.
    static func checkedSize(_ size: Size2D, network: Network, chosen: Bool) throws -> (Size2D, NetworkGeometry) {
        let geometry: NetworkGeometry
        do {
            geometry = try NetworkGeometry(network: network, inputSize: size)
        } catch {
            guard !chosen, case .misalignedMerge(_, _, _, _, let alignedSizes) = error,
                  let aligned = alignedSizes.first(where: { $0.height >= size.height && $0.width >= size.width }) ?? alignedSizes.first
            else { throw error }
            return (aligned, try NetworkGeometry(network: network, inputSize: aligned))
        }
        return (size, geometry)
    }

    /// The four corners, then distinct random cells, `count` in all (or every cell of a small grid).
    static func sample(grid: Size2D, count: Int, random: inout SeededRandom) -> [(row: Int, column: Int)] {
        let total = grid.height * grid.width
        var chosen: [Int] = []
        for corner in [0, grid.width - 1, (grid.height - 1) * grid.width, total - 1] where !chosen.contains(corner) {
            chosen.append(corner)
        }
        if count >= total {
            chosen += (0..<total).filter { !chosen.contains($0) }
        }
        while chosen.count < min(count, total) {
            let candidate = Int(random.next() % UInt64(total))
            if !chosen.contains(candidate) { chosen.append(candidate) }
        }
        return chosen.prefix(max(count, min(4, total))).map { ($0 / grid.width, $0 % grid.width) }
    }
}

/// A small, seeded pseudo-random generator (SplitMix64), so that checks are repeatable.
public struct SeededRandom {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A uniform value in [0, 1).
    public mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// An image of uniform values in [0, 1).
    ///
    /// - Parameter budget: the most bytes the image may take (nil: no limit beyond overflow).
    /// - Throws: `VerificationError.inputTooLarge` when its float32 values would exceed `budget`
    ///   (or overflow), before anything is allocated.
    public mutating func image(_ size: Size2D, channels: Int, budget: Int?) throws(VerificationError) -> MapImage {
        let (pixels, pixelOverflow) = size.height.multipliedReportingOverflow(by: size.width)
        let (count, countOverflow) = pixels.multipliedReportingOverflow(by: channels)
        let (bytes, byteOverflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        guard !pixelOverflow, !countOverflow, !byteOverflow, bytes <= budget ?? Int.max else {
            throw .inputTooLarge(size: size, channels: channels, budget: budget)
        }
        return MapImage(size: size, channels: channels, values: (0..<count).map { _ in unit() })
    }
}
