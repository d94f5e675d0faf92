import FCNModel
import FCNRuntime
import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport

/// `--density F` on run, heatmap, verify, bench and inspect, end to end, and its refusals.
@Suite struct DensityCommandTests {
    let scratch = try! TemporaryDirectory()
    let lenet = Fixtures.path("models/k3_lenet.h5")
    let digits = Fixtures.repositoryRoot.appendingPathComponent("models/digits-lenet.h5").path
    let scene = Fixtures.repositoryRoot.appendingPathComponent("models/demo-scene.png").path

    private func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// Dense cell (F·i, F·j) is cell (i, j) of the plain grid: the run with nothing removed.
    @Test func runGivesTheDenseGridWhosePhaseZeroIsThePlainGrid() throws {
        let converted = scratch.path("lenet.fcn.h5")
        #expect(try CommandRunner.run(["convert", lenet, "-o", converted]).status == 0)
        var random = SystemRandomNumberGenerator()
        let input = scratch.path("x.npy")
        try NumPyFile.write(Tensor(shape: [61, 53, 1], values: (0..<(61 * 53)).map { _ in Float.random(in: 0..<1, using: &random) }), to: input)
        let plainPath = scratch.path("plain.npy")
        let densePath = scratch.path("dense.npy")
        #expect(try CommandRunner.run(["run", converted, input, "-o", plainPath]).status == 0)
        let result = try CommandRunner.run(["run", converted, input, "-o", densePath, "--density", "2x4"])
        #expect(result.status == 0, "\(result.standardError)")
        let plain = try NumPyFile.read(path: plainPath)
        let dense = try NumPyFile.read(path: densePath)
        // (61 − 28) / 2 + 1 = 17 rows, (53 − 28) / 1 + 1 = 26 columns.
        #expect(plain.shape == [9, 7, 10])
        #expect(dense.shape == [17, 26, 10])
        guard dense.shape == [17, 26, 10] else { return }
        var worst: Float = 0
        for i in 0..<9 {
            for j in 0..<7 {
                for c in 0..<10 {
                    worst = max(worst, abs(dense.values[((2 * i) * 26 + 4 * j) * 10 + c] - plain.values[(i * 7 + j) * 10 + c]))
                }
            }
        }
        #expect(worst <= 1e-5)
    }

    @Test func heatmapPlacesTheDenseCellsAndRecordsTheDensity() throws {
        let plain = scratch.path("plain")
        let dense = scratch.path("dense")
        #expect(try CommandRunner.run(["heatmap", digits, scene, "-o", plain, "--class", "7", "--quiet"]).status == 0)
        let result = try CommandRunner.run(["heatmap", digits, scene, "-o", dense, "--class", "7", "--quiet", "--density", "4"])
        #expect(result.status == 0, "\(result.standardError)")
        let one = try json(plain + "/demo-scene.json")
        let four = try json(dense + "/demo-scene.json")
        #expect(one["density"] as? [Int] == [1, 1])
        #expect(four["density"] as? [Int] == [4, 4])
        #expect(four["stride"] as? [Int] == [1, 1])
        #expect(four["offset"] as? [Double] == one["offset"] as? [Double])
        #expect(four["receptive_field"] as? [Int] == [28, 28] && one["receptive_field"] as? [Int] == [28, 28])
        let grid = try #require(one["grid"] as? [Int])
        let field = 28
        let size = try #require(four["input_size"] as? [Int])
        #expect(four["grid"] as? [Int] == [size[0] - field + 1, size[1] - field + 1])
        #expect(grid == [(size[0] - field) / 4 + 1, (size[1] - field) / 4 + 1])
        let stored = try NumPyFile.read(path: dense + "/demo-scene.grid.npy")
        #expect(Array(stored.shape.suffix(3).prefix(2)) == [size[0] - field + 1, size[1] - field + 1])
    }

    @Test func verifyChecksTheDenseGrid() throws {
        let result = try CommandRunner.run(["verify", lenet, "--density", "4", "--samples", "8"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("(c) density 4"))
        #expect(result.standardOutput.contains("vs the classifier on the crop"))
        #expect(result.standardOutput.contains("one pass of the rarefied network"))
        let padded = try CommandRunner.run(["verify", Fixtures.path("models/caffe_quick.caffemodel.h5"), "--arch", Fixtures.path("models/caffe_quick.prototxt"),
                                            "--density", "2", "--input", "53x57"])
        #expect(padded.status == 0, "\(padded.standardError)")
        #expect(padded.standardOutput.contains("cells that see no padding vs shift-and-stitch"))
    }

    @Test func benchComparesWithThePlainRunAndShiftAndStitch() throws {
        let result = try CommandRunner.run(["bench", lenet, "--input", "64x64", "--runs", "1", "--threads", "1", "--density", "2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("Density 2 → grid 19×19 (rarefied: pool2)"))
        #expect(result.standardOutput.contains("Shift-and-stitch (4 runs)"))
        let report = try CommandRunner.run(["bench", lenet, "--input", "64x64", "--runs", "1", "--threads", "1", "--density", "2", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any])
        let dense = try #require(object["density"] as? [String: Any])
        #expect(dense["times_single"] is Double && dense["shift_and_stitch_ms"] is Double)
        #expect(dense["rarefied_layers"] as? [String] == ["pool2"])
    }

    @Test func inspectShowsTheDenseGrid() throws {
        let result = try CommandRunner.run(["inspect", lenet, "--input", "71x59", "--density", "2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("Density 2 for a 71×59 input: dense grid 22×16 cells, stride 2×2 px, first cell centred at (13.5, 13.5)"))
        #expect(result.standardOutput.contains("rarefied: pool2"))
    }

    @Test func badDensitiesAreRefusedWithOneLine() throws {
        try CommandRunner.expectOneLineError(["inspect", lenet, "--density", "3"], mentions: ["density 3 does not divide", "4 px", "1, 2, 4"])
        try CommandRunner.expectOneLineError(["bench", lenet, "--input", "64x64", "--density", "8"], mentions: ["density 8", "1, 2, 4"])
        // fcn run takes the model as stored: a classifier must be converted first.
        let input = scratch.path("digit.npy")
        try NumPyFile.write(Tensor(shape: [28, 28, 1], values: .init(repeating: 0.5, count: 28 * 28)), to: input)
        let output = scratch.path("never.npy")
        try CommandRunner.expectOneLineError(["run", lenet, input, "-o", output, "--density", "2"], mentions: ["flatten", "convert the network first"])
        #expect(!FileManager.default.fileExists(atPath: output))
        // A classifier that does not convert.
        try CommandRunner.expectOneLineError(["inspect", Fixtures.path("graphs/efficientnet_se.keras"), "--density", "2"], mentions: ["block1a_se_squeeze"])
        // A class activation map has no exact dense form.
        try CommandRunner.expectOneLineError(["bench", Fixtures.path("models/k3_gap.h5"), "--gap", "cam", "--input", "64x64", "--density", "2"],
                                             mentions: ["--gap cam", "--density"])
        let usage = try CommandRunner.run(["inspect", lenet, "--density", "0"])
        #expect(usage.status == 64)
    }
}
