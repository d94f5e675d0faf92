import FCNModel
import Foundation

/// A line plot of a 1-D FCN's class scores along its input sequence: the picture `fcn heatmap`
/// writes for Conv1D classifiers, whose "heatmap" is one score per window.
///
/// The horizontal axis is the input's samples (0 at the left margin, `length − 1` at the right);
/// each cell's score is drawn at its receptive field's centre, `start + i · jump`, and joined to
/// its neighbours by straight lines. The vertical axis runs from `low` (bottom) to `high` (top).
public struct SequencePlot: Sendable {
    /// The scores to draw, one row per class: `scores[k][i]` is class `k` at cell `i`.
    public var scores: [[Float]]
    /// Samples in the input sequence.
    public var length: Int
    /// The centre of cell 0 in input samples, and the samples between neighbouring cells.
    public var start: Double
    public var jump: Double
    /// The score at the bottom and at the top of the plot.
    public var low: Float
    public var high: Float

    public init(scores: [[Float]], length: Int, start: Double, jump: Double, low: Float, high: Float) {
        self.scores = scores
        self.length = length
        self.start = start
        self.jump = jump
        self.low = low
        self.high = high
    }

    /// Distinct line colours, taken in turn by the classes drawn (RGB).
    static let palette: [(UInt8, UInt8, UInt8)] = [
        (31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207), (140, 86, 75), (227, 119, 194),
    ]

    /// The colour of the `order`-th class drawn, as `#rrggbb`.
    public static func lineColor(_ order: Int) -> String {
        let (r, g, b) = palette[order % palette.count]
        return "#" + [r, g, b].map { String(format: "%02x", $0) }.joined()
    }

    /// The plot as an RGB image of `size` pixels (a frame, a zero line when `low < 0 < high`,
    /// one line per class in `palette`'s colours).
    public func render(size: Size2D = Size2D(height: 240, width: 720)) -> PixelImage {
        let (height, width) = (max(size.height, 32), max(size.width, 32))
        var pixels = [UInt8](repeating: 255, count: height * width * 3)
        let margin = 8
        let (plotWidth, plotHeight) = (Double(width - 2 * margin - 1), Double(height - 2 * margin - 1))
        let span = high > low ? Double(high - low) : 1

        func set(_ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
            guard (0..<width).contains(x), (0..<height).contains(y) else { return }
            let offset = (y * width + x) * 3
            (pixels[offset], pixels[offset + 1], pixels[offset + 2]) = color
        }
        func point(sample: Double, score: Float) -> (x: Double, y: Double) {
            let fraction = length > 1 ? sample / Double(length - 1) : 0.5
            let level = (Double(score) - Double(low)) / span
            return (Double(margin) + fraction * plotWidth, Double(margin) + (1 - min(max(level, 0), 1)) * plotHeight)
        }
        func line(from a: (x: Double, y: Double), to b: (x: Double, y: Double), _ color: (UInt8, UInt8, UInt8)) {
            let steps = Int(max(abs(b.x - a.x), abs(b.y - a.y)).rounded(.up)) + 1
            for step in 0...steps {
                let t = Double(step) / Double(steps)
                set(Int((a.x + (b.x - a.x) * t).rounded()), Int((a.y + (b.y - a.y) * t).rounded()), color)
            }
        }

        let frame: (UInt8, UInt8, UInt8) = (160, 160, 160)
        let (left, right) = (Double(margin), Double(width - margin - 1))
        let (top, bottom) = (Double(margin), Double(height - margin - 1))
        line(from: (left, top), to: (right, top), frame)
        line(from: (left, bottom), to: (right, bottom), frame)
        line(from: (left, top), to: (left, bottom), frame)
        line(from: (right, top), to: (right, bottom), frame)
        if low < 0, high > 0 {
            let zero = point(sample: 0, score: 0).y
            line(from: (left, zero), to: (right, zero), (210, 210, 210))
        }
        for (index, row) in scores.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let points = row.indices.map { point(sample: start + Double($0) * jump, score: row[$0]) }
            if points.count == 1 { line(from: points[0], to: points[0], color) }
            for (a, b) in zip(points, points.dropFirst()) { line(from: a, to: b, color) }
        }
        return PixelImage(size: Size2D(height: height, width: width), channels: 3, pixels: pixels)
    }
}
