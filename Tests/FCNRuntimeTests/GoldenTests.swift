import FCNConvert
import FCNModel
import FCNRuntime
import FCNTensorIO
import Testing
import _FCNTestSupport


/// The runtime against the reference numbers of `scripts/golden/make_fixtures.py`: Keras (or
/// NumPy for Caffe and channels_first) on the classifier, and the same net convolutionalized
/// by the script on a larger input.
@Suite struct GoldenTests {
    @Test(arguments: Manifest.shared.fixtures)
    func classifierMatchesTheReference(_ fixture: Manifest.Fixture) throws {
        let executor = try Executor(model: try fixture.load(), threads: 1)
        let output = try executor.run(try NumPyFile.read(path: Fixtures.path(fixture.golden.input)))
        expectClose(output, try NumPyFile.read(path: Fixtures.path(fixture.golden.output)), fixture.name)
    }

    @Test(arguments: Manifest.shared.fixtures, [true, false])
    func convertedNetMatchesTheReferenceFCN(_ fixture: Manifest.Fixture, foldBatchNormalization: Bool) throws {
        let converted = try Convolutionalizer.convert(try fixture.load(), options: ConversionOptions(foldBatchNormalization: foldBatchNormalization))
        #expect(!converted.network.layers.contains { layer in
            switch layer.operation {
            case .dense, .flatten, .dropout, .globalPooling: return true
            default: return false
            }
        })
        let executor = try Executor(model: converted, threads: 2)
        let grid = try executor.run(try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnInput)))
        expectClose(grid, try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnOutput)), fixture.name)
    }

    @Test func batchNormalizationFoldsIntoTheConvolutionBeforeIt() throws {
        let fixture = try #require(Manifest.shared.fixture(named: "k3_vgg_same_bn"))
        let model = try fixture.load()
        let folded = try Convolutionalizer.convert(model)
        let kept = try Convolutionalizer.convert(model, options: ConversionOptions(foldBatchNormalization: false))
        let count: (Model) -> Int = { $0.network.layers.filter { if case .batchNormalization = $0.operation { true } else { false } }.count }
        #expect(count(kept) > count(folded))
    }

    @Test func globalPoolingAsAClassActivationMapKeepsEveryPosition() throws {
        let fixture = try #require(Manifest.shared.fixture(named: "k3_gap"))
        let model = try fixture.load()
        let input = try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnInput))
        let window = try Executor(model: try Convolutionalizer.convert(model), threads: 1).run(input)
        let cam = try Executor(model: try Convolutionalizer.convert(model, options: ConversionOptions(globalPooling: .cam)), threads: 1).run(input)
        // The CAM keeps the last feature map's size; the window form shrinks it by the window.
        #expect(cam.shape[1] > window.shape[1] && cam.shape[2] > window.shape[2])
        #expect(cam.shape.last == window.shape.last)
    }
}
