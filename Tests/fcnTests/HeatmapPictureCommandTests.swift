import FCNConvert
import FCNImage
import FCNImport
import FCNKerasExport
import FCNModel
import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport

/// `fcn heatmap`'s picture options end to end: --scale, --colormap, --alpha, legends,
/// --output-size, --no-grid and --top, on the bundled softmax model and a logits copy of it.
@Suite struct HeatmapPictureCommandTests {
    let scratch = try! TemporaryDirectory()
    let digits = Fixtures.repositoryRoot.appendingPathComponent("models/digits-lenet.h5").path
    let labels = Fixtures.repositoryRoot.appendingPathComponent("models/digits-lenet-labels.txt").path
    let scene = Fixtures.repositoryRoot.appendingPathComponent("models/demo-scene.png").path
    /// The scene's size, and the height of the legend under its pictures.
    let sceneSize = Size2D(height: 240, width: 360)
    var legendHeight: Int { HeatmapLegend.height(forWidth: sceneSize.width) }

    /// The bundled model converted, with the final softmax taken off (what
    /// scripts/golden/make_logits_model.py makes with Keras), written as an FCN .h5.
    private func logitsModel() throws -> String {
        let converted = try Convolutionalizer.convert(try ModelImporter.load(path: digits))
        var layers = converted.network.layers
        guard case .convolution(var last) = layers[layers.count - 1].operation, last.activation == .softmax else {
            Issue.record("the bundled model no longer ends in a softmax convolution")
            return digits
        }
        last.activation = .linear
        layers[layers.count - 1].operation = .convolution(last)
        let network = converted.network
        let logits = Network(name: network.name, inputShape: network.inputShape, dataFormat: network.dataFormat, layers: layers,
                             inputHasChannelAxis: network.inputHasChannelAxis, isSequence: network.isSequence, inputName: network.inputName)
        let path = scratch.path("digits-lenet-logits.h5")
        try KerasFileWriter.write(Model(network: logits, weights: converted.weights, source: converted.source), to: path)
        return path
    }

    private func manifest(_ folder: String, _ name: String = "demo-scene") throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name).json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func classes(_ manifest: [String: Any]) throws -> [[String: Any]] {
        try #require(manifest["classes"] as? [[String: Any]])
    }

    /// A manifest's list of float32 numbers, as written (JSON numbers read back as doubles).
    private func floats(_ value: Any?) -> [Float]? { (value as? [Double])?.map { Float($0) } }

    /// Class `channel` of a (1, H, W, K) grid file.
    private func scores(_ grid: Tensor, channel: Int) -> [Float] {
        let classes = grid.shape[3]
        return stride(from: channel, to: grid.values.count, by: classes).map { grid.values[$0] }
    }

    @discardableResult
    private func run(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandRunner.Result {
        let result = try CommandRunner.run(["heatmap"] + arguments + ["--quiet"])
        #expect(result.status == 0, "\(result.standardError)", sourceLocation: sourceLocation)
        return result
    }

    // MARK: - --scale

    @Test func softmaxModelIsDrawnAsProbabilitiesWithALegend() throws {
        let folder = scratch.path("softmax")
        try run([digits, scene, "-o", folder, "--class", "7"])
        let manifest = try manifest(folder)
        let scale = try #require(manifest["scale"] as? [String: Any])
        #expect(scale["mode"] as? String == "probability" && scale["requested"] as? String == "auto")
        #expect(try classes(manifest).first?["scale"] as? [Double] == [0, 1])
        #expect(manifest["legend"] as? Bool == true && manifest["color_map"] as? String == "viridis")
        #expect(manifest["picture_size"] as? [Int] == [240, 360])
        for kind in ["heatmap", "overlay"] {
            let picture = try PixelImage.read(path: "\(folder)/demo-scene.7.\(kind).png")
            #expect(picture.size == Size2D(height: sceneSize.height + legendHeight, width: sceneSize.width), "\(kind)")
        }
    }

    @Test func logitsModelGetsEachClassOwnRangeByDefault() throws {
        let folder = scratch.path("logits")
        try run([try logitsModel(), scene, "-o", folder, "--labels", labels, "--class", "7", "--class", "background"])
        let manifest = try manifest(folder)
        let scale = try #require(manifest["scale"] as? [String: Any])
        #expect(scale["mode"] as? String == "per-class" && scale["requested"] as? String == "auto")
        #expect((scale["meaning"] as? String)?.contains("logit") == true)
        let grid = try NumPyFile.read(path: "\(folder)/demo-scene.grid.npy")
        for (entry, channel) in zip(try classes(manifest), [7, 10]) {
            let values = scores(grid, channel: channel)
            #expect(floats(entry["scale"]) == [values.min()!, values.max()!], "class \(channel)")
        }
        let global = (Double(grid.values.min()!), Double(grid.values.max()!))
        #expect(global.0 < -20 && global.1 > 20, "logits, not probabilities: \(global)")
    }

    @Test func globalAndFixedScales() throws {
        let model = try logitsModel()
        let globalFolder = scratch.path("global")
        try run([model, scene, "-o", globalFolder, "--class", "7", "--class", "3", "--scale", "global"])
        let grid = try NumPyFile.read(path: "\(globalFolder)/demo-scene.grid.npy")
        for entry in try classes(try manifest(globalFolder)) {
            #expect(floats(entry["scale"]) == [grid.values.min()!, grid.values.max()!])
        }
        #expect((try manifest(globalFolder)["scale"] as? [String: Any])?["mode"] as? String == "global")
        for (index, spelling) in [["--scale", "-5,5"], ["--scale=-5,5"]].enumerated() {
            let folder = scratch.path("fixed\(index)")
            try run([model, scene, "-o", folder, "--class", "7"] + spelling)
            #expect(try classes(try manifest(folder)).first?["scale"] as? [Double] == [-5, 5], "\(spelling)")
            #expect((try manifest(folder)["scale"] as? [String: Any])?["mode"] as? String == "fixed")
        }
        let probability = scratch.path("probability")
        try run([digits, scene, "-o", probability, "--class", "7", "--scale", "per-class"])
        #expect((try manifest(probability)["scale"] as? [String: Any])?["requested"] as? String == "per-class")
    }

    @Test(arguments: [("5,5", "LO must be less than HI"), ("9,-1", "LO must be less than HI"), ("nan,1", "LO,HI must be two finite numbers"),
                      ("loud", "expected auto, probability, per-class, global or LO,HI"), ("1,2,3", "expected auto")])
    func badScalesAreRefusedBeforeAnyWork(value: String, reason: String) throws {
        let folder = scratch.path("bad-scale")
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", folder, "--scale", value])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--scale \(value): \(reason)"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    // MARK: - --colormap, --alpha, --no-legend

    @Test func grayColormapDrawsGrayPictures() throws {
        let folder = scratch.path("gray")
        try run([digits, scene, "-o", folder, "--class", "7", "--colormap", "gray", "--no-legend"])
        let heatmap = try PixelImage.read(path: "\(folder)/demo-scene.7.heatmap.png")
        #expect(heatmap.channels == 3)
        let count = heatmap.size.height * heatmap.size.width
        let pixels = heatmap.pixels
        let colored = (0..<count).filter { (index: Int) -> Bool in
            pixels[index * 3] != pixels[index * 3 + 1] || pixels[index * 3 + 1] != pixels[index * 3 + 2]
        }
        #expect(colored.isEmpty, "\(colored.count) pixels are not gray")
        #expect(Set(heatmap.pixels).count > 10, "more than a few levels of gray")
        #expect(try manifest(folder)["color_map"] as? String == "gray")
    }

    @Test func unknownColormapListsTheMaps() throws {
        let folder = scratch.path("bad-map")
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", folder, "--colormap", "rainbow"])
        #expect(result.status == 64)
        for name in ["'rainbow'", "viridis", "magma", "inferno", "turbo", "jet", "gray"] {
            #expect(result.standardError.contains(name), "stderr lacks \(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    @Test func alphaZeroShowsTheImageAndNoLegendKeepsItsSize() throws {
        let folder = scratch.path("alpha")
        try run([digits, scene, "-o", folder, "--class", "7", "--alpha", "0", "--no-legend"])
        let overlay = try PixelImage.read(path: "\(folder)/demo-scene.7.overlay.png")
        let image = try PixelImage.read(path: scene)
        #expect(overlay.size == image.size)
        #expect(overlay.pixels == image.pixels.flatMap { [$0, $0, $0] })
        let manifest = try manifest(folder)
        #expect(manifest["alpha"] as? Double == 0 && manifest["legend"] as? Bool == false)
    }

    @Test(arguments: ["1.5", "-0.1", "nan"])
    func alphaOutsideZeroToOneIsRefused(value: String) throws {
        let folder = scratch.path("bad-alpha")
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", folder, "--alpha=\(value)"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--alpha") && result.standardError.contains("between 0"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    // MARK: - --output-size, --no-grid

    @Test func outputSizeSetsThePicturesLongerSide() throws {
        let folder = scratch.path("large")
        try run([digits, scene, "-o", folder, "--class", "7", "--output-size", "720"])
        let heatmap = try PixelImage.read(path: "\(folder)/demo-scene.7.heatmap.png")
        #expect(heatmap.size == Size2D(height: 480 + HeatmapLegend.height(forWidth: 720), width: 720))
        let manifest = try manifest(folder)
        #expect(manifest["picture_size"] as? [Int] == [480, 720])
        #expect(manifest["image_size"] as? [Int] == [240, 360])
        let peak = try #require(try classes(manifest).first?["peak_pixel"] as? [Double])
        #expect(peak == [225.5, 233.5], "peaks stay in image pixels")
    }

    @Test func smallImagesAreEnlargedTo224() throws {
        let digit = scratch.path("digit.png")
        try PixelImage(size: Size2D(height: 28, width: 28), channels: 1, pixels: (0..<784).map { UInt8($0 % 200) }).writePNG(to: digit)
        let folder = scratch.path("small")
        try run([digits, digit, "-o", folder, "--class", "3", "--no-legend"])
        #expect(try PixelImage.read(path: "\(folder)/digit.3.heatmap.png").size == Size2D(height: 224, width: 224))
        #expect(try manifest(folder, "digit")["picture_size"] as? [Int] == [224, 224])
    }

    @Test(arguments: ["10", "9000", "-3"])
    func outputSizeOutOfRangeIsRefused(value: String) throws {
        let folder = scratch.path("bad-size")
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", folder, "--output-size=\(value)"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--output-size \(value): the pictures' longer side must be 32 to 8192 pixels"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    @Test func noGridLeavesOnlyThePicturesAndSaysSo() throws {
        let folder = scratch.path("no-grid")
        try run([digits, scene, "-o", folder, "--class", "7", "--no-grid"])
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        #expect(files == ["index.jsonl", "demo-scene.7.heatmap.png", "demo-scene.7.overlay.png", "demo-scene.json"])
        let manifest = try manifest(folder)
        #expect(manifest["grid_file"] is NSNull)
        #expect(manifest["files"] as? [String] == ["demo-scene.7.heatmap.png", "demo-scene.7.overlay.png"])
        let index = try String(contentsOfFile: "\(folder)/index.jsonl", encoding: .utf8)
        #expect(index.contains("demo-scene.7.overlay.png") && !index.contains("grid.npy"), "\(index)")
    }

    // MARK: - --top

    @Test func topRanksByTheShareOfCellsWonAndSkipsBackground() throws {
        let folder = scratch.path("top")
        try run([digits, scene, "-o", folder, "--top", "4"])
        let grid = try NumPyFile.read(path: "\(folder)/demo-scene.grid.npy")
        // The reference: count each cell's winning class here, independently of the renderer.
        let classes = grid.shape[3]
        var wins = [Int](repeating: 0, count: classes)
        for cell in 0..<(grid.values.count / classes) {
            let scores = Array(grid.values[(cell * classes)..<((cell + 1) * classes)])
            wins[scores.indices.max { scores[$0] < scores[$1] }!] += 1
        }
        let peaks = (0..<classes).map { scores(grid, channel: $0).max()! }
        let expected = (0..<10).sorted { (wins[$0], peaks[$0], -$0) > (wins[$1], peaks[$1], -$1) }.prefix(4)
        #expect(wins[10] > wins.prefix(10).max()!, "background wins most cells, and is skipped")
        let entries = try self.classes(try manifest(folder))
        #expect(entries.compactMap { $0["index"] as? Int } == Array(expected), "wins \(wins)")
        let shares = entries.compactMap { $0["cell_share"] as? Double }
        let expectedShares = expected.map { Double(wins[$0]) / Double(grid.values.count / classes) }
        #expect(zip(shares, expectedShares).allSatisfy { abs($0 - $1) < 1e-12 } && shares.count == 4, "\(shares)")
    }
}
