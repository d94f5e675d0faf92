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

    struct Record: Decodable { let fixtures: [String: Entry] }
    static let entries: [String: Entry] = (Fixtures.decodeJSON("converted/roundtrip.json") as Record).fixtures

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

    /// Caffe's ceil-mode pooling drops a last window that would start in the padding: k 3, s 3,
    /// pad 2 on a 3 × 3 map gives 2 × 2, not 3 × 3. The Keras file emulates ceil mode with extra
    /// zeros after a ReLU, and must not add that dropped window back.
    @Test func caffeCeilPoolingKeepsItsDroppedWindowDroppedInKeras() throws {
        let network = Network(name: "ceil", inputShape: .featureMap(height: 3, width: 3, channels: 2), dataFormat: .channelsLast, layers: [
            Layer(name: "conv", sourceClass: "Convolution", operation: .convolution(Convolution(filters: 2, kernelSize: Size2D(square: 1), activation: .plainReLU))),
            Layer(name: "pool", sourceClass: "Pooling", operation: .pooling(Pooling(
                kind: .max, poolSize: Size2D(square: 3), strides: Size2D(square: 3), padding: .explicit(EdgePadding(uniform: 2)), rounding: .ceilCaffe))),
        ])
        let identity = Tensor(shape: [1, 1, 2, 2], values: [1, 0, 0, 1])
        let model = Model(network: network, weights: ["conv": .convolution(kernel: identity, bias: nil)], source: ModelSource(format: "test", path: "test"))
        #expect(try network.outputShapes().last == .featureMap(height: 2, width: 2, channels: 2))
        let scratch = try TemporaryDirectory()
        let path = scratch.path("ceil.h5")
        try KerasFileWriter.write(model, to: path)
        let reread = try ModelImporter.load(path: path)
        #expect(try reread.network.outputShapes().last == .featureMap(height: 2, width: 2, channels: 2))
        let input = Tensor(shape: [1, 3, 3, 2], values: (0..<18).map { Float($0 % 7) - 2 })
        let written = try Executor(model: reread, threads: 1).run(input)
        expectClose(written, try Executor(model: model, threads: 1).run(input), "ceil pooling read back")
    }
}
