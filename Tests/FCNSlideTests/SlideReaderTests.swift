import FCNSlide
import Foundation
import Testing
import _FCNTestSupport

/// The slide fixtures (scripts/golden/make_slide_fixtures.py) read through OpenSlide and
/// libtiff match what tifffile + imagecodecs decode from them (slides.json).
@Suite struct SlideReaderTests {
    struct Reference: Decodable {
        struct Pixel: Decodable {
            let level: Int
            let row: Int
            let column: Int
            let rgb: [Int]
        }

        struct Entry: Decodable {
            let levels: [[Int]]
            let mppX: Double?
            let pixels: [Pixel]
        }

        let slides: [String: Entry]
    }

    static let reference: Reference = Fixtures.decodeJSON("slides/slides.json")

    /// OpenSlide decodes JPEG tiles with libjpeg-turbo, tifffile with imagecodecs' own build:
    /// the same DCT can round a sample differently. Deflate tiles match exactly.
    @Test(arguments: [("pyramid.tif", "openslide:generic-tiff", 2), ("striped.tif", "libtiff", 0)])
    func levelsResolutionAndPixelsMatchTheReference(file: String, format: String, tolerance: Int) throws {
        let slide = try Slide(path: Fixtures.path("slides/\(file)"))
        let expected = try #require(Self.reference.slides[file])
        #expect(slide.format == format)
        #expect(slide.levels.map { [$0.height, $0.width] } == expected.levels)
        #expect(slide.micronsPerPixel?.x == expected.mppX)
        #expect(slide.levels.map(\.downsample) == expected.levels.map { Double(expected.levels[0][1]) / Double($0[1]) })
        for pixel in expected.pixels {
            let rgb = try slide.readRGB(level: pixel.level, top: pixel.row, left: pixel.column, height: 1, width: 1)
            for channel in 0..<3 {
                #expect(abs(Int(rgb[channel]) - pixel.rgb[channel]) <= tolerance, "\(file) level \(pixel.level) (\(pixel.row), \(pixel.column)): \(rgb) vs \(pixel.rgb)")
            }
        }
    }

    @Test func regionsAcrossTilesAndEdgesEqualTheirPixels() throws {
        for file in ["pyramid.tif", "striped.tif"] {
            let slide = try Slide(path: Fixtures.path("slides/\(file)"))
            let level = slide.levels[0]
            // A region crossing tile or strip borders and the bottom-right edge: inside, each
            // pixel equals its own one-pixel read; outside, the background (white).
            let (top, left, height, width) = (level.height - 40, level.width - 300, 60, 310)
            let region = try slide.readRGB(level: 0, top: top, left: left, height: height, width: width)
            for (y, x) in [(0, 0), (17, 255), (39, 299), (39, 44), (40, 0), (0, 300), (59, 309)] {
                let inside = top + y < level.height && left + x < level.width
                let expected = inside ? try slide.readRGB(level: 0, top: top + y, left: left + x, height: 1, width: 1) : [255, 255, 255]
                #expect(Array(region[((y * width + x) * 3)..<((y * width + x) * 3 + 3)]) == expected, "\(file) (\(y), \(x))")
            }
        }
    }

    @Test func levelChoice() throws {
        let slide = try Slide(path: Fixtures.path("slides/pyramid.tif"))
        #expect(try slide.chooseLevel(level: nil, micronsPerPixel: nil) == 0)
        #expect(try slide.chooseLevel(level: 2, micronsPerPixel: nil) == 2)
        #expect(try slide.chooseLevel(level: nil, micronsPerPixel: 1.0) == 1)
        #expect(try slide.chooseLevel(level: nil, micronsPerPixel: 2.01) == 2)
        #expect(throws: SlideError.levelOutOfRange(path: slide.path, level: 3, levels: 3)) { try slide.chooseLevel(level: 3, micronsPerPixel: nil) }
        #expect(throws: SlideError.noLevel(path: slide.path, mpp: 0.3, available: [0.5, 1, 2])) { try slide.chooseLevel(level: nil, micronsPerPixel: 0.3) }
        #expect(throws: SlideError.noLevel(path: slide.path, mpp: 1.5, available: [0.5, 1, 2])) { try slide.chooseLevel(level: nil, micronsPerPixel: 1.5) }
        let striped = try Slide(path: Fixtures.path("slides/striped.tif"))
        #expect(throws: SlideError.noResolution(path: striped.path)) { try striped.chooseLevel(level: nil, micronsPerPixel: 0.5) }
    }

    /// Damaged files fail with a SlideError naming the file, at open or at the first read, never a trap.
    @Test(arguments: ["truncated.tif", "corrupt.tif", "not-a-slide.svs"])
    func damagedFilesAreRefused(file: String) throws {
        let path = Fixtures.path("slides/\(file)")
        do {
            let slide = try Slide(path: path)
            for level in slide.levels.indices {
                let size = slide.levels[level]
                _ = try slide.readRGB(level: level, top: 0, left: 0, height: size.height, width: size.width)
            }
            Issue.record("\(file) read without error")
        } catch {
            #expect(error.description.hasPrefix(path), "\(error)")
            switch error {
            case .unreadable, .unsupportedFormat: break
            default: Issue.record("unexpected \(error)")
            }
        }
        #expect(Slide.isSlide(path: path) == (file != "not-a-slide.svs"))
    }

    @Test func thumbnailAveragesTheCoarsestLevelLargeEnough() throws {
        let slide = try Slide(path: Fixtures.path("slides/pyramid.tif"))
        let thumbnail = try slide.thumbnail(size: .init(height: 192, width: 256))
        // From level 2 (384 × 512): each thumbnail pixel is the mean of a 2 × 2 block.
        let block = try slide.readRGB(level: 2, top: 100, left: 60, height: 2, width: 2)
        for channel in 0..<3 {
            let mean = (0..<4).map { Int(block[$0 * 3 + channel]) }.reduce(0, +)
            #expect(Int(thumbnail.pixels[(50 * 256 + 30) * 3 + channel]) == (mean + 2) / 4)
        }
    }
}
