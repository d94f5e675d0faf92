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
