import FCNModel
import FCNRuntime

/// Where the cells of a score grid sit in the network's input, in input pixels: cell (i, j)
/// is centred at (`start.y + i · jump.y`, `start.x + j · jump.x`), the centre of its receptive field.
public struct CellPlacement: Sendable, Equatable {
    public var startY: Double
    public var startX: Double
    public var jumpY: Double
    public var jumpX: Double

    public init(startY: Double, startX: Double, jumpY: Double, jumpX: Double) {
        self.startY = startY
        self.startX = startX
        self.jumpY = jumpY
        self.jumpX = jumpX
    }

    /// The centre of cell (`row`, `column`) in input pixels.
    public func centre(row: Int, column: Int) -> (y: Double, x: Double) {
        (startY + Double(row) * jumpY, startX + Double(column) * jumpX)
    }
}

/// A grid of class scores read one row at a time: a grid in memory, or one on disk too large to hold.
public protocol ScoreRows {
    var gridSize: Size2D { get }
    var channels: Int { get }
    associatedtype Failure: Error
    /// Row `index`: (width, channels), channels fastest.
    func scoreRow(_ index: Int) throws(Failure) -> [Float]
}

extension MapImage: ScoreRows {
    public var gridSize: Size2D { size }
    public func scoreRow(_ index: Int) -> [Float] {
        Array(values[(index * size.width * channels)..<((index + 1) * size.width * channels)])
    }
}

/// Turns a grid of class scores into pictures aligned with the image.
public enum HeatmapRenderer {
    /// One score per pixel of an image of `size`: each cell's score placed at its receptive
    /// field's centre and interpolated bilinearly between centres (held constant beyond the
    /// outermost centres). `inputPerPixel` maps image pixels to network-input pixels when the
    /// image was resized before the network saw it.
    public static func field(grid: MapImage, channel: Int, placement: CellPlacement, size: Size2D,
                             inputPerPixel: (y: Double, x: Double) = (1, 1)) -> [Float] {
        field(grid: grid, channel: channel, placement: placement, size: size, inputPerPixel: inputPerPixel,
                   rows: 0..<size.height)
    }

    /// Pixel rows `rows` (all columns) of the field of an image of `size` (as above), over a grid
    /// read row by row: ((rows.count, size.width), row-major). Reads each grid row it needs once
    /// per call, so a band of the field needs only a few grid rows in memory.
    public static func field<Grid: ScoreRows>(grid: Grid, channel: Int, placement: CellPlacement, size: Size2D,
                                              inputPerPixel: (y: Double, x: Double), rows: Range<Int>) throws(Grid.Failure) -> [Float] {
        func axis(_ pixel: Int, scale: Double, start: Double, jump: Double, cells: Int) -> (Int, Int, Float) {
            // The pixel's centre in input coordinates, then in cell units.
            let input = (Double(pixel) + 0.5) * scale - 0.5
            let position = min(max((input - start) / jump, 0), Double(cells - 1))
            let lower = Int(position)
            return (lower, min(lower + 1, cells - 1), Float(position - Double(lower)))
        }
        let gridSize = grid.gridSize
        let channels = grid.channels
        let columns = (0..<size.width).map {
            axis($0, scale: inputPerPixel.x, start: placement.startX, jump: placement.jumpX, cells: gridSize.width)
        }
        var cache: [Int: [Float]] = [:]
        func gridRow(_ index: Int) throws(Grid.Failure) -> [Float] {
            if let row = cache[index] { return row }
            let row = try grid.scoreRow(index)
            if cache.count >= 4 { cache.removeAll(keepingCapacity: true) }
            cache[index] = row
            return row
        }
        var values = [Float](repeating: 0, count: rows.count * size.width)
        for (offset, y) in rows.enumerated() {
            let (top, bottom, fy) = axis(y, scale: inputPerPixel.y, start: placement.startY, jump: placement.jumpY, cells: gridSize.height)
            let (upperRow, lowerRow) = (try gridRow(top), try gridRow(bottom))
            for (x, (left, right, fx)) in columns.enumerated() {
                let (a, b) = (upperRow[left * channels + channel], upperRow[right * channels + channel])
                let (c, d) = (lowerRow[left * channels + channel], lowerRow[right * channels + channel])
                let upper = a + (b - a) * fx
                let lower = c + (d - c) * fx
                values[offset * size.width + x] = upper + (lower - upper) * fy
            }
        }
        return values
    }

    /// The field coloured with `colorMap`, `range.low` (and below) mapped to its low end and
    /// `range.high` (and above) to its high end.
    public static func colored(_ field: [Float], size: Size2D, range: ScoreRange, colorMap: ColorMap) -> PixelImage {
        var pixels = [UInt8](repeating: 0, count: field.count * 3)
        for (index, value) in field.enumerated() {
            let (red, green, blue) = colorMap.color(range.position(of: value))
            pixels[index * 3] = red
            pixels[index * 3 + 1] = green
            pixels[index * 3 + 2] = blue
        }
        return PixelImage(size: size, channels: 3, pixels: pixels)
    }

    /// The default opacity of the heatmap in an overlay.
    public static let defaultOpacity: Float = 0.55

    /// `heatmap` blended over `image` (gray images shown as gray RGB), with `opacity` (0 to 1)
    /// for the heatmap.
    public static func overlay(_ heatmap: PixelImage, on image: PixelImage, opacity: Float = defaultOpacity) -> PixelImage {
        precondition(heatmap.size == image.size, "overlay sizes differ")
        var pixels = [UInt8](repeating: 0, count: heatmap.pixels.count)
        for index in 0..<(image.size.height * image.size.width) {
            for channel in 0..<3 {
                let base = Float(image.pixels[index * image.channels + (image.channels == 3 ? channel : 0)])
                let color = Float(heatmap.pixels[index * 3 + channel])
                pixels[index * 3 + channel] = UInt8((base * (1 - opacity) + color * opacity).rounded())
            }
        }
        return PixelImage(size: image.size, channels: 3, pixels: pixels)
    }
}
