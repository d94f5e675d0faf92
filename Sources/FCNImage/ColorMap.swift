/// The colour maps of heatmaps. viridis (the default), magma and inferno are perceptually
/// uniform and readable in gray and by colour-blind viewers; turbo and jet are rainbows (jet
/// for comparison with older figures); gray is black to white. The tables are matplotlib's
/// (scripts/make_colormap.py writes ColorMapTables.swift).
public enum ColorMap: String, Sendable, CaseIterable {
    case viridis, magma, inferno, turbo, jet, gray

    /// The colour for `value` in [0, 1], as 8-bit RGB, looked up as matplotlib does: entry
    /// min(⌊value · 256⌋, 255) of the table, values outside [0, 1] clamped and non-finite ones
    /// taken as 0.
    public func color(_ value: Float) -> (UInt8, UInt8, UInt8) {
        let clamped = min(max(value.isFinite ? value : 0, 0), 1)
        let entry = min(Int(clamped * 256), 255) * 3
        let table = Self.table(self)
        return (table[entry], table[entry + 1], table[entry + 2])
    }
}
