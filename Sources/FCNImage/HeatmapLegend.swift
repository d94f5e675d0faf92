import FCNModel
import Foundation

/// The strip drawn under a heatmap or overlay so that the picture says what it shows: the
/// colour bar from `range.low` (left) to `range.high` (right) with its numbers (both ends and a
/// few round values between), then a line naming the class and one naming the model and the
/// scale. White, with black text in `BitmapFont` at `textScale(forWidth:)`.
public struct HeatmapLegend: Sendable {
    public var range: ScoreRange
    public var colorMap: ColorMap
    /// The first text line, e.g. "class 10: background".
    public var title: String
    /// The second text line, e.g. "digits-lenet.h5 | scale: probability".
    public var caption: String

    public init(range: ScoreRange, colorMap: ColorMap, title: String, caption: String) {
        self.range = range
        self.colorMap = colorMap
        self.title = title
        self.caption = caption
    }

    /// The title line for class `index` named `name`: "class 7", or "class 10: background"
    /// when the name is not the index.
    public static func title(classIndex index: Int, name: String) -> String {
        name == String(index) ? "class \(index)" : "class \(index): \(name)"
    }

    /// The caption line: the model's file name and the scale's name, e.g.
    /// "digits-lenet.h5 | scale: probability".
    public static func caption(modelFile: String, scale: ColorScale) -> String { "\(modelFile) | scale: \(scale)" }

    /// The strip's height for a picture `width` pixels wide (its rows, top to bottom, in font
    /// pixels: 4 space, 10 bar, 3 ticks, 1 space, 7 numbers, 4 space, 7 title, 2 space, 7 caption, 4 space).
    public static func height(forWidth width: Int) -> Int { 49 * textScale(forWidth: width) }

    /// Screen pixels per font pixel: 1 up to 511 pixels wide, 2 up to 767, and so on.
    public static func textScale(forWidth width: Int) -> Int { max(1, width / 256) }

    /// `picture` with the strip below it.
    public func attached(below picture: PixelImage) -> PixelImage {
        let rgb = picture.channels == 3 ? picture.pixels : picture.pixels.flatMap { [$0, $0, $0] }
        let strip = self.strip(width: picture.size.width)
        return PixelImage(size: Size2D(height: picture.size.height + strip.size.height, width: picture.size.width),
                          channels: 3, pixels: rgb + strip.pixels)
    }

    /// The strip alone, `width` pixels wide and `height(forWidth:)` high.
    public func strip(width: Int) -> PixelImage {
        let scale = Self.textScale(forWidth: width)
        var canvas = Canvas(width: width, height: Self.height(forWidth: width))
        let margin = 6 * scale
        let barTop = 4 * scale, barHeight = 10 * scale
        let barLeft = margin, barRight = max(margin + 1, width - margin)  // columns barLeft..<barRight
        for x in barLeft..<max(barLeft, min(barRight, width)) {
            let position = Float(x - barLeft) / Float(max(barRight - barLeft - 1, 1))
            canvas.fill(x: x, y: barTop, width: 1, height: barHeight, color: colorMap.color(position))
        }
        canvas.frame(x: barLeft - 1, y: barTop - 1, width: barRight - barLeft + 2, height: barHeight + 2, color: (96, 96, 96))

        let tickTop = barTop + barHeight + 1, numbersTop = tickTop + 4 * scale
        let labels = TickLabels(range: range)
        func column(of value: Float) -> Int {
            barLeft + Int((range.position(of: value) * Float(barRight - barLeft - 1)).rounded())
        }
        // Both ends first, left- and right-aligned with the bar, apart by at least a font pixel;
        // then the round values that fit between, at least two characters from any other.
        var taken: [ClosedRange<Int>] = []  // the columns of the numbers drawn
        for (index, tick) in ([labels.low, labels.high] + labels.inner).enumerated() {
            let x = column(of: tick.value)
            let textWidth = BitmapFont.width(of: tick.text) * scale
            let left = index == 0 ? barLeft : index == 1 ? barRight - textWidth : x - textWidth / 2
            let gap = index < 2 ? scale : 2 * BitmapFont.advance * scale
            let room = (left - gap)...(left + textWidth + gap)
            guard left >= 0, left + textWidth <= width, !taken.contains(where: { $0.overlaps(room) }) else { continue }
            taken.append(left...(left + textWidth))
            canvas.fill(x: x, y: tickTop, width: scale, height: 3 * scale, color: (0, 0, 0))
            canvas.text(tick.text, x: left, y: numbersTop, scale: scale)
        }
        let titleTop = numbersTop + 11 * scale
        canvas.text(Self.fitted(title, width: width - 2 * margin, scale: scale), x: margin, y: titleTop, scale: scale)
        canvas.text(Self.fitted(caption, width: width - 2 * margin, scale: scale), x: margin, y: titleTop + 9 * scale, scale: scale)
        return PixelImage(size: Size2D(height: canvas.height, width: width), channels: 3, pixels: canvas.pixels)
    }

    /// `text`, cut with ".." at the end when it is wider than `width` pixels.
    static func fitted(_ text: String, width: Int, scale: Int) -> String {
        let fits = max(0, (width / scale + 1) / BitmapFont.advance)
        guard text.count > fits else { return text }
        return fits > 2 ? String(text.prefix(fits - 2)) + ".." : ""
    }
}

/// The numbers of a colour bar: its two ends, and the multiples of a round step (1, 2 or 5
/// times a power of ten, at least a fifth of the range) strictly between them.
struct TickLabels {
    struct Tick {
        let value: Float
        let text: String
    }

    let low: Tick
    let high: Tick
    let inner: [Tick]

    init(range: ScoreRange) {
        let span = Double(range.high - range.low)
        let magnitude = pow(10, floor(log10(span / 5)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= span / 5 } ?? 10 * magnitude
        // Enough decimals for the step; the ends get one more, since they are not round.
        let decimals = max(0, Int(-floor(log10(step))))
        func tick(_ value: Double, decimals: Int) -> Tick { Tick(value: Float(value), text: Self.text(value, decimals: decimals)) }
        low = tick(Double(range.low), decimals: decimals + 1)
        high = tick(Double(range.high), decimals: decimals + 1)
        var values: [Tick] = []
        let first = (Double(range.low) / step).rounded(.down)
        for multiple in 0..<12 {
            let value = (first + Double(multiple)) * step
            if value >= Double(range.high) - step * 1e-6 { break }
            if value > Double(range.low) + step * 1e-6 { values.append(tick(value, decimals: decimals)) }
        }
        inner = values
    }

    /// `value` with at most `decimals` decimals, trailing zeros dropped; scientific notation for
    /// very large or very small magnitudes.
    static func text(_ value: Double, decimals: Int) -> String {
        if value != 0, abs(value) >= 1e5 || decimals > 5 { return String(format: "%.2g", value) }
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }
}

/// A white RGB drawing surface for the legend.
private struct Canvas {
    let width: Int
    let height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    /// Fills the rectangle, clipped to the canvas.
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: (UInt8, UInt8, UInt8)) {
        for row in max(y, 0)..<max(min(y + h, height), max(y, 0)) {
            for column in max(x, 0)..<max(min(x + w, width), max(x, 0)) {
                let index = (row * width + column) * 3
                (pixels[index], pixels[index + 1], pixels[index + 2]) = color
            }
        }
    }

    /// A one-pixel outline of the rectangle.
    mutating func frame(x: Int, y: Int, width w: Int, height h: Int, color: (UInt8, UInt8, UInt8)) {
        fill(x: x, y: y, width: w, height: 1, color: color)
        fill(x: x, y: y + h - 1, width: w, height: 1, color: color)
        fill(x: x, y: y, width: 1, height: h, color: color)
        fill(x: x + w - 1, y: y, width: 1, height: h, color: color)
    }

    /// `text` in black, its top-left corner at (`x`, `y`), each font pixel `scale` pixels square.
    mutating func text(_ text: String, x: Int, y: Int, scale: Int) {
        for (position, character) in text.enumerated() {
            let left = x + position * BitmapFont.advance * scale
            for row in 0..<BitmapFont.glyphHeight {
                for column in 0..<BitmapFont.glyphWidth where BitmapFont.isSet(character, row: row, column: column) {
                    fill(x: left + column * scale, y: y + row * scale, width: scale, height: scale, color: (0, 0, 0))
                }
            }
        }
    }
}
