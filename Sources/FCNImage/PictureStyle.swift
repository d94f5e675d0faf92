import FCNModel

/// How `fcn heatmap` draws its pictures: colour map and scale, the overlay's opacity, the
/// legend, and the pictures' size.
public struct PictureStyle: Sendable {
    public var colorMap: ColorMap
    public var scale: ColorScale
    /// The heatmap's opacity in overlays, 0 to 1.
    public var opacity: Float
    /// Whether a legend strip (`HeatmapLegend`) goes under each picture.
    public var legend: Bool
    /// The pictures' longer side in pixels; nil: the image's own size, small images enlarged
    /// to `minimumLongerSide`.
    public var longerSide: Int?

    /// The longer side that pictures of small images are enlarged to by default.
    public static let minimumLongerSide = 224
    /// The range `longerSide` must be in (checked by the CLI).
    public static let longerSideLimits = 32...8192

    public init(colorMap: ColorMap = .viridis, scale: ColorScale = .auto, opacity: Float = HeatmapRenderer.defaultOpacity,
                legend: Bool = true, longerSide: Int? = nil) {
        self.colorMap = colorMap
        self.scale = scale
        self.opacity = opacity
        self.legend = legend
        self.longerSide = longerSide
    }

    /// The factor from an image of `size` to its pictures (1 for a large image by default).
    public func pictureFactor(for size: Size2D) -> Double {
        let longer = Double(max(size.height, size.width))
        if let longerSide { return Double(longerSide) / longer }
        return max(1, Double(Self.minimumLongerSide) / longer)
    }

    /// The heatmap and overlay of one class: `field` (one score per pixel of `base`) coloured
    /// over `range`, blended over `base`, each with its legend below when `legend` is on.
    public func pictures(field: [Float], on base: PixelImage, range: ScoreRange, title: String, caption: String)
        -> (heatmap: PixelImage, overlay: PixelImage) {
        let heatmap = HeatmapRenderer.colored(field, size: base.size, range: range, colorMap: colorMap)
        let overlay = HeatmapRenderer.overlay(heatmap, on: base, opacity: opacity)
        guard legend else { return (heatmap, overlay) }
        let strip = HeatmapLegend(range: range, colorMap: colorMap, title: title, caption: caption)
        return (strip.attached(below: heatmap), strip.attached(below: overlay))
    }
}
