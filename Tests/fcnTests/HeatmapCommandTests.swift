import FCNImage
import FCNKerasExport
import FCNModel
import Foundation
import Testing
import _FCNTestSupport

/// `fcn heatmap` end to end: alignment of the written pictures, and bad images among good ones.
@Suite struct HeatmapCommandTests {
    let scratch = try! TemporaryDirectory()
    let digits = Fixtures.repositoryRoot.appendingPathComponent("models/digits-lenet.h5").path
    let scene = Fixtures.repositoryRoot.appendingPathComponent("models/demo-scene.png").path

    /// A one-channel "detector" whose output cell is the brightest input pixel of its window:
    /// conv1 copies the pixel at its kernel's centre, pool takes the maximum, conv2 copies again.
    /// Receptive field 5 + 1 + 2·2 = 10 px, stride 2.
    private func detector() throws -> String {
        func centreTap(_ size: Int) -> Tensor {
            Tensor(shape: [size, size, 1, 1], values: (0..<(size * size)).map { $0 == size * size / 2 ? 1 : 0 })
        }
        let network = Network(name: "detector", inputShape: .featureMap(height: 12, width: 12, channels: 1), dataFormat: .channelsLast, layers: [
            Layer(name: "conv1", sourceClass: "Conv2D", operation: .convolution(Convolution(filters: 1, kernelSize: Size2D(square: 5), activation: .plainReLU))),
            Layer(name: "pool", sourceClass: "MaxPooling2D", operation: .pooling(Pooling(kind: .max, poolSize: Size2D(square: 2), strides: Size2D(square: 2)))),
            Layer(name: "conv2", sourceClass: "Conv2D", operation: .convolution(Convolution(filters: 1, kernelSize: Size2D(square: 3)))),
        ])
        let weights: [String: LayerWeights] = [
            "conv1": .convolution(kernel: centreTap(5), bias: nil), "conv2": .convolution(kernel: centreTap(3), bias: nil),
        ]
        let path = scratch.path("detector.h5")
        try KerasFileWriter.write(Model(network: network, weights: weights, source: ModelSource(format: "test", path: "test")), to: path)
        return path
    }

    /// At the image's own size (--output-size 100 for this 80×100 image) and enlarged twice:
    /// the peak sits on the feature, scaled.
    @Test(arguments: [(37, 53, 1), (10, 90, 1), (70, 8, 1), (37, 53, 2), (70, 8, 2)])
    func peakOfTheWrittenHeatmapIsWithinOneStrideOfTheFeature(row: Int, column: Int, factor: Int) throws {
        var pixels = [UInt8](repeating: 0, count: 80 * 100)
        pixels[row * 100 + column] = 255
        let imagePath = scratch.path("dot.png")
        try PixelImage(size: Size2D(height: 80, width: 100), channels: 1, pixels: pixels).writePNG(to: imagePath)
        let folder = scratch.path("out")
        let result = try CommandRunner.run(["heatmap", try detector(), imagePath, "-o", folder, "--class", "0", "--quiet", "--overwrite",
                                            "--no-legend", "--output-size", String(100 * factor)])
        #expect(result.status == 0, "\(result.standardError)")
        let heatmap = try PixelImage.read(path: folder + "/dot.0.heatmap.png")
        let (height, width) = (80 * factor, 100 * factor)
        #expect(heatmap.size == Size2D(height: height, width: width))
        // Viridis gets brighter monotonically: the peak is the pixel with the largest green.
        let peak = (0..<(height * width)).max { heatmap.pixels[$0 * 3 + 1] < heatmap.pixels[$1 * 3 + 1] }!
        let (peakRow, peakColumn) = (Double(peak / width) / Double(factor), Double(peak % width) / Double(factor))
        #expect(abs(peakRow - Double(row)) <= 2 && abs(peakColumn - Double(column)) <= 2,
                "peak at (\(peakRow), \(peakColumn)) in image pixels, feature at (\(row), \(column))")
    }

    @Test func writesEveryFileForTheDemoScene() throws {
        let folder = scratch.path("scene")
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", folder, "--class", "7", "--class", "background"])
        #expect(result.status == 0, "\(result.standardError)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        #expect(files == ["index.jsonl", "demo-scene.7.heatmap.png", "demo-scene.7.overlay.png", "demo-scene.background.heatmap.png",
                          "demo-scene.background.overlay.png", "demo-scene.grid.npy", "demo-scene.json"])
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/demo-scene.json"))) as? [String: Any])
        #expect(manifest["grid"] as? [Int] == [54, 84])
        #expect(manifest["stride"] as? [Int] == [4, 4])
        #expect(manifest["receptive_field"] as? [Int] == [28, 28])
        let classes = try #require(manifest["classes"] as? [[String: Any]])
        #expect(classes.map { $0["name"] as? String } == ["7", "background"])
    }

    @Test func badImagesAreReportedAndGoodOnesStillWritten() throws {
        let folder = scratch.path("mixed")
        let images = ["images/truncated.png", "images/truncated.jpg", "images/not-an-image.png", "images/zero-width.png",
                      "images/huge.png", "images/gray8.png"].map(Fixtures.path)
        let result = try CommandRunner.run(["heatmap", digits, scene] + images + ["-o", folder, "--top", "1"])
        #expect(result.status != 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(files.contains("demo-scene.json"))
        #expect(!files.contains { $0.hasPrefix("truncated") || $0.hasPrefix("not-an-image") || $0.hasPrefix("huge") || $0.hasPrefix("zero") })
        #expect(!files.contains { $0.hasSuffix(".partial") })
        for fragment in ["truncated.png", "truncated.jpg", "not a PNG or JPEG", "zero-width.png", "limit", "smaller than the model's minimum input 28×28", "6 of 7 images failed"] {
            #expect(result.standardError.contains(fragment), "stderr lacks \(fragment)")
        }
    }

    @Test func largeImageLimitIsOverridable() throws {
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", scratch.path("small"), "--max-pixels", "1000"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("the image is 360x240 pixels, more than --max-pixels 1000; raise the limit"))
    }

    @Test func unknownClassNameFailsBeforeAnyImage() throws {
        let folder = scratch.path("unknown")
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", folder, "--class", "eleven"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("no class named 'eleven'"))
        #expect(result.standardError.contains("background"))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty ?? true)
    }
}
