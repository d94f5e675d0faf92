import FCNKerasExport
import FCNModel
import FCNRuntime
import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport

/// `fcn run`, `convert`, `verify` and `bench` end to end, good and bad input.
@Suite struct RunCommandTests {
    let scratch = try! TemporaryDirectory()
    let lenet = Fixtures.path("models/k3_lenet.h5")

    private func write(_ name: String, shape: [Int], value: Float = 0.5) throws -> String {
        let path = scratch.path(name)
        try NumPyFile.write(Tensor(shape: shape, values: .init(repeating: value, count: shape.reduce(1, *))), to: path)
        return path
    }

    /// Expects a one-line error naming each fragment, a nonzero exit, and no output file.
    private func expectRefused(_ arguments: [String], output: String?, mentions fragments: [String],
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        try CommandRunner.expectOneLineError(arguments, mentions: fragments, sourceLocation: sourceLocation)
        if let output { #expect(!FileManager.default.fileExists(atPath: output), sourceLocation: sourceLocation) }
        let partial = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).filter { $0.hasSuffix(".partial") }
        #expect(partial.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func runsTheClassifierAndTheGrid() throws {
        let fixture = try #require(Manifest.shared.fixture(named: "k3_lenet"))
        let output = scratch.path("out.npy")
        let result = try CommandRunner.run(["run", lenet, Fixtures.path(fixture.golden.input), "-o", output, "--threads", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        expectClose(try NumPyFile.read(path: output), try NumPyFile.read(path: Fixtures.path(fixture.golden.output)))
    }

    @Test func convertThenRunGivesTheReferenceGrid() throws {
        let fixture = try #require(Manifest.shared.fixture(named: "k2_weights"))
        let converted = scratch.path("fcn.h5")
        let conversion = try CommandRunner.run(["convert", Fixtures.path(fixture.file), "--arch", Fixtures.path(fixture.arch!), "-o", converted])
        #expect(conversion.status == 0, "\(conversion.standardError)")
        #expect(conversion.standardOutput.contains("channels_last"))
        // The converted file is channels_last: give it the grid input as (N, H, W, C).
        let input = try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnInput))
        let channelsLast = scratch.path("input_hwc.npy")
        try NumPyFile.write(MapImage(framework: input, format: .channelsFirst).framework(.channelsLast), to: channelsLast)
        let output = scratch.path("grid.npy")
        let run = try CommandRunner.run(["run", converted, channelsLast, "-o", output])
        #expect(run.status == 0, "\(run.standardError)")
        let reference = try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnOutput))
        expectClose(try NumPyFile.read(path: output), MapImage(framework: reference, format: .channelsFirst).framework(.channelsLast))
    }

    @Test func verifyPassesAndSaysWhetherTheNetPads() throws {
        let plain = try CommandRunner.run(["verify", lenet, "--samples", "8"])
        #expect(plain.status == 0, "\(plain.standardError)")
        #expect(plain.standardOutput.contains("never pads"))
        #expect(plain.standardOutput.contains("Verified"))
        let padded = try CommandRunner.run(["verify", Fixtures.path("models/k3_vgg_same_bn.h5"), "--input", "61x47"])
        #expect(padded.status == 0, "\(padded.standardError)")
        #expect(padded.standardOutput.contains("context effect"))
        #expect(padded.standardOutput.contains("independent plain evaluation"))
    }

    @Test func verifyFailsAboveTheTolerance() throws {
        let result = try CommandRunner.run(["verify", lenet, "--tolerance", "1e-30", "--samples", "4"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("verification failed"))
    }

    @Test func benchPrintsJSON() throws {
        let result = try CommandRunner.run(["bench", lenet, "--input", "64x64", "--runs", "2", "--json", "--patchwise", "--threads", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["grid"] as? [Int] == [10, 10])
        for key in ["median_ms", "gflops", "peak_memory_bytes"] { #expect((object[key] as? Double ?? 0) > 0, "\(key)") }
        let patchwise = try #require(object["patchwise"] as? [String: Any])
        #expect(patchwise["crops"] as? Int == 100)
    }

    @Test func benchProfileNamesKernelsAndLevel() throws {
        let result = try CommandRunner.run(["bench", lenet, "--input", "64x64", "--runs", "1", "--json", "--profile",
                                            "--threads", "1", "--max-isa", "baseline"])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["instruction_set"] as? String == "baseline")
        let layers = try #require(object["layers"] as? [[String: Any]])
        #expect(layers.contains { $0["path"] as? String == "im2col+gemm openblas" })
        #expect(!layers.contains { ($0["path"] as? String ?? "").contains("avx") })
    }

    @Test func wrongRank() throws {
        let output = scratch.path("out.npy")
        try expectRefused(["run", lenet, try write("rank.npy", shape: [28]), "-o", output], output: output, mentions: ["shape (28)", "(H, W, 1)"])
    }

    @Test func wrongChannels() throws {
        let output = scratch.path("out.npy")
        try expectRefused(["run", lenet, try write("channels.npy", shape: [28, 28, 3]), "-o", output], output: output, mentions: ["(28, 28, 3)"])
    }

    @Test func smallerThanTheMinimum() throws {
        let output = scratch.path("out.npy")
        try expectRefused(["run", lenet, try write("small.npy", shape: [1, 20, 20, 1]), "-o", output], output: output,
                          mentions: ["takes exactly 28×28", "fcn convert"])
        // 31×31 flattens to as many values as 28×28 does, but the classifier is not defined there.
        try expectRefused(["run", lenet, try write("odd.npy", shape: [1, 31, 31, 1]), "-o", output], output: output,
                          mentions: ["takes exactly 28×28"])
    }

    @Test func nonFiniteInput() throws {
        let output = scratch.path("out.npy")
        try expectRefused(["run", lenet, try write("nan.npy", shape: [28, 28, 1], value: .nan), "-o", output], output: output, mentions: ["NaN"])
    }

    @Test func otherNumberTypesAreConvertedWithANoteAndDamageIsRefused() throws {
        let output = scratch.path("out.npy")
        for name in ["float64", "uint8", "gray_2d"] {
            let input = Fixtures.path("npy/\(name).npy")
            let result = try CommandRunner.run(["run", lenet, input, "-o", output])
            // (2, 3, 4) and (3, 4) arrays are smaller than the classifier's 28×28: refused by size,
            // after the note that says how they were read.
            #expect(result.status != 0)
            let note = name == "gray_2d" ? "is read as one channel" : "\(name) values read as float32"
            if name != "gray_2d" { #expect(result.standardError.contains("note: \(input): \(note)"), "\(result.standardError)") }
        }
        let gray = try scratch.write("gray.npy", Data(NumPyFile.encode(Tensor(shape: [28, 28], values: .init(repeating: 0.5, count: 784)))))
        let accepted = try CommandRunner.run(["run", lenet, gray, "-o", output])
        #expect(accepted.status == 0, "\(accepted.standardError)")
        #expect(accepted.standardError.contains("the input's shape (28, 28) is read as one channel"))
        #expect(try NumPyFile.read(path: output).shape == [10])
        try FileManager.default.removeItem(atPath: output)

        var bytes = NumPyFile.encode(Tensor(shape: [28, 28, 1], values: .init(repeating: 0, count: 784)))
        bytes.removeLast(100)
        try expectRefused(["run", lenet, try scratch.write("cut.npy", Data(bytes)), "-o", output], output: output, mentions: ["truncated"])
        try expectRefused(["run", lenet, try scratch.write("text.npy", Data("1,2,3\n".utf8)), "-o", output], output: output, mentions: ["not a NumPy"])
        try expectRefused(["run", lenet, Fixtures.path("npy/bad_shape_overflow.npy"), "-o", output], output: output,
                          mentions: ["header is malformed", "too large"])
    }

    @Test func outputInAMissingFolder() throws {
        let output = scratch.path("missing/out.npy")
        try expectRefused(["run", lenet, try write("ok.npy", shape: [28, 28, 1]), "-o", output], output: output, mentions: ["does not exist"])
        let converted = scratch.path("missing/fcn.h5")
        try expectRefused(["convert", lenet, "-o", converted], output: converted, mentions: ["does not exist"])
    }

    @Test func weightsWithNaN() throws {
        let path = scratch.path("nan-weights.h5")
        let network = Network(name: "nan", inputShape: .featureMap(height: 4, width: 4, channels: 1), dataFormat: .channelsLast,
                              layers: [Layer(name: "conv", sourceClass: "Conv2D", operation: .convolution(Convolution(
                                  filters: 2, kernelSize: Size2D(square: 4))))])
        let weights: [String: LayerWeights] = ["conv": .convolution(
            kernel: Tensor(shape: [4, 4, 1, 2], values: (0..<32).map { $0 == 7 ? .nan : Float($0) }), bias: nil)]
        try KerasFileWriter.write(Model(network: network, weights: weights, source: ModelSource(format: "test", path: "test")), to: path)
        let output = scratch.path("out.npy")
        try expectRefused(["run", path, try write("in.npy", shape: [4, 4, 1]), "-o", output], output: output, mentions: ["'conv'", "NaN"])
    }
}
