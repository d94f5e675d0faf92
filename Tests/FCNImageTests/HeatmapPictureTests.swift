import FCNModel
import FCNRuntime
import Foundation
import Testing
import _FCNTestSupport

@testable import FCNImage

/// Colour maps against matplotlib, colour scales, legends, ranking and picture sizes.
@Suite struct HeatmapPictureTests {
    /// Tests/Fixtures/colormaps.json, written by scripts/make_colormap.py from matplotlib.
    struct ColormapSamples: Decodable {
        let matplotlib: String
        let entries: Int
        /// Per map: [value, red, green, blue] rows.
        let samples: [String: [[Double]]]
    }

    static let reference: ColormapSamples = Fixtures.decodeJSON("colormaps.json")

    @Test func everyMapHasReferenceSamples() {
        #expect(Set(Self.reference.samples.keys) == Set(ColorMap.allCases.map(\.rawValue)))
        #expect(Self.reference.entries == 256)
    }

    @Test(arguments: ColorMap.allCases)
    func mapsMatchMatplotlib(map: ColorMap) throws {
        let rows = try #require(Self.reference.samples[map.rawValue])
        #expect(rows.count >= 50)
        for row in rows {
            let (red, green, blue) = map.color(Float(row[0]))
            #expect([Double(red), Double(green), Double(blue)] == Array(row[1...]),
                    "\(map) at \(row[0]): \((red, green, blue)), matplotlib \(row[1...])")
        }
    }

    @Test func mapEndpointsAreTheTablesEnds() {
        #expect(ColorMap.viridis.color(0) == (68, 1, 84))
        #expect(ColorMap.viridis.color(1) == (253, 231, 36))
        #expect(ColorMap.gray.color(0) == (0, 0, 0))
        #expect(ColorMap.gray.color(1) == (255, 255, 255))
        #expect(ColorMap.jet.color(.nan) == ColorMap.jet.color(0))
        #expect(ColorMap.magma.color(-3) == ColorMap.magma.color(0))
        #expect(ColorMap.magma.color(7) == ColorMap.magma.color(1))
    }

    @Test(arguments: ColorMap.allCases)
    func coloredMapsTheRangesEndsToTheMapsEnds(map: ColorMap) {
        let image = HeatmapRenderer.colored([-2, 6, 2, -9, 40], size: Size2D(height: 1, width: 5),
                                            range: ScoreRange(low: -2, high: 6), colorMap: map)
        func pixel(_ index: Int) -> [UInt8] { Array(image.pixels[(index * 3)..<(index * 3 + 3)]) }
        let (low, high, middle) = (map.color(0), map.color(1), map.color(0.5))
        #expect(pixel(0) == [low.0, low.1, low.2])
        #expect(pixel(1) == [high.0, high.1, high.2])
        #expect(pixel(2) == [middle.0, middle.1, middle.2])
        #expect(pixel(3) == pixel(0), "below the range: the low end")
        #expect(pixel(4) == pixel(1), "above the range: the high end")
    }

    // MARK: - Scales

    /// A 2×3 grid of 2 classes: class 0 from 2 to 4, class 1 from −10 to 30.
    let grid = MapImage(size: Size2D(height: 2, width: 3), channels: 2,
                        values: [2, -10, 3, 0, 4, 30, 2.5, 5, 3.5, 20, 2, -1])

    @Test func perClassMapsEachClassOwnMinimumAndMaximumToZeroAndOne() {
        let first = ColorScale.perClass.range(ofClass: 0, in: grid)
        let second = ColorScale.perClass.range(ofClass: 1, in: grid)
        #expect(first == ScoreRange(low: 2, high: 4))
        #expect(second == ScoreRange(low: -10, high: 30))
        for (channel, range) in [(0, first), (1, second)] {
            let scores = stride(from: channel, to: grid.values.count, by: 2).map { grid.values[$0] }
            let positions = scores.map(range.position)
            #expect(positions.min() == 0 && positions.max() == 1, "class \(channel): \(positions)")
        }
    }

    @Test func globalProbabilityAndFixedScales() {
        #expect(ColorScale.global.range(ofClass: 0, in: grid) == ScoreRange(low: -10, high: 30))
        #expect(ColorScale.global.range(ofClass: 1, in: grid) == ScoreRange(low: -10, high: 30))
        #expect(ColorScale.probability.range(ofClass: 1, in: grid) == ScoreRange(low: 0, high: 1))
        #expect(ColorScale.fixed(low: -5, high: 5).range(ofClass: 0, in: grid) == ScoreRange(low: -5, high: 5))
        let constant = MapImage(size: Size2D(height: 1, width: 2), channels: 1, values: [3, 3])
        #expect(ColorScale.perClass.range(ofClass: 0, in: constant) == ScoreRange(low: 2.5, high: 3.5))
        let withNaN = MapImage(size: Size2D(height: 1, width: 3), channels: 1, values: [1, .nan, 2])
        #expect(ColorScale.perClass.range(ofClass: 0, in: withNaN) == ScoreRange(low: 1, high: 2))
    }

    @Test func autoResolvesByWhetherScoresAreProbabilities() {
        #expect(ColorScale.auto.resolved(probabilities: true) == .probability)
        #expect(ColorScale.auto.resolved(probabilities: false) == .perClass)
        #expect(ColorScale.global.resolved(probabilities: true) == .global)
    }

    @Test func scalesParse() throws {
        #expect(try ColorScale(parsing: "auto") == .auto)
        #expect(try ColorScale(parsing: "Per-Class") == .perClass)
        #expect(try ColorScale(parsing: "global") == .global)
        #expect(try ColorScale(parsing: "probability") == .probability)
        #expect(try ColorScale(parsing: "-5, 2.5") == .fixed(low: -5, high: 2.5))
    }

    @Test(arguments: [("3,3", "LO must be less than HI"), ("4,-1", "LO must be less than HI"), ("nan,1", "finite"),
                      ("0,inf", "finite"), ("loud", "expected auto, probability"), ("1,2,3", "expected auto"), ("1,", "finite")])
    func badScalesAreRefused(text: String, reason: String) {
        #expect {
            try ColorScale(parsing: text)
        } throws: { error in
            "\(error)".contains("--scale \(text)") && "\(error)".contains(reason)
        }
    }

    // MARK: - Legend

    let legend = HeatmapLegend(range: ScoreRange(low: -27.8, high: 16.3), colorMap: .viridis, title: "class 7", caption: "m.h5 | scale: per-class")

    @Test(arguments: [40, 224, 360, 720, 1500])
    func legendAddsItsHeightAndKeepsThePicture(width: Int) {
        let picture = PixelImage(size: Size2D(height: 30, width: width), channels: 3, pixels: (0..<(30 * width * 3)).map { UInt8($0 % 251) })
        let withLegend = legend.attached(below: picture)
        #expect(withLegend.size == Size2D(height: 30 + HeatmapLegend.height(forWidth: width), width: width))
        #expect(Array(withLegend.pixels.prefix(picture.pixels.count)) == picture.pixels)
        #expect(HeatmapLegend.height(forWidth: width) >= 49)
    }

    @Test func styleWithoutLegendDrawsPicturesAtTheImagesSize() {
        let base = PixelImage(size: Size2D(height: 20, width: 300), channels: 1, pixels: [UInt8](repeating: 90, count: 6000))
        let field = [Float](repeating: 0.5, count: 6000)
        let range = ScoreRange(low: 0, high: 1)
        let bare = PictureStyle(legend: false).pictures(field: field, on: base, range: range, title: "t", caption: "c")
        #expect(bare.heatmap.size == base.size && bare.overlay.size == base.size)
        let shown = PictureStyle(legend: true).pictures(field: field, on: base, range: range, title: "t", caption: "c")
        #expect(shown.heatmap.size.height == 20 + HeatmapLegend.height(forWidth: 300))
        #expect(shown.overlay.size.height == shown.heatmap.size.height)
    }

    @Test func legendBarRunsFromTheLowToTheHighColour() {
        let width = 300
        let strip = legend.strip(width: width)
        let row = 9  // inside the bar: 4 rows of space, then 10 of bar
        func pixel(_ x: Int) -> (UInt8, UInt8, UInt8) {
            let index = (row * width + x) * 3
            return (strip.pixels[index], strip.pixels[index + 1], strip.pixels[index + 2])
        }
        #expect(pixel(6) == ColorMap.viridis.color(0))
        #expect(pixel(width - 7) == ColorMap.viridis.color(1))
        #expect(pixel(2) == (255, 255, 255))
        // Text rows hold black pixels (the numbers, the title, the caption).
        let textRows = (19..<strip.size.height).filter { y in (0..<width).contains { strip.pixels[(y * width + $0) * 3] == 0 } }
        #expect(textRows.count >= 18, "\(textRows.count) rows with text")
    }

    /// The columns of the strip's number row that hold black pixels.
    private func numberColumns(_ strip: PixelImage) -> [Int] {
        let width = strip.size.width
        let scale = HeatmapLegend.textScale(forWidth: width)
        return (0..<width).filter { x in (19 * scale..<26 * scale).contains { y in strip.pixels[(y * width + x) * 3] == 0 } }
    }

    @Test func narrowLegendsStillShowBothEnds() {
        let probability = HeatmapLegend(range: ScoreRange(low: 0, high: 1), colorMap: .gray, title: "class 7", caption: "m.h5")
        let columns = numberColumns(probability.strip(width: 32))
        #expect(columns.contains { $0 < 12 } && columns.contains { $0 > 20 }, "0 at the left and 1 at the right: \(columns)")
        let wide = numberColumns(probability.strip(width: 300))
        #expect(Set(wide.map { $0 / 30 }).count >= 5, "the inner numbers 0.2 … 0.8 are drawn too")
    }

    @Test func alphaBlendsTheHeatmapOverTheImage() {
        let base = PixelImage(size: Size2D(height: 1, width: 1), channels: 1, pixels: [200])
        let heat = PixelImage(size: Size2D(height: 1, width: 1), channels: 3, pixels: [0, 100, 250])
        #expect(HeatmapRenderer.overlay(heat, on: base, opacity: 0).pixels == [200, 200, 200])
        #expect(HeatmapRenderer.overlay(heat, on: base, opacity: 1).pixels == [0, 100, 250])
        #expect(HeatmapRenderer.overlay(heat, on: base, opacity: 0.5).pixels == [100, 150, 225])
    }

    @Test func tickNumbers() {
        let probability = TickLabels(range: ScoreRange(low: 0, high: 1))
        #expect([probability.low.text, probability.high.text] == ["0", "1"])
        #expect(probability.inner.map(\.text) == ["0.2", "0.4", "0.6", "0.8"])
        let logits = TickLabels(range: ScoreRange(low: -27.8, high: 16.3))
        #expect([logits.low.text, logits.high.text] == ["-27.8", "16.3"])
        #expect(logits.inner.map(\.text) == ["-20", "-10", "0", "10"])
        let narrow = TickLabels(range: ScoreRange(low: 0.9991, high: 0.9999))
        #expect(narrow.inner.allSatisfy { $0.value > 0.9991 && $0.value < 0.9999 })
        #expect(TickLabels.text(2.5e6, decimals: 0) == "2.5e+06")
        #expect(TickLabels.text(-0.0001, decimals: 2) == "0")
    }

    @Test func fontHasWellFormedGlyphsForDigitsLettersAndNumberSigns() {
        for (character, rows) in BitmapFont.glyphs {
            #expect(rows.count == BitmapFont.glyphHeight, "\(character)")
            #expect(rows.allSatisfy { $0.count == BitmapFont.glyphWidth && $0.allSatisfy { "#.".contains($0) } }, "\(character): \(rows)")
            #expect(character == " " || rows.joined().contains("#"), "\(character) draws nothing")
        }
        let needed = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-+e:_()|/"
        #expect(needed.filter { BitmapFont.glyphs[$0] == nil }.isEmpty)
        #expect(Set(BitmapFont.glyphs.values.map { $0.joined() }).count == BitmapFont.glyphs.count, "two characters share a glyph")
        #expect(BitmapFont.width(of: "ab") == 11)
    }

    @Test func longTextIsCut() {
        #expect(HeatmapLegend.fitted("abcdefghij", width: 59, scale: 1) == "abcdefghij")
        #expect(HeatmapLegend.fitted("abcdefghijk", width: 59, scale: 1) == "abcdefgh..")
        #expect(HeatmapLegend.title(classIndex: 7, name: "7") == "class 7")
        #expect(HeatmapLegend.title(classIndex: 10, name: "background") == "class 10: background")
    }

    // MARK: - Ranking and sizes

    @Test func rankingByShareOfCellsWonSkipsBackgroundAndBreaksTiesByPeak() {
        // 4 cells × 4 classes; class 3 is "background" and wins two cells.
        let values: [Float] = [
            0.1, 0.6, 0.0, 0.3,
            0.0, 0.1, 0.2, 0.7,
            0.5, 0.2, 0.1, 0.2,
            0.1, 0.1, 0.0, 0.8,
        ]
        let ranking = ClassRanking(values: values, classes: 4)
        #expect(ranking.shares == [0.25, 0.25, 0, 0.5])
        #expect(ranking.peaks == [0.5, 0.6, 0.2, 0.8])
        #expect(ranking.peakCells == [2, 0, 1, 3])
        let names = ["zero", "one", "two", "Background"]
        #expect(ranking.top(3, name: { names[$0] }) == [1, 0, 2], "1 and 0 win one cell each; 1 peaks higher (0.6)")
        #expect(ranking.top(9, name: { names[$0] }).count == 3)
        #expect(ranking.top(1, name: String.init) == [3], "numbered classes are never skipped")
    }

    @Test func pictureSizes() {
        #expect(PictureStyle().pictureFactor(for: Size2D(height: 28, width: 28)) == 8)
        #expect(PictureStyle().pictureFactor(for: Size2D(height: 240, width: 360)) == 1)
        #expect(PictureStyle(longerSide: 720).pictureFactor(for: Size2D(height: 240, width: 360)) == 2)
        #expect(PictureStyle(longerSide: 90).pictureFactor(for: Size2D(height: 240, width: 360)) == 0.25)
        let small = PixelImage(size: Size2D(height: 28, width: 14), channels: 1, pixels: [UInt8](repeating: 7, count: 392))
        #expect(small.resized(by: PictureStyle().pictureFactor(for: small.size)).size == Size2D(height: 224, width: 112))
    }
}
