/// Plain-text tables for the commands' reports, each column as wide as its widest cell.
enum TextTable {
    /// One line per row. Columns in `rightAligned` (numbers) are padded on the left, the others
    /// on the right; columns are joined by `separator` and trailing spaces dropped.
    static func lines(_ rows: [[String]], rightAligned: Set<Int> = [], separator: String = "  ") -> [String] {
        let widths = (rows.first ?? []).indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: separator).replacing(#/ +$/#, with: "")
        }
    }
}
