import FCNModel

extension ExecutionPlan {
    /// Whether the network can run in tiles: every layer keeps a spatial layout.
    static func isTileable(_ network: Network) -> Bool {
        network.layers.allSatisfy { layer in
            switch layer.operation {
            case .dense, .flatten, .globalPooling, .reshape: return false
            default: return true
            }
        }
    }

    /// The plan that computes output cells `rows` × `columns` of this (whole-input) plan from
    /// a crop of its input, and that crop's rows and columns.
    ///
    /// Going backwards from the wanted cells, each layer must produce the rows and columns the
    /// next one reads (the tile's cone, as in `ReferenceEvaluator`). Inside the image a tile's
    /// layers see real neighbours, so they pad only where the whole input's layers pad, at the
    /// image's own edges: the stitched tiles equal the untiled run exactly.
    func tile(network: Network, rows: Range<Int>, columns: Range<Int>) -> (plan: ExecutionPlan, rows: Range<Int>, columns: Range<Int>) {
        var tileSteps = [Step?](repeating: nil, count: steps.count)
        var wantedRows = rows
        var wantedColumns = columns
        for index in steps.indices.reversed() {
            let step = steps[index]
            let windows = network.layers[index].operation.runtimeWindows
            let (inputRows, top, bottom) = Self.reach(wantedRows, windows.vertical, before: step.padding.top, limit: step.input.spatial.height)
            let (inputColumns, left, right) = Self.reach(wantedColumns, windows.horizontal, before: step.padding.left,
                                                         limit: step.input.spatial.width)
            tileSteps[index] = Step(
                input: .featureMap(height: inputRows.count, width: inputColumns.count, channels: step.input.channels),
                output: .featureMap(height: wantedRows.count, width: wantedColumns.count, channels: step.output.channels),
                padding: EdgePadding(top: top, bottom: bottom, left: left, right: right))
            (wantedRows, wantedColumns) = (inputRows, inputColumns)
        }
        let input = ActivationShape.featureMap(height: wantedRows.count, width: wantedColumns.count, channels: self.input.channels)
        let plan = ExecutionPlan(network: network, input: input, steps: tileSteps.map { $0! }, workers: workers, scratchNeed: scratchNeed)
        return (plan, wantedRows, wantedColumns)
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
        let grid = plan.steps.last.map { $0.output.spatial } ?? plan.input.spatial
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
