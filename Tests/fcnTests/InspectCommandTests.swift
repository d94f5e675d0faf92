import Foundation
import Testing
import _FCNTestSupport

/// `fcn inspect` end to end: the binary, its output, its exit status and its errors.
@Suite struct InspectCommandTests {
    let scratch = try! TemporaryDirectory()

    /// Runs `fcn` and expects a one-line error containing each fragment, a nonzero exit, and
    /// nothing of libhdf5's own diagnostics.
    private func expectFailure(_ arguments: [String], mentions fragments: [String],
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let message = try CommandRunner.expectOneLineError(arguments, mentions: fragments, sourceLocation: sourceLocation)
        #expect(message.hasPrefix("Error: "), "\(message)", sourceLocation: sourceLocation)
        #expect(!message.contains("HDF5-DIAG"), sourceLocation: sourceLocation)
    }

    @Test func missingPath() throws {
        try expectFailure(["inspect", scratch.path("nothing.h5")], mentions: ["no such file"])
    }

    @Test func directory() throws {
        try expectFailure(["inspect", scratch.url.path], mentions: ["is a directory"])
    }

    @Test func emptyFile() throws {
        let path = try scratch.write("empty.h5", Data())
        try expectFailure(["inspect", path], mentions: ["empty"])
    }

    @Test func notHDF5() throws {
        let path = try scratch.write("model.h5", Data("<html>not a model</html>".utf8))
        try expectFailure(["inspect", path], mentions: ["not an HDF5 file"])
    }

    @Test func truncatedHDF5() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("hdf5/attributes.h5")))
        let path = try scratch.write("truncated.h5", whole.prefix(whole.count / 2))
        try expectFailure(["inspect", path], mentions: ["truncated"])
    }

    @Test func hdf5WithoutAModel() throws {
        try expectFailure(["inspect", Fixtures.path("hdf5/attributes.h5")], mentions: ["no model found"])
    }

    @Test func badInputSizeIsAUsageError() throws {
        let result = try CommandRunner.run(["inspect", Fixtures.path("models/vgg16.json"), "--input", "0x5"])
        #expect(result.status == 64)
    }

    @Test func inputTooSmallForTheNetwork() throws {
        try expectFailure(["inspect", Fixtures.path("models/vgg16.json"), "--input", "100x100"], mentions: ["too small", "'fc1'"])
    }

    @Test func tableShowsEveryLayerAndTheGrid() throws {
        let result = try CommandRunner.run(["inspect", Fixtures.path("models/alexnet_deploy.prototxt"), "--input", "451x451"])
        #expect(result.status == 0, "\(result.standardError)")
        for fragment in ["conv1", "pool5", "fc6", "fc8", "195", "355", "Output grid for a 451×451 input: 8×8 cells"] {
            #expect(result.standardOutput.contains(fragment), "missing \(fragment)")
        }
    }

    @Test func jsonHasTheDocumentedKeysAndNumbers() throws {
        let result = try CommandRunner.run(["inspect", Fixtures.path("models/vgg16.json"), "--input", "500x500", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["output_grid"] as? [Int] == [9, 9])
        let layers = try #require(object["layers"] as? [[String: Any]])
        let pool5 = try #require(layers.first { $0["name"] as? String == "block5_pool" })
        #expect(pool5["receptive_field"] as? [Int] == [212, 212])
        #expect(pool5["jump"] as? [Int] == [32, 32])
        #expect(pool5["type"] as? String == "MaxPooling2D")
        for key in ["output_shape", "start", "params", "convolutionalizable"] {
            #expect(pool5[key] != nil, "no \(key)")
        }
        let withoutInput = try CommandRunner.run(["inspect", Fixtures.path("models/vgg16.json"), "--json"])
        let plain = try #require(try JSONSerialization.jsonObject(with: Data(withoutInput.standardOutput.utf8)) as? [String: Any])
        #expect(plain["output_grid"] == nil)
    }
}
