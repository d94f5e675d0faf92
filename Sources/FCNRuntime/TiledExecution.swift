import FCNModel

extension ExecutionPlan {
    /// Whether the network can run in tiles: every layer keeps a spatial layout.
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

    /// The rows and columns of every value (the input, then each layer's output) that output
    /// cells `rows` × `columns` depend on: going backwards in topological order, each value
    /// must cover what all its readers need (the union of their cones), clipped to the value.
    /// Also each layer's own reach into its inputs, and the padding its clipped reach needs.
    func cones(network: Network, rows: Range<Int>, columns: Range<Int>)
        -> (values: [(rows: Range<Int>, columns: Range<Int>)], reads: [[(rows: Range<Int>, columns: Range<Int>)]], padding: [EdgePadding]) {
        var values = [(rows: Range<Int>, columns: Range<Int>)?](repeating: nil, count: steps.count + 1)
        values[steps.count] = (rows, columns)
        var reads = [[(rows: Range<Int>, columns: Range<Int>)]](repeating: [], count: steps.count)
        var padding = [EdgePadding](repeating: EdgePadding(uniform: 0), count: steps.count)
        for index in steps.indices.reversed() {
            let step = steps[index]
            guard let wanted = values[index + 1] else { continue }
            let windows = network.layers[index].operation.runtimeWindows
            for (source, shape) in zip(network.sources[index], step.inputs) {
                let (inputRows, top, bottom) = Self.reach(wanted.rows, windows.vertical, before: step.padding.top, limit: shape.spatial.height)
                let (inputColumns, left, right) = Self.reach(wanted.columns, windows.horizontal, before: step.padding.left,
                                                             limit: shape.spatial.width)
                padding[index] = EdgePadding(top: top, bottom: bottom, left: left, right: right)
                reads[index].append((inputRows, inputColumns))
                let covered = values[source.value]
                values[source.value] = (Self.hull(covered?.rows, inputRows), Self.hull(covered?.columns, inputColumns))
            }
        }
        return (values.map { $0 ?? (0..<0, 0..<0) }, reads, padding)
    }

    /// The plan that computes output cells `rows` × `columns` of this (whole-input) plan from
    /// a crop of its input, and that crop's rows and columns.
    ///
    /// Each layer computes the part of its output that its readers need (`cones`). Inside the
    /// image a tile's layers see real neighbours, so they pad only where the whole input's
    /// layers pad, at the image's own edges: the stitched tiles equal the untiled run exactly.
    /// A layer that needs less of a value than another reader does reads a crop of it.
    func tile(network: Network, rows: Range<Int>, columns: Range<Int>) -> (plan: ExecutionPlan, rows: Range<Int>, columns: Range<Int>) {
        let (values, reads, padding) = cones(network: network, rows: rows, columns: columns)
        func shape(_ value: Int, channels: Int) -> ActivationShape {
            .featureMap(height: values[value].rows.count, width: values[value].columns.count, channels: channels)
        }
        var tileSteps: [Step] = []
        for (index, step) in steps.enumerated() {
            let sources = network.sources[index]
            let inputs = zip(sources, step.inputs).map { shape($0.value, channels: $1.channels) }
            let crops = zip(sources, zip(reads[index], step.inputs)).map { source, read -> Crop? in
                let (region, full) = read
                let computed = values[source.value]
                guard region.rows != computed.rows || region.columns != computed.columns else { return nil }
                return Crop(top: region.rows.lowerBound - computed.rows.lowerBound, left: region.columns.lowerBound - computed.columns.lowerBound,
                            size: MapSize(height: region.rows.count, width: region.columns.count, channels: full.channels))
            }
            let croppedInputs = zip(inputs, crops).map { input, crop in
                crop.map { ActivationShape.featureMap(height: $0.size.height, width: $0.size.width, channels: $0.size.channels) } ?? input
            }
            tileSteps.append(Step(inputs: croppedInputs, output: shape(index + 1, channels: step.output.channels),
                                  padding: padding[index], crops: crops))
        }
        let plan = ExecutionPlan(network: network, input: shape(0, channels: input.channels), steps: tileSteps, workers: workers,
                                 scratchNeed: scratchNeed)
        return (plan, values[0].rows, values[0].columns)
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
        let clipped = max(first, 0)..<min(last + 1, limit)
        return (clipped, clipped.lowerBound - first, last + 1 - clipped.upperBound)
    }
}

/// How an input is split into tiles of output cells.
struct TileLayout {
    let tileRows: Int
    let tileColumns: Int
    let grid: Size2D

    /// The largest tiles whose buffers fit `budget` bytes: the whole grid, halved along its
    /// longer side until a central tile's plan fits (or one cell is left).
    init(plan: ExecutionPlan, network: Network, budget: Int) {
        let grid = plan.output.spatial
        var (rows, columns) = (grid.height, grid.width)
        func bytes(_ rows: Int, _ columns: Int) -> Int {
            let top = (grid.height - rows) / 2
            let left = (grid.width - columns) / 2
            let tile = plan.tile(network: network, rows: top..<(top + rows), columns: left..<(left + columns))
            return tile.plan.workspaceBytes + tile.plan.input.elementCount * MemoryLayout<Float>.size
        }
        while (rows > 1 || columns > 1) && bytes(rows, columns) > budget {
            if rows >= columns { rows = (rows + 1) / 2 } else { columns = (columns + 1) / 2 }
        }
        (tileRows, tileColumns, self.grid) = (rows, columns, grid)
    }

    /// Every tile, row by row.
    var tiles: [(rows: Range<Int>, columns: Range<Int>)] {
        stride(from: 0, to: grid.height, by: tileRows).flatMap { top in
            stride(from: 0, to: grid.width, by: tileColumns).map { left in
                (top..<min(top + tileRows, grid.height), left..<min(left + tileColumns, grid.width))
            }
        }
    }
}
