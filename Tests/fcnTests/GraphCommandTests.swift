import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport

/// The CLI on graph classifiers: `.keras` files, a converted file verified against its classifier,
/// inspect marking what cannot be converted, and the CAM combination verify refuses.
@Suite struct GraphCommandTests {
    let scratch = try! TemporaryDirectory()
    let resnet = Fixtures.path("graphs/resnet_mini.keras")

    @Test func verifiesAConvertedFileAgainstItsClassifier() throws {
        let converted = scratch.path("resnet.fcn.h5")
        #expect(try CommandRunner.run(["convert", resnet, "-o", converted]).status == 0)
        let good = try CommandRunner.run(["verify", resnet, "--converted", converted, "--samples", "4"])
        #expect(good.status == 0, "\(good.standardError)")
        #expect(good.standardOutput.contains("Verified"))
        // Another network's FCN is not this classifier's.
        let other = scratch.path("mobilenet.fcn.h5")
        #expect(try CommandRunner.run(["convert", Fixtures.path("graphs/mobilenet_v2.keras"), "-o", other]).status == 0)
        let bad = try CommandRunner.run(["verify", resnet, "--converted", other, "--samples", "4"])
        #expect(bad.status == 1)
        #expect(bad.standardOutput.contains("FAILED"))
    }

    @Test(arguments: ["graphs/conv1d_net.keras", "graphs/xception_mini.keras", "graphs/densenet_mini.keras"])
    func verifiesGraphAndSequenceClassifiers(_ file: String) throws {
        let result = try CommandRunner.run(["verify", Fixtures.path(file), "--samples", "6"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("Verified"))
    }

    /// A Conv1D classifier's heatmap: the grid equals the hand-built Keras FCN's, the manifest
    /// places cells as the fixture script's independent calculator does, and a plot is drawn.
    @Test func heatmapOfASequenceWritesTheGridTheManifestAndAPlot() throws {
        let fixture = try #require(GraphManifest.shared.fixtures.first { $0.name == "conv1d_net" })
        let geometry = try #require(fixture.geometry)
        let input = Fixtures.path(try #require(fixture.golden.fcnInput))
        let folder = scratch.path("sequence")
        let result = try CommandRunner.run(["heatmap", Fixtures.path(fixture.file), input, "-o", folder, "--top", "2"])
        #expect(result.status == 0, "\(result.standardError)")
        let stem = "conv1d_net.fcn_input"
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["\(stem).grid.npy", "\(stem).json", "\(stem).scores.png", "index.jsonl"])
        let grid = try NumPyFile.read(path: "\(folder)/\(stem).grid.npy")
        expectClose(grid, try NumPyFile.read(path: Fixtures.path(try #require(fixture.golden.fcnOutput))), "conv1d heatmap grid")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(stem).json"))) as? [String: Any])
        #expect(manifest["grid"] as? Int == geometry.grid[0])
        #expect(manifest["stride"] as? Int == geometry.jump[0])
        #expect(manifest["offset"] as? Double == geometry.start[0])
        #expect(manifest["receptive_field"] as? Int == geometry.receptiveField[0])
        #expect((manifest["classes"] as? [Any])?.count == 2)
    }

    @Test func aSequenceOfTheWrongShapeIsRefusedWithBothShapes() throws {
        let image = Fixtures.path("graphs/resnet_mini.fcn_input.npy")
        let result = try CommandRunner.run(["heatmap", Fixtures.path("graphs/conv1d_net.keras"), image, "-o", scratch.path("bad")])
        #expect(result.status == 1)
        #expect(result.standardError.contains("(length, 2) or (1, length, 2)"), "\(result.standardError)")
    }

    @Test func inspectMarksTheRefusedLayerAndSaysWhy() throws {
        let result = try CommandRunner.run(["inspect", Fixtures.path("graphs/efficientnet_se.keras")])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("NO"))
        #expect(result.standardOutput.contains("block1a_se_squeeze"))
        #expect(result.standardOutput.contains("Converts to a fully convolutional network: no"))
    }

    @Test func inspectListsTheWeightsOfAFileWithoutItsArchitecture() throws {
        let result = try CommandRunner.run(["inspect", Fixtures.path("models/k2_weights.h5")])
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("'/dense_1/dense_1/kernel:0'") && result.standardOutput.contains("(336, 12)"))
        #expect(result.standardError.contains("--arch"))
    }

    @Test func verifyRefusesClassActivationMaps() throws {
        try CommandRunner.expectOneLineError(["verify", Fixtures.path("models/k3_gap.h5"), "--gap", "cam"],
                                             mentions: ["class activation map", "--gap window"])
    }
}
