import FCNModel

/// An input image too large to hold at once, read region by region by `Executor.runStreaming`.
///
/// Values are those the network takes, after any preprocessing, in the runtime's HWC layout
/// (channels fastest) whatever the model's data format. A source is read on a thread of the
/// executor's own (so that reading the next region overlaps computing the current one), one
/// call at a time: `read` never runs concurrently with itself.
public protocol RegionSource: AnyObject {
    /// Rows of the image.
    var height: Int { get }
    /// Columns of the image.
    var width: Int { get }
    /// Channels of each pixel: the network input's channels.
    var channels: Int { get }

    /// Writes the pixels of `rows` × `columns` into `target`: (rows.count, columns.count,
    /// channels) float32, row-major, channels fastest. Both ranges are non-empty and inside the
    /// image (positions outside it are never asked for), and `target` holds exactly that many
    /// values. A thrown error ends the run and is rethrown by `runStreaming` as it is.
    func read(rows: Range<Int>, columns: Range<Int>, into target: UnsafeMutableBufferPointer<Float>) throws
}

/// Receives the output grid of `Executor.runStreaming` as it is produced.
///
/// Each call gives a rectangle of cells: `values` is (rows.count, columns.count, classes)
/// float32, row-major, channels fastest (HWC whatever the model's data format), valid only
/// during the call. Every cell of the grid comes exactly once. The calls come in band order:
/// when the grid is computed in one column strip (`StreamingStats.columnStrips == 1`, the usual
/// case) each call is a full-width band of rows, top to bottom; otherwise strip by strip, left
/// to right, and within a strip band by band, top to bottom. Called on the thread that called
/// `runStreaming`; a thrown error ends the run and is rethrown as it is.
public protocol GridSink: AnyObject {
    func write(rows: Range<Int>, columns: Range<Int>, values: UnsafeBufferPointer<Float>) throws
}

/// How far a streaming run has got, given after each region.
public struct StreamingProgress: Sendable, Equatable {
    /// Regions computed so far, and in all. A region is one band of one column strip.
    public let regionsDone: Int
    public let regionsTotal: Int
    /// Output cells written to the sink so far, and in all.
    public let cellsDone: Int
    public let cellsTotal: Int
}

/// What a finished streaming run did.
public struct StreamingStats: Sendable, Equatable {
    /// The regions (bands of column strips) the input was read and computed in.
    public let regions: Int
    /// Bands per column strip, and column strips.
    public let bands: Int
    public let columnStrips: Int
    /// The most memory, in bytes, the run's buffers were planned to take at once: the layers'
    /// buffers and scratch plus the region being read. Set by the budget, not by the image's size.
    public let plannedBytes: Int
}

/// A `RegionSource` over an image held in memory (tests, and in-memory runs within a budget).
public final class MapImageSource: RegionSource {
    public let image: MapImage
    public var height: Int { image.size.height }
    public var width: Int { image.size.width }
    public var channels: Int { image.channels }

    public init(_ image: MapImage) {
        self.image = image
    }

    public func read(rows: Range<Int>, columns: Range<Int>, into target: UnsafeMutableBufferPointer<Float>) throws {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= height && columns.lowerBound >= 0 && columns.upperBound <= width
                     && target.count == rows.count * columns.count * channels, "region outside the image or target of the wrong size")
        image.values.withUnsafeBufferPointer { values in
            let rowValues = columns.count * channels
            for (offset, row) in rows.enumerated() {
                (target.baseAddress! + offset * rowValues)
                    .update(from: values.baseAddress! + (row * width + columns.lowerBound) * channels, count: rowValues)
            }
        }
    }
}

/// A `GridSink` that gathers the grid in memory, and counts cells that come twice.
public final class MapImageSink: GridSink {
    public let size: Size2D
    public let channels: Int
    /// (height, width, channels), channels fastest.
    public private(set) var values: [Float]
    /// Cells written so far; each call's rectangle in order.
    public private(set) var cellsWritten = 0
    public private(set) var rectangles: [(rows: Range<Int>, columns: Range<Int>)] = []
    private var written: [Bool]

    public init(size: Size2D, channels: Int) {
        self.size = size
        self.channels = channels
        values = [Float](repeating: 0, count: size.height * size.width * channels)
        written = [Bool](repeating: false, count: size.height * size.width)
    }

    /// The grid gathered so far.
    public var image: MapImage { MapImage(size: size, channels: channels, values: values) }

    /// Cells that came more than once (0 when the sink's contract is kept).
    public private(set) var cellsWrittenTwice = 0
    /// Whether every cell has been written.
    public var isComplete: Bool { !written.contains(false) }

    public func write(rows: Range<Int>, columns: Range<Int>, values cells: UnsafeBufferPointer<Float>) throws {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= size.height && columns.lowerBound >= 0 && columns.upperBound <= size.width
                     && cells.count == rows.count * columns.count * channels, "cells outside the grid or of the wrong count")
        let rowValues = columns.count * channels
        values.withUnsafeMutableBufferPointer { values in
            for (offset, row) in rows.enumerated() {
                (values.baseAddress! + (row * size.width + columns.lowerBound) * channels)
                    .update(from: cells.baseAddress! + offset * rowValues, count: rowValues)
            }
        }
        for row in rows {
            for column in columns {
                if written[row * size.width + column] { cellsWrittenTwice += 1 }
                written[row * size.width + column] = true
            }
        }
        cellsWritten += rows.count * columns.count
        rectangles.append((rows, columns))
    }
}
