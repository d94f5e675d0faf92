import FCNConvert
import FCNGeometry
import FCNImport
import FCNModel
import FCNRuntime
import FCNTensorIO
import FCNVerification
import Testing
import _FCNTestSupport

/// Graph classifiers (residual, depthwise, separable, dense blocks, ConvNeXt blocks, 1-D, preprocessing
/// layers, Caffe with LRN and groups) against the references of `scripts/golden/make_graph_fixtures.py`:
/// the classifier against Keras (NumPy for Caffe), the FCN against a hand-built convolutionalized
/// Keras network, and the FCN's geometry against the script's independent calculator.
@Suite struct GraphFixtureTests {
    @Test(arguments: GraphManifest.shared.stored)
    func classifierMatchesTheFramework(_ stored: StoredFixture) throws {
        let model = try stored.fixture.load(stored.file)
        let output = try Executor(model: model, threads: 2).run(try NumPyFile.read(path: Fixtures.path(stored.fixture.golden.input)))
        expectClose(output, try NumPyFile.read(path: Fixtures.path(stored.fixture.golden.output)), stored.file)
    }

    @Test(arguments: GraphManifest.shared.stored.filter { $0.fixture.refused == nil && $0.fixture.golden.fcnInput != nil })
    func convertedNetMatchesTheReferenceFCN(_ stored: StoredFixture) throws {
        let fixture = stored.fixture
        let converted = try Convolutionalizer.convert(try fixture.load(stored.file))
        let input = try NumPyFile.read(path: Fixtures.path(try #require(fixture.golden.fcnInput)))
        let grid = try Executor(model: converted, threads: 2).run(input)
        expectClose(grid, try NumPyFile.read(path: Fixtures.path(try #require(fixture.golden.fcnOutput))), stored.file)
    }

    @Test(arguments: GraphManifest.shared.fixtures.filter { $0.geometry != nil })
    func geometryMatchesTheIndependentCalculator(_ fixture: GraphManifest.Fixture) throws {
        let expected = try #require(fixture.geometry)
        let network = try #require(FullyConvolutionalForm(classifier: try fixture.load(fixture.file).network).network)
        let isSequence = expected.inputSize.count == 1
        let size = isSequence ? Size2D(height: 1, width: expected.inputSize[0]) : Size2D(height: expected.inputSize[0], width: expected.inputSize[1])
        let output = try #require(try NetworkGeometry(network: network, inputSize: size).output)
        let axes = isSequence ? [output.horizontal] : [output.vertical, output.horizontal]
        #expect(axes.map(\.receptiveField) == expected.receptiveField)
        #expect(axes.map(\.jump) == expected.jump)
        #expect(axes.map(\.start) == expected.start)
        #expect(axes.map(\.length) == expected.grid)
    }

    @Test(arguments: GraphManifest.shared.fixtures.filter { $0.misalignedSizes != nil })
    func misalignedSizesAreRefusedWithBothOffsets(_ fixture: GraphManifest.Fixture) throws {
        let network = try #require(FullyConvolutionalForm(classifier: try fixture.load(fixture.file).network).network)
        for size in try #require(fixture.misalignedSizes) {
            let error = try #require(throws: GeometryError.self) {
                try NetworkGeometry(network: network, inputSize: Size2D(height: size[0], width: size[1]))
            }
            guard case .misalignedMerge(let layer, _, let starts, _, let aligned) = error else {
                Issue.record("expected a misaligned merge, got \(error)")
                continue
            }
            #expect(layer == fixture.misalignedMerge)
            #expect(starts.count == 2 && (starts[0].1 != starts[1].1 || starts[0].2 != starts[1].2))
            // Each size it suggests does align.
            for suggestion in aligned { #expect(throws: Never.self) { try NetworkGeometry(network: network, inputSize: suggestion) } }
        }
    }

    @Test(arguments: GraphManifest.shared.fixtures.filter { $0.refused != nil })
    func refusedConversionsNameTheLayerAndWhy(_ fixture: GraphManifest.Fixture) throws {
        let refusal = try #require(fixture.refused)
        let model = try fixture.load(fixture.file)
        let error = try #require(throws: ConversionError.self) { try Convolutionalizer.convert(model) }
        let form = FullyConvolutionalForm(classifier: model.network)
        let text = error.description.lowercased()
        #expect(form.refusal?.layer.name == refusal.layer || text.contains(refusal.layer.lowercased()), "\(text)")
        for word in refusal.words { #expect(text.contains(word), "\(word) in \(text)") }
    }

    @Test(arguments: GraphManifest.shared.bad)
    func badGraphsAreRefusedClearly(_ bad: GraphManifest.BadInput) throws {
        let error = try #require(throws: (any Error).self) {
            _ = try ModelImporter.load(path: Fixtures.path(bad.file), options: ImportOptions(architecturePath: bad.arch.map(Fixtures.path)))
        }
        let text = String(describing: error).lowercased()
        #expect(!text.contains("\n"), "one line: \(text)")
        for word in bad.expect { #expect(text.contains(word.lowercased()), "\(word) in \(text)") }
    }
}

/// The public runtime checks what it is given instead of reading past buffers.
@Suite struct ExecutorInputChecks {
    @Test func weightsThatDoNotFitThePlanAreRefused() throws {
        let network = Network(name: "test", inputShape: .featureMap(height: 5, width: 5, channels: 3), dataFormat: .channelsLast, layers: [
            Layer(name: "conv", sourceClass: "Conv2D", operation: .convolution(Convolution(filters: 2, kernelSize: Size2D(square: 3)))),
        ])
        // A (3, 3, 1, 2) kernel for a 3-channel input.
        let kernel = Tensor(shape: [3, 3, 1, 2], values: .init(repeating: 0.1, count: 18))
        let model = Model(network: network, weights: ["conv": .convolution(kernel: kernel, bias: nil)], source: ModelSource(format: "test", path: "test"))
        let error = try #require(throws: ExecutionError.self) { try Executor(model: model, threads: 1) }
        #expect(error.description.contains("[3, 3, 1, 2]") && error.description.contains("[3, 3, 3, 2]"), "\(error)")
    }

    @Test func aBudgetTheNetworkCannotMeetInTilesIsSaid() throws {
        let fixture = try #require(Manifest.shared.fixture(named: "k3_lenet"))
        let executor = try Executor(model: try fixture.load(), threads: 1)
        executor.memoryBudget = 1024
        let error = try #require(throws: ExecutionError.self) {
            try executor.run(try NumPyFile.read(path: Fixtures.path(fixture.golden.input)))
        }
        #expect(error.description.contains("--max-memory"), "\(error)")
    }
}

/// A classifier on a plain vector (no spatial axes) runs, converts and verifies on its own shape.
@Suite struct VectorClassifierTests {
    @Test func aDenseOnlyModelRunsAndVerifies() throws {
        let network = Network(name: "mlp", inputShape: .vector(length: 186), dataFormat: .channelsLast, layers: [
            Layer(name: "hidden", sourceClass: "Dense", operation: .dense(Dense(units: 7, activation: .plainReLU))),
            Layer(name: "scores", sourceClass: "Dense", operation: .dense(Dense(units: 3, activation: .softmax))),
        ])
        func tensor(_ shape: [Int]) -> Tensor { Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { Float(($0 * 37) % 11) / 11 - 0.4 }) }
        let model = Model(network: network, weights: [
            "hidden": .dense(kernel: tensor([186, 7]), bias: tensor([7])),
            "scores": .dense(kernel: tensor([7, 3]), bias: tensor([3])),
        ], source: ModelSource(format: "test", path: "test"))
        let output = try Executor(model: model, threads: 1).run(tensor([2, 186]))
        #expect(output.shape == [2, 3])
        let report = try Verifier(classifier: model, threads: 1).verify(samples: 1)
        #expect(report.passed)
    }
}
