import FCNImage
import FCNModel
import Foundation
import Testing
import _FCNTestSupport

/// Decoding against what Pillow decodes from the same files (scripts/golden/make_image_fixtures.py),
/// and the broken files refused with a reason.
@Suite struct ImageFileTests {
    struct Reference: Decodable, Sendable {
        let height: Int
        let width: Int
        let channels: Int
        let pixels: [Int]
    }

    static let references: [String: Reference] = {
        struct Record: Decodable { let decoded: [String: Reference] }
        let data = try! Data(contentsOf: Fixtures.directory.appendingPathComponent("images/images.json"))
        return try! JSONDecoder().decode(Record.self, from: data).decoded
    }()

    @Test(arguments: references.keys.sorted())
    func decodesLikePillow(_ name: String) throws {
        let reference = try #require(Self.references[name])
        let image = try PixelImage.read(path: Fixtures.path("images/\(name)"))
        #expect(image.size == Size2D(height: reference.height, width: reference.width))
        #expect(image.channels == reference.channels)
        // PNG is lossless; JPEG decoders may round the inverse DCT differently.
        let tolerance = name.hasSuffix(".jpg") ? 3 : 0
        let worst = zip(image.pixels, reference.pixels).map { abs(Int($0) - $1) }.max() ?? 0
        #expect(worst <= tolerance, "largest difference \(worst)")
    }

    @Test(arguments: [
        ("truncated.png", "the file ends before the image does (truncated or damaged)"), ("truncated.jpg", "truncated"), ("not-an-image.png", "not a PNG or JPEG"),
        ("zero-width.png", "cannot read the image"), ("huge.png", "limit"), ("absent.png", "no such file"),
    ])
    func refusesBrokenImages(name: String, fragment: String) {
        do {
            _ = try PixelImage.read(path: Fixtures.path("images/\(name)"))
            Issue.record("\(name) was read")
        } catch {
            #expect(error.description.contains(fragment), "\(error.description)")
        }
    }

    @Test func theLimitIsOverridable() {
        #expect(throws: ImageError.tooLarge(path: Fixtures.path("images/rgb8.png"), size: Size2D(height: 11, width: 19), limit: 100)) {
            try PixelImage.read(path: Fixtures.path("images/rgb8.png"), maximumPixels: 100)
        }
        #expect(throws: Never.self) { try PixelImage.read(path: Fixtures.path("images/rgb8.png"), maximumPixels: 209) }
    }

    @Test func writesPNGThatReadsBack() throws {
        let scratch = try TemporaryDirectory()
        let image = PixelImage(size: Size2D(height: 3, width: 2), channels: 3, pixels: (0..<18).map { UInt8($0 * 14) })
        try image.writePNG(to: scratch.path("out.png"))
        #expect(try PixelImage.read(path: scratch.path("out.png")) == image)
        #expect(throws: ImageError.self) { try image.writePNG(to: scratch.path("missing/out.png")) }
    }

    @Test func presetsNormaliseAsDocumented() {
        let image = PixelImage(size: Size2D(height: 1, width: 2), channels: 3, pixels: [0, 128, 255, 255, 255, 255])
        let tf = Preprocessing(preset: .tf).input(from: image, channels: 3).values
        #expect(tf[0] == -1 && tf[5] == 1)
        let caffe = Preprocessing(preset: .caffe).input(from: image, channels: 3).values
        #expect(abs(caffe[0] - (255 - 103.939)) < 1e-3)  // blue first
        #expect(abs(caffe[2] - (0 - 123.68)) < 1e-3)
        let unit = Preprocessing(preset: .unit).input(from: image, channels: 1).values
        #expect(abs(unit[1] - 1) < 1e-6)
        let torch = Preprocessing(preset: .torch).input(from: image, channels: 3).values
        #expect(abs(torch[0] - (0 - 0.485) / 0.229) < 1e-5)
    }

    @Test func resizesTheShorterSide() {
        let image = PixelImage(size: Size2D(height: 10, width: 20), channels: 1, pixels: .init(repeating: 7, count: 200))
        let resized = image.resized(shorterSide: 5)
        #expect(resized.size == Size2D(height: 5, width: 10))
        #expect(resized.pixels.allSatisfy { $0 == 7 })
    }
}
