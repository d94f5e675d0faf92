import COpenSlide
import FCNImage
import FCNModel
import FCNRuntime
import FCNSlide
import Foundation
import Testing
import _FCNTestSupport

/// The heatmap pyramid opens in OpenSlide (its C library) as a generic TIFF with the levels
/// written, its resolution, and the values of the heatmap field.
@Suite struct HeatmapPyramidTests {
    let scratch = try! TemporaryDirectory()

    @Test(arguments: [false, true])
    func openSlideReadsTheLevelsAndValues(jpeg: Bool) throws {
        // A 70 × 90 grid of one class: a smooth ramp with a NaN cell.
        let grid = Size2D(height: 70, width: 90)
        var values: [Float] = (0..<(70 * 90)).map { (index: Int) -> Float in Float(index / 90 + index % 90) / 160 }
        values[3 * 90 + 4] = .nan
        let map = MapImage(size: grid, channels: 1, values: values)
        let placement = CellPlacement(startY: 13.5, startX: 13.5, jumpY: 4, jumpX: 4)
        let size = Size2D(height: 70, width: 90)
        let path = scratch.path("class.tif")
        try HeatmapPyramid.write(to: path, grid: map, channel: 0, placement: placement, size: size, inputPerPixel: (4, 4),
                                 low: 0, high: 1, micronsPerPixel: 2, description: "test", jpeg: jpeg)
        #expect(HeatmapPyramid.levelSizes(Size2D(height: 600, width: 1000)).map(\.width) == [1000, 500])
        #expect(HeatmapPyramid.levelSizes(Size2D(height: 12_500, width: 9_000)).map(\.width) == [9_000, 4_500, 2_250, 1_125, 563, 282])
        #expect(HeatmapPyramid.tileSize(size) == 64)

        let slide = try #require(openslide_open(path))
        defer { openslide_close(slide) }
        #expect(openslide_get_error(slide) == nil)
        #expect(String(cString: openslide_get_property_value(slide, "openslide.vendor")) == "generic-tiff")
        #expect(openslide_get_level_count(slide) == 1)
        var (width, height): (Int64, Int64) = (0, 0)
        openslide_get_level_dimensions(slide, 0, &width, &height)
        #expect((height, width) == (70, 90))
        #expect(Double(String(cString: openslide_get_property_value(slide, "tiff.XResolution"))) == 5000)

        var argb = [UInt32](repeating: 0, count: 70 * 90)
        openslide_read_region(slide, &argb, 0, 0, 0, 90, 70)
        let field = HeatmapRenderer.field(grid: map, channel: 0, placement: placement, size: size, inputPerPixel: (4, 4))
        var (worst, total) = (0, 0)
        for index in argb.indices {
            let expected = field[index].isNaN ? 0 : Int((min(max(field[index], 0), 1) * 255 + 0.5).rounded(.down))
            worst = max(worst, abs(Int(argb[index] & 0xFF) - expected))
            total += abs(Int(argb[index] & 0xFF) - expected)
            #expect(argb[index] >> 24 == 255 && argb[index] >> 16 & 0xFF == argb[index] & 0xFF)
        }
        // Deflate is lossless; JPEG at quality 90 rings a little around the hole the NaN cell makes.
        #expect(worst <= (jpeg ? 16 : 0), "largest difference \(worst)")
        #expect(Double(total) / Double(argb.count) <= (jpeg ? 1.5 : 0))
        // Pixel p is centred at input 4p + 1.5, so the NaN cell (3, 4), centred at (25.5, 29.5), is pixel (6, 7): 0.
        if !jpeg { #expect(argb[6 * 90 + 7] & 0xFF == 0 && argb[6 * 90 + 9] & 0xFF != 0) }
    }

    @Test func largerPyramidsHaveHalvedLevels() throws {
        let map = MapImage(size: Size2D(height: 40, width: 50), channels: 2, values: (0..<4000).map { Float($0 % 2) })
        let path = scratch.path("big.tif")
        try HeatmapPyramid.write(to: path, grid: map, channel: 1, placement: CellPlacement(startY: 0, startX: 0, jumpY: 1, jumpX: 1),
                                 size: Size2D(height: 600, width: 1000), inputPerPixel: (40.0 / 600, 50.0 / 1000), low: 0, high: 1,
                                 micronsPerPixel: nil, description: "ones", jpeg: false)
        let slide = try #require(openslide_open(path))
        defer { openslide_close(slide) }
        #expect(openslide_get_level_count(slide) == 2)
        var sizes: [[Int64]] = []
        for level in 0..<2 {
            var (width, height): (Int64, Int64) = (0, 0)
            openslide_get_level_dimensions(slide, Int32(level), &width, &height)
            sizes.append([height, width])
        }
        #expect(sizes == [[600, 1000], [300, 500]])
        for level in 0..<2 {
            var pixel: UInt32 = 0
            openslide_read_region(slide, &pixel, 500, 300, Int32(level), 1, 1)
            #expect(pixel == 0xFFFF_FFFF, "level \(level)")
        }
    }
}
