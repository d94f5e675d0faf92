/// The viridis colour map: perceptually uniform, readable in gray and by colour-blind viewers.
/// Anchors from scripts/make_colormap.py, interpolated linearly.
public enum ColorMap {
    /// The colour for `value` in [0, 1] (clamped), as 8-bit RGB.
    public static func viridis(_ value: Float) -> (UInt8, UInt8, UInt8) {
        let position = min(max(value.isFinite ? value : 0, 0), 1) * Float(viridisAnchors.count - 1)
        let lower = min(Int(position), viridisAnchors.count - 2)
        let fraction = position - Float(lower)
        let (a, b) = (viridisAnchors[lower], viridisAnchors[lower + 1])
        func mix(_ x: Float, _ y: Float) -> UInt8 { UInt8(((x + (y - x) * fraction) * 255).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    private static let viridisAnchors: [(Float, Float, Float)] = [
        (0.2670, 0.0049, 0.3294),
        (0.2823, 0.0950, 0.4173),
        (0.2788, 0.1755, 0.4834),
        (0.2590, 0.2515, 0.5247),
        (0.2297, 0.3224, 0.5457),
        (0.1994, 0.3876, 0.5546),
        (0.1727, 0.4488, 0.5579),
        (0.1490, 0.5081, 0.5573),
        (0.1276, 0.5669, 0.5506),
        (0.1206, 0.6258, 0.5335),
        (0.1579, 0.6838, 0.5017),
        (0.2461, 0.7389, 0.4520),
        (0.3692, 0.7889, 0.3829),
        (0.5160, 0.8312, 0.2943),
        (0.6785, 0.8637, 0.1895),
        (0.8456, 0.8873, 0.0997),
        (0.9932, 0.9062, 0.1439),
    ]
}
