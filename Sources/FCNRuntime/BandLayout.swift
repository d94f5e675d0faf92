import FCNModel

/// One axis of a banded run, for one band of rows or one column strip: what each value holds
/// and computes along that axis, and what each layer reads and pads.
///
/// Rows and columns are separable (every window is a product of two axis windows), so a
/// region of the grid is a band's rows crossed with a strip's columns.
struct AxisPass {
    /// Per value (0: the input, i + 1: layer i's output): the part of the axis its buffer holds
    /// during the pass, from the buffer's start.
    let held: [Range<Int>]
    /// Per value: the part the pass computes (for the input, reads from the source); the rest of
    /// `held` was computed by earlier passes and kept.
    let computed: [Range<Int>]
    /// Per value: the end of all that this and earlier passes computed.
    let done: [Int]
    /// Per layer, per input: the part of the input that computing `computed` reads.
    let reads: [[Range<Int>]]
    /// Per layer: the padding before and after its first input's read (non-zero only at the
    /// value's own edges, where the whole input's layer pads too).
    let padding: [(before: Int, after: Int)]
}

extension ExecutionPlan {
    enum Axis { case rows, columns }

    /// The pass along `axis` that makes output cells `wanted`, walking the layers backwards in
    /// topological order (the paper's composition rule per axis): each layer reads the reach of
    /// its windows over what it computes, clipped to its input, and each value must hold the
    /// union of what its readers read.
    ///
    /// With `previous` (the pass before it, on the same axis), a value computes only what it
    /// holds beyond what earlier passes computed: rows shared by neighbouring bands are computed
    /// once and kept. Without it, every held cell is computed.
    func pass(network: Network, axis: Axis, wanted: Range<Int>, after previous: AxisPass? = nil) -> AxisPass {
        let count = steps.count + 1
        var held = [Range<Int>?](repeating: nil, count: count)
        var computed = [Range<Int>](repeating: 0..<0, count: count)
        var reads = [[Range<Int>]](repeating: [], count: steps.count)
        var padding = [(before: Int, after: Int)](repeating: (0, 0), count: steps.count)
        held[steps.count] = wanted
        /// Once every reader of `value` is known: what it computes, and what it holds when nothing
        /// reads it this pass (what it held before, unmoved).
        func settle(_ value: Int) {
            guard let range = held[value] else {
                held[value] = previous?.held[value] ?? 0..<0
                return
            }
            let start = min(max(range.lowerBound, previous?.done[value] ?? range.lowerBound), range.upperBound)
            computed[value] = start..<range.upperBound
        }
        for index in steps.indices.reversed() {
            settle(index + 1)
            let making = computed[index + 1]
            let step = steps[index]
            let windows = network.layers[index].operation.runtimeWindows
            let window = axis == .rows ? windows.vertical : windows.horizontal
            let before = axis == .rows ? step.padding.top : step.padding.left
            for (position, (source, shape)) in zip(network.sources[index], step.inputs).enumerated() {
                guard !making.isEmpty else {
                    reads[index].append(0..<0)
                    continue
                }
                let limit = axis == .rows ? shape.spatial.height : shape.spatial.width
                let (range, first, last) = Self.reach(making, window, before: before, limit: limit)
                if position == 0 { padding[index] = (first, last) }
                reads[index].append(range)
                held[source.value] = Self.hull(held[source.value], range)
            }
        }
        settle(0)
        let done = (0..<count).map { value in max(previous?.done[value] ?? 0, computed[value].upperBound) }
        return AxisPass(held: held.map { $0! }, computed: computed, done: done, reads: reads, padding: padding)
    }

    /// The rows and columns of every value (the input, then each layer's output) that output
    /// cells `rows` × `columns` depend on: each value covers what all its readers need (the
    /// union of their cones), clipped to the value.
    func cones(network: Network, rows: Range<Int>, columns: Range<Int>) -> [(rows: Range<Int>, columns: Range<Int>)] {
        let vertical = pass(network: network, axis: .rows, wanted: rows)
        let horizontal = pass(network: network, axis: .columns, wanted: columns)
        return Array(zip(vertical.held, horizontal.held))
    }

    /// The smallest range holding both.
    private static func hull(_ first: Range<Int>?, _ second: Range<Int>) -> Range<Int> {
        guard let first else { return second }
        return min(first.lowerBound, second.lowerBound)..<max(first.upperBound, second.upperBound)
    }

    /// The input cells outputs `range` read (clipped to the input), and the padding the clipped
    /// ends then need before and after.
    static func reach(_ range: Range<Int>, _ window: AxisWindow, before: Int, limit: Int) -> (Range<Int>, Int, Int) {
        let first = range.lowerBound * window.stride - before
        let last = (range.upperBound - 1) * window.stride - before + window.effectiveKernel - 1
        let clipped = min(max(first, 0), limit)..<max(min(last + 1, limit), min(max(first, 0), limit))
        return (clipped, clipped.lowerBound - first, last + 1 - clipped.upperBound)
    }

    /// Whether the network can run in bands: every layer keeps a spatial layout.
    static func isTileable(_ network: Network) -> Bool {
        network.layers.allSatisfy { layer in
            switch layer.operation {
            case .flatten, .globalPooling, .reshape, .resize: return false
            case .dense: return true
            case .convolution, .pooling, .zeroPadding, .activation, .batchNormalization, .dropout, .merge, .concatenate,
                 .layerNormalization, .channelAffine, .parametricReLU, .localResponseNormalization:
                return true
            }
        }
    }
}

/// How a banded run walks its input within a memory budget: the output grid cut into column
/// strips of `stripColumns` cells, each walked top to bottom in bands of `bandRows` rows, and
/// the buffers that hold each value.
///
/// Within a strip each value's buffer holds the rows its readers still need (`AxisPass`): a value
/// that keeps rows from one band for the next (a convolution's input keeps kernel − 1 of them)
/// has a buffer of its own for the whole run; the others share buffers by liveness within a
/// band, as `ExecutionPlan` does for a whole input. Neighbouring strips overlap by what the
/// receptive field needs, computed once in each.
struct BandLayout {
    let bandRows: Int
    let stripColumns: Int
    /// One per band, top to bottom: the same in every strip.
    let rowPasses: [AxisPass]
    /// One per strip, left to right.
    let columnPasses: [AxisPass]
    /// Per value: whether it keeps rows from one band for the next.
    let carried: [Bool]
    /// Per value: its buffer; per buffer: its size in floats.
    let holders: [Int]
    let bufferCounts: [Int]
    /// Floats for the column crops one layer reads (strips only).
    let cropCount: Int
    /// Scratch for the kernels, in floats, and each worker's share.
    let scratchCount: Int
    let scratchPerWorker: Int
    /// Floats of the largest region read from the source (the input's new rows in one band).
    let stagingCount: Int

    /// The memory the run's buffers take, in bytes.
    var bytes: Int { (bufferCounts.reduce(0, +) + cropCount + scratchCount + stagingCount) * MemoryLayout<Float>.size }
    var regionCount: Int { rowPasses.count * columnPasses.count }

    /// The layout of bands of `bandRows` output rows and strips of `stripColumns` output columns
    /// for `plan`, a whole-input plan of a tileable network.
    init(plan: ExecutionPlan, network: Network, bandRows: Int, stripColumns: Int) {
        let grid = plan.output.spatial
        self.bandRows = bandRows
        self.stripColumns = stripColumns
        var rowPasses: [AxisPass] = []
        for top in stride(from: 0, to: grid.height, by: bandRows) {
            rowPasses.append(plan.pass(network: network, axis: .rows, wanted: top..<min(top + bandRows, grid.height), after: rowPasses.last))
        }
        let columnPasses = stride(from: 0, to: grid.width, by: stripColumns).map { left in
            plan.pass(network: network, axis: .columns, wanted: left..<min(left + stripColumns, grid.width))
        }
        self.rowPasses = rowPasses
        self.columnPasses = columnPasses
        let values = plan.steps.count + 1
        let channels = (0..<values).map { $0 == 0 ? plan.input.mapSize.channels : plan.steps[$0 - 1].output.mapSize.channels }
        let heldRows = (0..<values).map { value in rowPasses.map { $0.held[value].count }.max()! }
        let heldColumns = (0..<values).map { value in columnPasses.map { $0.held[value].count }.max()! }
        let carried = (0..<values).map { value in rowPasses.contains { $0.computed[value].lowerBound > $0.held[value].lowerBound } }
        self.carried = carried
        let sizes = (0..<values).map { heldRows[$0] * heldColumns[$0] * channels[$0] }
        (holders, bufferCounts) = ExecutionPlan.assignBuffers(network: network, sizes: sizes, pinned: carried)
        stagingCount = rowPasses.map { $0.computed[0].count }.max()! * heldColumns[0] * channels[0]

        // Crops: a layer that reads fewer columns of a value than the strip holds reads a copy.
        var crops = 0
        for (index, sources) in network.sources.enumerated() {
            let readRows = sources.indices.map { input in rowPasses.map { $0.reads[index][input].count }.max()! }
            for strip in columnPasses {
                let floats = zip(sources, sources.indices).reduce(0) { sum, element in
                    let (source, input) = element
                    let read = strip.reads[index][input]
                    return read == strip.held[source.value] ? sum : sum + readRows[input] * read.count * channels[source.value]
                }
                crops = max(crops, floats)
            }
        }
        cropCount = crops

        // Scratch: the most any layer's kernel needs over the distinct shapes it meets.
        var scratch = 0
        var perWorker = 0
        for index in plan.steps.indices {
            let rowShapes = Set(rowPasses.map { AxisShape($0, layer: index) })
            let columnShapes = Set(columnPasses.map { AxisShape($0, layer: index) })
            for rows in rowShapes where rows.output > 0 {
                for columns in columnShapes {
                    let need = plan.scratchNeed(index, Self.step(plan.steps[index], rows: rows, columns: columns), plan.workers)
                    scratch = max(scratch, need.shared)
                    perWorker = max(perWorker, need.perWorker.rounded(upToMultipleOf: ExecutionPlan.cacheLineFloats))
                }
            }
        }
        scratchPerWorker = perWorker
        scratchCount = max(scratch, perWorker * plan.workers)
    }

    /// The sizes a layer's step has along one axis in one pass.
    struct AxisShape: Hashable {
        let output: Int
        let inputs: [Int]
        let before: Int
        let after: Int

        init(_ pass: AxisPass, layer index: Int) {
            output = pass.computed[index + 1].count
            inputs = pass.reads[index].map(\.count)
            (before, after) = pass.padding[index]
        }
    }

    /// The step of a layer (whose whole-input step is `whole`) in the region made of `rows` and `columns`.
    static func step(_ whole: ExecutionPlan.Step, rows: AxisShape, columns: AxisShape) -> ExecutionPlan.Step {
        ExecutionPlan.Step(
            inputs: zip(whole.inputs, zip(rows.inputs, columns.inputs)).map { input, counts in
                .featureMap(height: counts.0, width: counts.1, channels: input.channels)
            },
            output: .featureMap(height: rows.output, width: columns.output, channels: whole.output.channels),
            padding: EdgePadding(top: rows.before, bottom: rows.after, left: columns.before, right: columns.after))
    }

    /// The largest bands and strips whose buffers fit `budget` bytes: full-width strips when
    /// bands of a few rows fit (else strips halved until they do), then the tallest bands that fit.
    ///
    /// - Throws: `ExecutionError.budgetTooSmall` when even one output cell at a time does not fit.
    static func fitting(plan: ExecutionPlan, network: Network, budget: Int) throws(ExecutionError) -> BandLayout {
        let grid = plan.output.spatial
        let fewRows = min(grid.height, minimumBandRows)
        var columns = grid.width
        var layout = BandLayout(plan: plan, network: network, bandRows: fewRows, stripColumns: columns)
        while layout.bytes > budget, columns > 1 {
            columns = (columns + 1) / 2
            layout = BandLayout(plan: plan, network: network, bandRows: fewRows, stripColumns: columns)
        }
        if layout.bytes > budget {
            layout = BandLayout(plan: plan, network: network, bandRows: 1, stripColumns: 1)
            guard layout.bytes <= budget else { throw .budgetTooSmall(needed: layout.bytes, budget: budget) }
            return layout
        }
        // The tallest bands that fit, by bisection: `layout` fits, `tooTall` rows do not.
        var tooTall = grid.height + 1
        while tooTall - layout.bandRows > 1 {
            let rows = (layout.bandRows + tooTall) / 2
            let taller = BandLayout(plan: plan, network: network, bandRows: rows, stripColumns: columns)
            if taller.bytes <= budget { layout = taller } else { tooTall = rows }
        }
        return layout
    }

    /// Bands at least this tall (in output rows) are preferred to wider strips: shorter ones
    /// leave the deep layers too few rows to split among threads and Winograd blocks half empty.
    static let minimumBandRows = 4
}
