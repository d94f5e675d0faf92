import CTIFFIO
import FCNImage
import FCNModel
import Foundation

/// A class heatmap as a tiled pyramidal TIFF that slide viewers open beside the slide
/// (OpenSlide reads it as generic-tiff): 8-bit gray, tiles of 256 × 256 (`tileSize`), deflate
/// or JPEG, level 0 then halved levels (`levelSizes`), each a reduced-resolution directory.
///
/// Level 0 has one pixel per `inputPerPixel` × `inputPerPixel` pixels of the slide level the
/// network ran on; the resolution tags record the resulting microns per pixel when the slide
/// has them. A pixel's value is the class score at its centre (`HeatmapRenderer.field`),
/// mapped from `low`…`high` to 0…255; cells without a score (NaN) are 0. Written tile row by
/// tile row, reading the grid a few rows at a time.
public enum HeatmapPyramid {
    /// Tiles are 256 × 256, or for a heatmap smaller than that, the largest multiple of 16
    /// that fits its shorter side (OpenSlide 3.4 with libtiff 4.5 reads no level smaller than
    /// its tiles).
    public static func tileSize(_ size: Size2D) -> Int { min(256, max(16, min(size.height, size.width) / 16 * 16)) }

    /// The level sizes of a pyramid whose level 0 is `size`: halved while the half still holds
    /// a whole tile on both axes.
    public static func levelSizes(_ size: Size2D) -> [Size2D] {
        let tile = tileSize(size)
        var sizes = [size]
        while let last = sizes.last, (last.height + 1) / 2 >= tile, (last.width + 1) / 2 >= tile {
            sizes.append(Size2D(height: (last.height + 1) / 2, width: (last.width + 1) / 2))
        }
        return sizes
    }

    /// Writes the pyramid of class `channel` of `grid` to `path`.
    ///
    /// - Parameters:
    ///   - placement: where the grid's cells sit in the network's input (the slide level).
    ///   - size: level 0's size in pixels.
    ///   - inputPerPixel: input pixels per level-0 pixel, along each axis.
    ///   - micronsPerPixel: of level 0, for the resolution tags (nil: none written).
    public static func write<Grid: ScoreRows>(to path: String, grid: Grid, channel: Int, placement: CellPlacement, size: Size2D,
                                              inputPerPixel: (y: Double, x: Double), low: Float, high: Float,
                                              micronsPerPixel: Double?, description: String, jpeg: Bool) throws {
        let big = Double(size.height) * Double(size.width) > 3e9
        var message = [CChar](repeating: 0, count: 256)
        guard let tiff = fcn_tiff_open(path, big ? "w8" : "w", &message) else {
            throw SlideError.unwritable(path: path, reason: text(message))
        }
        var closed = false
        defer { if !closed { fcn_tiff_close(tiff, &message) } }
        let range = high > low ? high - low : 1
        let tileSize = Self.tileSize(size)
        let pixelsPerCentimetre = micronsPerPixel.map { 10_000 / $0 } ?? 0
        for (index, levelSize) in levelSizes(size).enumerated() {
            let scale = (y: inputPerPixel.y * Double(size.height) / Double(levelSize.height),
                         x: inputPerPixel.x * Double(size.width) / Double(levelSize.width))
            guard fcn_tiff_begin_image(tiff, UInt32(levelSize.width), UInt32(levelSize.height), UInt32(tileSize), 1, jpeg ? 1 : 0,
                                       index == 0 ? 0 : 1, pixelsPerCentimetre / (scale.x / inputPerPixel.x),
                                       description, &message) == 0 else {
                throw SlideError.unwritable(path: path, reason: text(message))
            }
            var tile = [UInt8](repeating: 0, count: tileSize * tileSize)
            for top in stride(from: 0, to: levelSize.height, by: tileSize) {
                let rows = top..<min(top + tileSize, levelSize.height)
                let band = try HeatmapRenderer.field(grid: grid, channel: channel, placement: placement, size: levelSize,
                                                     inputPerPixel: scale, rows: rows)
                for left in stride(from: 0, to: levelSize.width, by: tileSize) {
                    for index in tile.indices { tile[index] = 0 }
                    for y in 0..<rows.count {
                        for x in left..<min(left + tileSize, levelSize.width) {
                            let value = band[y * levelSize.width + x]
                            tile[y * tileSize + x - left] = value.isNaN ? 0 : UInt8(min(max((value - low) / range, 0), 1) * 255 + 0.5)
                        }
                    }
                    guard fcn_tiff_write_tile(tiff, UInt32(left), UInt32(top), tile, &message) == 0 else {
                        throw SlideError.unwritable(path: path, reason: text(message))
                    }
                }
            }
            guard fcn_tiff_end_image(tiff, &message) == 0 else { throw SlideError.unwritable(path: path, reason: text(message)) }
        }
        closed = true
        guard fcn_tiff_close(tiff, &message) == 0 else { throw SlideError.unwritable(path: path, reason: text(message)) }
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
