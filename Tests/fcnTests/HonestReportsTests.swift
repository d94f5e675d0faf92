import Foundation
import Testing
import _FCNTestSupport

/// What the commands say about their results: converted files that keep their class names and
/// say where they came from, inspect saying what convert can write, verify's verdict worded as
/// what it proved, and the JSON forms of verify and heatmap.
@Suite struct HonestReportsTests {
    let scratch = try! TemporaryDirectory()
    let digits = Fixtures.repositoryRoot.appendingPathComponent("models/digits-lenet.h5").path
    let scene = Fixtures.repositoryRoot.appendingPathComponent("models/demo-scene.png").path

    private func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func aConvertedFileKeepsItsLabelsAndSaysWhereItCameFrom() throws {
        let converted = scratch.path("digits-fcn.h5")
        let convert = try CommandRunner.run(["convert", digits, "-o", converted])
        #expect(convert.status == 0, "\(convert.standardError)")
        #expect(convert.standardOutput.contains("11 class names"))

        let inspect = try CommandRunner.run(["inspect", converted])
        #expect(inspect.standardOutput.contains("FCNKit 0.1.0 fully convolutional file (Keras .h5), converted from \(digits)"))
        #expect(!inspect.standardOutput.contains("Keras 3.0.0 full model"))
        let report = try json(try CommandRunner.run(["inspect", converted, "--json"]).standardOutput)
        let model = try #require(report["model"] as? [String: Any])
        #expect((model["class_names"] as? [String])?.last == "background")
        #expect((model["converted_from"] as? String)?.hasPrefix(digits) == true)

        // No labels file beside the converted file: the recorded names name the classes.
        let folder = scratch.path("named")
        let heatmap = try CommandRunner.run(["heatmap", converted, scene, "-o", folder, "--class", "background"])
        #expect(heatmap.status == 0, "\(heatmap.standardError)")
        #expect(FileManager.default.fileExists(atPath: folder + "/demo-scene.background.heatmap.png"))
    }

    @Test func convertRefusesALabelsFileOfTheWrongLength() throws {
        let labels = try scratch.write("two.txt", Data("a\nb\n".utf8))
        let output = scratch.path("never.h5")
        let result = try CommandRunner.run(["convert", digits, "-o", output, "--labels", labels])
        #expect(result.status != 0)
        #expect(result.standardError.contains("has 2 names but the model has 11 classes"))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func inspectSaysWhatConvertCanWrite() throws {
        let graphs = Fixtures.path("graphs")
        let caffe = try CommandRunner.run(["inspect", "\(graphs)/caffenet_mini.caffemodel.h5", "--arch", "\(graphs)/caffenet_mini.prototxt"])
        #expect(caffe.standardOutput.contains("Converts to a fully convolutional network: yes"))
        #expect(caffe.standardOutput.contains("fcn convert writes it as a Keras .h5: no (layer 'norm1' (LRN)"))
        #expect(caffe.standardOutput.contains("fcn run, heatmap and verify still work"))
        let refused = try CommandRunner.run(["convert", "\(graphs)/caffenet_mini.caffemodel.h5", "--arch", "\(graphs)/caffenet_mini.prototxt",
                                             "-o", scratch.path("caffe.h5")])
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("fcn run, heatmap and verify still work on the original file"))
        let keras = try json(try CommandRunner.run(["inspect", digits, "--json"]).standardOutput)
        let file = try #require(keras["keras_file"] as? [String: Any])
        #expect(file["writable"] as? Bool == true)
        #expect(file["reason"] is NSNull)
    }

    @Test func inspectJSONWritesEveryDocumentedNullableKey() throws {
        let report = try json(try CommandRunner.run(["inspect", digits, "--json"]).standardOutput)
        #expect(report["reason"] is NSNull)
        let model = try #require(report["model"] as? [String: Any])
        #expect(model["architecture"] is NSNull)
        let pool = try #require((report["layers"] as? [[String: Any]])?.first { $0["name"] as? String == "pool1" })
        #expect(pool["activation"] is NSNull)
        #expect(pool["reason"] is NSNull)
    }

    @Test func verifyWordsItsVerdictAsWhatWasProven() throws {
        let plain = try CommandRunner.run(["verify", digits])
        #expect(plain.standardOutput.contains("every sampled cell equals the classifier on the crop behind it"))
        let padded = try CommandRunner.run(["verify", Fixtures.path("models/k3_vgg_same_bn.h5")])
        #expect(padded.status == 0, "\(padded.standardError)")
        #expect(padded.standardOutput.contains("every sampled cell equals an independent evaluation of the FCN"))
        #expect(padded.standardOutput.contains("cells differ from the classifier on their crops"))
        #expect(!padded.standardOutput.contains("equals the classifier within"))

        let report = try json(try CommandRunner.run(["verify", Fixtures.path("models/k3_vgg_same_bn.h5"), "--json"]).standardOutput)
        #expect(report["never_pads"] as? Bool == false)
        #expect(report["sampled_against"] as? String == "independent evaluation")
        #expect(report["passed"] as? Bool == true)
        #expect((report["context_effect"] as? [String: Any])?["relative_error"] is Double)
        #expect((report["verdict"] as? String)?.hasPrefix("Verified within") == true)
    }

    @Test func heatmapJSONPrintsOneLinePerInputAsItFinishes() throws {
        let broken = Fixtures.path("images/truncated.png")
        let result = try CommandRunner.run(["heatmap", digits, scene, broken, "-o", scratch.path("json"), "--json", "--top", "1"])
        #expect(result.status == 1)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let ok = try json(lines[0]), failed = try json(lines[1])
        #expect(ok["status"] as? String == "ok")
        #expect((ok["outputs"] as? [String])?.contains("demo-scene.json") == true)
        #expect(failed["status"] as? String == "failed")
        #expect((failed["error"] as? String)?.contains("the file ends before the image does") == true)
        #expect(!result.standardOutput.contains("wrote"))
        #expect(result.standardError.contains("1 of 2 images failed (see above); the other one was written to"))
    }

    @Test func quietPrintsOnlyErrors() throws {
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", scratch.path("quiet"), "-q", "--class", "7", "--class", "7"])
        #expect(result.status == 0)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.isEmpty, "\(result.standardError)")
    }
}

/// Every subcommand's help ends with examples of its own use.
@Suite struct HelpExamplesTests {
    @Test(arguments: ["inspect", "convert", "run", "verify", "bench", "heatmap"])
    func helpShowsExamples(subcommand: String) throws {
        let help = try CommandRunner.run([subcommand, "--help"])
        #expect(help.status == 0)
        let examples = try #require(help.standardOutput.components(separatedBy: "Examples:").last)
        #expect(examples.contains("fcn \(subcommand) "), "\(help.standardOutput)")
    }
}
