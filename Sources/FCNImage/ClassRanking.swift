/// Which classes `fcn heatmap --top K` draws: the classes that win the most cells. Each cell
/// is won by its highest score (the lowest class index on a tie); classes are ranked by the
/// share of cells they win, ties (for example classes that win none) broken by the higher
/// peak score, then the lower index. A class named "background" (any case) is skipped.
/// Peaks alone do not separate classes of softmax models, where nearly every peak is ≈ 1.
public struct ClassRanking: Sendable {
    /// The fraction of cells each class wins, by class index.
    public let shares: [Double]
    /// Each class's highest score, by class index.
    public let peaks: [Float]
    /// The cell of each class's highest score (the first such cell), by class index.
    public let peakCells: [Int]

    /// Ranks the classes of `values`, cells of `classes` scores each (cell-major, as `MapImage`
    /// and a sequence grid store them).
    ///
    /// - Precondition: `classes` ≥ 1 and divides `values.count`.
    public init(values: [Float], classes: Int) {
        precondition(classes >= 1 && values.count % classes == 0, "scores do not fill whole cells")
        var tally = Tally(classes: classes)
        values.withUnsafeBufferPointer { values in
            for cell in 0..<(values.count / classes) {
                tally.add(cell: cell, scores: UnsafeBufferPointer(rebasing: values[(cell * classes)..<((cell + 1) * classes)]))
            }
        }
        self.init(tally)
    }

    /// The ranking of what `tally` counted.
    public init(_ tally: Tally) {
        shares = tally.wins.map { tally.cells == 0 ? 0 : Double($0) / Double(tally.cells) }
        peaks = tally.peaks
        peakCells = tally.peakCells
    }

    /// What a ranking counts, gathered a cell at a time (for grids that never sit in memory
    /// whole, such as a slide's).
    public struct Tally: Sendable {
        public private(set) var wins: [Int]
        public private(set) var peaks: [Float]
        public private(set) var peakCells: [Int]
        public private(set) var cells = 0

        public init(classes: Int) {
            precondition(classes >= 1, "a ranking needs a class")
            wins = [Int](repeating: 0, count: classes)
            peaks = [Float](repeating: -.infinity, count: classes)
            peakCells = [Int](repeating: 0, count: classes)
        }

        /// Counts the scores of cell number `cell` (one per class); a cell's first highest
        /// score wins it, and each class's peak stays at the first cell that reached it.
        public mutating func add(cell: Int, scores: UnsafeBufferPointer<Float>) {
            precondition(scores.count == wins.count, "one score per class")
            var best = 0
            for k in 0..<scores.count {
                let value = scores[k]
                if value > scores[best] { best = k }
                if value > peaks[k] { (peaks[k], peakCells[k]) = (value, cell) }
            }
            wins[best] += 1
            cells += 1
        }
    }

    /// The `count` best classes, skipping those `name` calls "background".
    public func top(_ count: Int, name: (Int) -> String) -> [Int] {
        let candidates = shares.indices.filter { name($0).lowercased() != "background" }
        let sorted = candidates.sorted {
            (shares[$0], peaks[$0], -$0) > (shares[$1], peaks[$1], -$1)
        }
        return Array(sorted.prefix(count))
    }
}
