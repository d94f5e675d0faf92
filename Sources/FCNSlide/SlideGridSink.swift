import FCNImage
import FCNModel
import FCNRuntime
import FCNTensorIO

extension NumPyGridFile: ScoreRows {
    public var gridSize: Size2D { size }
    public func scoreRow(_ index: Int) throws(NumPyError) -> [Float] { try row(index) }
}

/// The grid of a slide run, written to a `.npy` file as bands arrive, with what the pictures
/// and the manifest need gathered on the way: each class's peak and the range of all scores.
public final class SlideGridSink: GridSink {
    public let file: NumPyGridFile
    /// Per class: the highest score and its cell (row, column); NaN cells are passed over.
    public private(set) var peaks: [(value: Float, row: Int, column: Int)]
    /// The lowest and highest finite score of any class.
    public private(set) var low = Float.infinity
    public private(set) var high = -Float.infinity
    /// Cells whose scores are NaN.
    public private(set) var nanCells = 0

    /// Creates the grid file at `path` (which must not exist).
    public init(path: String, size: Size2D, classes: Int) throws(NumPyError) {
        file = try NumPyGridFile(creating: path, size: size, channels: classes)
        peaks = Array(repeating: (-Float.infinity, 0, 0), count: classes)
    }

    public func write(rows: Range<Int>, columns: Range<Int>, values: UnsafeBufferPointer<Float>) throws {
        try file.write(rows: rows, columns: columns, values: values)
        let classes = peaks.count
        for (rowOffset, row) in rows.enumerated() {
            for (columnOffset, column) in columns.enumerated() {
                let first = (rowOffset * columns.count + columnOffset) * classes
                if values[first].isNaN { nanCells += 1; continue }
                for channel in 0..<classes {
                    let value = values[first + channel]
                    if value > peaks[channel].value { peaks[channel] = (value, row, column) }
                    low = min(low, value)
                    high = max(high, value)
                }
            }
        }
    }
}
