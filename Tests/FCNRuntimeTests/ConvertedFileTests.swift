import FCNConvert
import FCNImport
import FCNKerasExport
import FCNModel
import FCNRuntime
import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport

/// What `fcn convert` writes, checked against what Keras computed from the same files
/// (recorded by scripts/golden/check_keras_roundtrip.py in Tests/Fixtures/converted).
@Suite struct ConvertedFileTests {
    struct Entry: Decodable, Sendable {
        let file: String
        let kerasGrid: String
        let input: String
        let inputTransposedToChannelsLast: Bool
    }

    static let entries: [String: Entry] = {
        struct Record: Decodable { let fixtures: [String: Entry] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let data = try! Data(contentsOf: Fixtures.directory.appendingPathComponent("converted/roundtrip.json"))
        return try! decoder.decode(Record.self, from: data).fixtures
    }()

    static var names: [String] { entries.keys.sorted() }

    /// The fixture's larger input in the layout of the converted (channels_last) file.
    private func input(_ entry: Entry) throws -> Tensor {
        let tensor = try NumPyFile.read(path: Fixtures.path(entry.input))
        guard entry.inputTransposedToChannelsLast else { return tensor }
        return MapImage(framework: tensor, format: .channelsFirst).framework(.channelsLast)
    }

    @Test(arguments: names)
    func committedFileReadsBackToKerasGrid(_ name: String) throws {
        let entry = try #require(Self.entries[name])
        let model = try ModelImporter.load(path: Fixtures.path(entry.file))
        #expect(model.network.dataFormat == .channelsLast)
        let grid = try Executor(model: model, threads: 1).run(try input(entry))
        expectClose(grid, try NumPyFile.read(path: Fixtures.path(entry.kerasGrid)), name)
    }

    @Test(arguments: names)
    func freshConversionGivesKerasGrid(_ name: String) throws {
        let fixture = try #require(Manifest.shared.fixture(named: name))
        let entry = try #require(Self.entries[name])
        let scratch = try TemporaryDirectory()
        let model = try fixture.load()
        let path = scratch.path("fcn.h5")
        try KerasFileWriter.write(try Convolutionalizer.convert(model), to: path)
        let reread = try ModelImporter.load(path: path)
        let (rereadInput, sourceInput) = (reread.network.inputShape, model.network.inputShape)
        #expect(rereadInput == sourceInput)
        let grid = try Executor(model: reread, threads: 1).run(try input(entry))
        expectClose(grid, try NumPyFile.read(path: Fixtures.path(entry.kerasGrid)), name)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path) == ["fcn.h5"])
    }

    @Test func refusesWhatKerasCannotExpressAndLeavesNoFile() throws {
        let fixture = try #require(Manifest.shared.fixture(named: "caffe_quick"))
        let model = try fixture.load()
        let scratch = try TemporaryDirectory()
        #expect(throws: KerasExportError.self) {
            try KerasFileWriter.write(try Convolutionalizer.convert(model), to: scratch.path("caffe.h5"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }
}
