import FCNImage
import FCNModel
import FCNRuntime
import FCNTensorIO

extension NumPyGridFile: ScoreRows {
    public var gridSize: Size2D { size }
    public func scoreRow(_ index: Int) throws(NumPyError) -> [Float] { try row(index) }
}

/// The grid of a slide run, written to a `.npy` file as bands arrive, with what the pictures
/// and the manifest need gathered on the way: the class ranking's counts (cells won, peaks)
/// and the range of all scores.
public final class SlideGridSink: GridSink {
    public let file: NumPyGridFile
    /// Cells won and peaks per class, cells numbered row by row; NaN cells are passed over.
    public private(set) var tally: ClassRanking.Tally
    /// The lowest and highest finite score of any class.
    public private(set) var low = Float.infinity
    public private(set) var high = -Float.infinity
    /// Cells whose scores are NaN.
    public private(set) var nanCells = 0

    /// Creates the grid file at `path` (which must not exist).
    public init(path: String, size: Size2D, classes: Int) throws(NumPyError) {
        file = try NumPyGridFile(creating: path, size: size, channels: classes)
        tally = ClassRanking.Tally(classes: classes)
    }

    public func write(rows: Range<Int>, columns: Range<Int>, values: UnsafeBufferPointer<Float>) throws {
        try file.write(rows: rows, columns: columns, values: values)
        let classes = file.channels
        for (rowOffset, row) in rows.enumerated() {
            for (columnOffset, column) in columns.enumerated() {
                let first = (rowOffset * columns.count + columnOffset) * classes
                if values[first].isNaN { nanCells += 1; continue }
                let scores = UnsafeBufferPointer(rebasing: values[first..<(first + classes)])
                tally.add(cell: row * file.size.width + column, scores: scores)
                for value in scores {
                    low = min(low, value)
                    high = max(high, value)
                }
            }
        }
    }
}
