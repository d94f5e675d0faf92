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
        var wins = [Int](repeating: 0, count: classes)
        var peaks = [Float](repeating: -.infinity, count: classes)
        var peakCells = [Int](repeating: 0, count: classes)
        let cells = values.count / classes
        for cell in 0..<cells {
            var best = 0
            for k in 0..<classes {
                let value = values[cell * classes + k]
                if value > values[cell * classes + best] { best = k }
                if value > peaks[k] { (peaks[k], peakCells[k]) = (value, cell) }
            }
            wins[best] += 1
        }
        shares = wins.map { cells == 0 ? 0 : Double($0) / Double(cells) }
        self.peaks = peaks
        self.peakCells = peakCells
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
