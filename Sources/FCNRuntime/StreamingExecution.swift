import Dispatch
import FCNModel
import Foundation

extension Executor {
    /// The memory budget of a streaming run when none is given, in bytes (768 MiB).
    public static let defaultMemoryBudget = 768 << 20

    /// Runs the network over `source` region by region and gives the output grid to `sink` as it
    /// is produced, within `maxMemory` bytes of buffers whatever the image's size.
    ///
    /// The grid is cut into bands of rows (and into column strips when bands a few rows tall
    /// would not fit at full width), chosen as large as `maxMemory` allows. Within a strip each
    /// layer keeps between bands only the rows its readers still need, so no value is computed
    /// twice; neighbouring strips overlap by what the receptive field needs. The next region is
    /// read on a second thread while the current one is computed. The grid equals the one `run`
    /// gives on the whole image: exactly on the direct and GEMM paths, within float rounding where
    /// Winograd's blocks start at a band's first row instead of the image's.
    ///
    /// Networks that see their whole input at once (Flatten, global pooling, resizing) are run on
    /// the whole image as one region when it fits `maxMemory`.
    ///
    /// - Parameters:
    ///   - source: the input, (height, width, channels) of the network's input, HWC.
    ///   - sink: receives the grid, (rows, columns, classes) HWC, in band order (see `GridSink`).
    ///   - maxMemory: the most bytes the run's buffers may take: the layers' buffers, scratch and
    ///     the region being read (weights not counted).
    ///   - progress: called on the caller's thread after each region.
    ///   - shouldStop: asked before each region; when it returns true the run stops there (after
    ///     the read under way has finished) and throws `ExecutionError.stopped`.
    /// - Returns: the regions computed and the bytes planned.
    /// - Throws: `ExecutionError` when the source does not fit the network, the network cannot run
    ///   in bands and the whole image does not fit `maxMemory`, even one output cell at a time does
    ///   not fit it, or the run was stopped; errors of `source` and `sink` as they are.
    @discardableResult
    public func runStreaming(source: any RegionSource, sink: any GridSink, maxMemory: Int = Executor.defaultMemoryBudget,
                             progress: (StreamingProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> StreamingStats {
        guard source.channels == network.inputShape.channels, source.height > 0, source.width > 0 else {
            throw ExecutionError.inputShape(found: [source.height, source.width, source.channels],
                                            expected: "a non-empty image of \(network.inputShape.channels) channels")
        }
        let plan = try plan(for: network.inputShape(resizedTo: Size2D(height: source.height, width: source.width)))
        guard ExecutionPlan.isTileable(network) else {
            return try runWhole(plan: plan, source: source, sink: sink, maxMemory: maxMemory, progress: progress, shouldStop: shouldStop)
        }
        let layout = try BandLayout.fitting(plan: plan, network: network, budget: maxMemory)
        return try runBands(layout, plan: plan, source: source, sink: sink, progress: progress, shouldStop: shouldStop)
    }

    /// A network that cannot run in bands, on the whole of `source` as one region.
    private func runWhole(plan: ExecutionPlan, source: any RegionSource, sink: any GridSink, maxMemory: Int,
                          progress: (StreamingProgress) -> Void, shouldStop: () -> Bool) throws -> StreamingStats {
        guard plan.workspaceBytes <= maxMemory else { throw ExecutionError.overBudget(needed: plan.workspaceBytes, budget: maxMemory) }
        if shouldStop() { throw ExecutionError.stopped }
        let workspace = workspace(for: plan)
        try source.read(rows: 0..<source.height, columns: 0..<source.width,
                        into: UnsafeMutableBufferPointer(start: workspace.buffers[plan.inputBuffer], count: plan.input.elementCount))
        let result = runSteps(of: plan, in: workspace)
        let grid = plan.output.spatial
        try sink.write(rows: 0..<grid.height, columns: 0..<grid.width, values: UnsafeBufferPointer(start: result, count: plan.output.elementCount))
        let cells = grid.height * grid.width
        progress(StreamingProgress(regionsDone: 1, regionsTotal: 1, cellsDone: cells, cellsTotal: cells))
        return StreamingStats(regions: 1, bands: 1, columnStrips: 1, plannedBytes: plan.workspaceBytes)
    }

    /// Runs `plan` (a whole-input plan of a tileable network) region by region as `layout` says:
    /// strips left to right, bands top to bottom within each.
    func runBands(_ layout: BandLayout, plan: ExecutionPlan, source: any RegionSource, sink: any GridSink,
                  progress: (StreamingProgress) -> Void, shouldStop: () -> Bool) throws -> StreamingStats {
        let workspace = Workspace(bufferCounts: layout.bufferCounts, cropCount: layout.cropCount, scratchCount: layout.scratchCount)
        let context = KernelContext(layout: layout, workspace: workspace, workers: plan.workers)
        let last = plan.steps.count
        // Per value (0: the input, i + 1: layer i's output).
        let channels = [plan.input.mapSize.channels] + plan.steps.map(\.output.mapSize.channels)
        let buffers = layout.holders.map { workspace.buffers[$0] }
        let regions = layout.columnPasses.indices.flatMap { strip in layout.rowPasses.indices.map { (strip: strip, band: $0) } }
        func inputRegion(_ index: Int) -> (rows: Range<Int>, columns: Range<Int>) {
            (layout.rowPasses[regions[index].band].computed[0], layout.columnPasses[regions[index].strip].held[0])
        }
        let reader = RegionReader(source: source, floats: layout.stagingCount)
        defer { reader.finish() }
        reader.start(inputRegion(0))
        let grid = plan.output.spatial
        var cellsDone = 0
        for (index, (strip, band)) in regions.enumerated() {
            if shouldStop() { throw ExecutionError.stopped }
            let rows = layout.rowPasses[band]
            let columns = layout.columnPasses[strip]
            /// Where row `row` of `value` starts in its buffer during this region.
            func start(of value: Int, row: Int) -> UnsafeMutablePointer<Float> {
                buffers[value] + (row - rows.held[value].lowerBound) * columns.held[value].count * channels[value]
            }
            // Rows kept from the band above move to the top of their buffers.
            if band > 0 {
                let above = layout.rowPasses[band - 1]
                for value in 0...last where layout.carried[value] {
                    let shift = rows.held[value].lowerBound - above.held[value].lowerBound
                    let kept = rows.computed[value].lowerBound - rows.held[value].lowerBound
                    guard shift > 0, kept > 0 else { continue }
                    let rowFloats = columns.held[value].count * channels[value]
                    memmove(buffers[value], buffers[value] + shift * rowFloats, kept * rowFloats * MemoryLayout<Float>.size)
                }
            }
            // The input's new rows, then the next region's read while this one is computed.
            let pixels = try reader.wait()
            start(of: 0, row: rows.computed[0].lowerBound).update(from: pixels, count: rows.computed[0].count * columns.held[0].count * channels[0])
            if index + 1 < regions.count { reader.start(inputRegion(index + 1)) }

            for (layer, step) in plan.steps.enumerated() where !rows.computed[layer + 1].isEmpty {
                var crop = workspace.crops
                let inputs = network.sources[layer].enumerated().map { input, source -> UnsafeMutablePointer<Float> in
                    let value = source.value
                    let (readRows, readColumns) = (rows.reads[layer][input], columns.reads[layer][input])
                    let first = start(of: value, row: readRows.lowerBound)
                    guard readColumns != columns.held[value] else { return first }
                    // A reader of fewer columns than the strip holds reads a copy of them.
                    let rowFloats = columns.held[value].count * channels[value]
                    let width = readColumns.count * channels[value]
                    let left = (readColumns.lowerBound - columns.held[value].lowerBound) * channels[value]
                    let target = crop
                    for row in 0..<readRows.count { (target + row * width).update(from: first + row * rowFloats + left, count: width) }
                    crop += readRows.count * width
                    return target
                }
                let regionStep = BandLayout.step(step, rows: BandLayout.AxisShape(rows, layer: layer), columns: BandLayout.AxisShape(columns, layer: layer))
                execute(layer: layer, step: regionStep, inputs: inputs, output: start(of: layer + 1, row: rows.computed[layer + 1].lowerBound),
                        context: context)
            }
            let cells = (rows: rows.computed[last], columns: columns.held[last])
            try sink.write(rows: cells.rows, columns: cells.columns,
                           values: UnsafeBufferPointer(start: start(of: last, row: cells.rows.lowerBound),
                                                       count: cells.rows.count * cells.columns.count * channels[last]))
            cellsDone += cells.rows.count * cells.columns.count
            progress(StreamingProgress(regionsDone: index + 1, regionsTotal: regions.count, cellsDone: cellsDone,
                                       cellsTotal: grid.height * grid.width))
        }
        return StreamingStats(regions: regions.count, bands: layout.rowPasses.count, columnStrips: layout.columnPasses.count,
                              plannedBytes: layout.bytes)
    }
}

/// Reads a source's regions on a thread of its own, one region ahead of the computation, into
/// one staging buffer (the run copies each region out before the next read starts).
private final class RegionReader: @unchecked Sendable {
    // `error` and the staging buffer are written by the reading thread between `start` and the
    // end of the `wait` that follows it, and touched by the run's thread only outside that span.
    private let source: any RegionSource
    private let staging: AlignedFloats
    private let queue = DispatchQueue(label: "FCNRuntime.RegionReader")
    private let finished = DispatchSemaphore(value: 0)
    private var error: (any Error)?
    private var pending = false

    init(source: any RegionSource, floats: Int) {
        self.source = source
        staging = AlignedFloats(count: floats, alignment: ExecutionPlan.cacheLineFloats * MemoryLayout<Float>.size)
    }

    /// Starts reading `region` (nothing when it is empty).
    func start(_ region: (rows: Range<Int>, columns: Range<Int>)) {
        precondition(!pending, "a region is already being read")
        pending = true
        queue.async { [self] in
            if !region.rows.isEmpty, !region.columns.isEmpty {
                let count = region.rows.count * region.columns.count * source.channels
                do { try source.read(rows: region.rows, columns: region.columns, into: UnsafeMutableBufferPointer(start: staging.base, count: count)) } catch {
                    self.error = error
                }
            }
            finished.signal()
        }
    }

    /// The values of the region started last, once read; its error if the read failed.
    func wait() throws -> UnsafeMutablePointer<Float> {
        finish()
        if let error {
            self.error = nil
            throw error
        }
        return staging.base
    }

    /// Waits for a read under way, so that nothing writes the staging buffer after the run.
    func finish() {
        guard pending else { return }
        finished.wait()
        pending = false
    }
}
