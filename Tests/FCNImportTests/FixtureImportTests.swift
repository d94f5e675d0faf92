import FCNImport
import FCNModel
import Foundation
import Testing
import _FCNTestSupport


/// Every committed fixture model imports with the layers, shapes and parameter counts Keras
/// (or, for Caffe, the NumPy reference) reports; every bad input is refused clearly.
@Suite struct FixtureImportTests {
    @Test(arguments: Manifest.shared.fixtures)
    func importsLikeTheReference(_ fixture: Manifest.Fixture) throws {
        let model = try fixture.load()
        let network = model.network
        let format = DataFormat(rawValue: fixture.dataFormat)!
        #expect(network.dataFormat == format)
        #expect(network.inputShape.dimensions(in: format) == fixture.inputShape)
        #expect(model.source.kernelsFlipped == fixture.kernelFlipped)
        if let order = fixture.flattenOrder {
            #expect(network.layers.contains { $0.operation == .flatten(FlattenOrder(rawValue: order)!) })
        }
        // Compare layer by layer, leaving out input layers (not layers here) and the explicit
        // Flatten FCNKit adds before a Caffe InnerProduct. A nested model is one entry for
        // Keras and its layers here: compare its last output shape and its parameter total.
        let expected = fixture.layers.filter { $0.className != "InputLayer" && $0.className != "Input" }
        let inputs = try network.inputShapes().map { $0[0] }
        let outputs = try network.outputShapes()
        var actual = zip(network.layers, zip(inputs, outputs)).filter { !$0.0.sourceClass.contains("implicit flatten") }[...]
        for (index, reference) in expected.enumerated() {
            let nextName = index + 1 < expected.count ? expected[index + 1].name : nil
            let isContainer = ["Sequential", "Functional", "Model"].contains(reference.className)
            var group: [(Layer, (ActivationShape, ActivationShape))] = []
            repeat {
                guard let next = actual.popFirst() else { Issue.record("no layer for \(reference.name)"); return }
                group.append(next)
            } while isContainer && actual.first.map { $0.0.name != nextName } ?? false
            let (layer, (_, output)) = group.last!
            if !isContainer {
                #expect(layer.name == reference.name)
                #expect(layer.sourceClass == reference.className)
            }
            #expect(output.dimensions(in: format) == reference.outputShape, "layer \(reference.name)")
            let counted = group.reduce(0) { $0 + $1.0.parameterCount(input: $1.1.0) }
            let stored = group.reduce(0) { $0 + (model.weights?[$1.0.name]?.parameterCount ?? 0) }
            #expect(counted == reference.params, "layer \(reference.name)")
            #expect(stored == reference.params, "layer \(reference.name)")
        }
        #expect(actual.isEmpty)
    }

    @Test(arguments: Manifest.shared.bad)
    func refusesBadInputClearly(_ bad: Manifest.BadInput) {
        do {
            _ = try ModelImporter.load(path: Fixtures.path(bad.file), options: ImportOptions(architecturePath: bad.arch.map(Fixtures.path)))
            Issue.record("\(bad.file) with \(bad.arch ?? "no sidecar") was accepted")
        } catch {
            let message = error.description.lowercased()
            for word in bad.expect {
                #expect(message.contains(word.lowercased()), "\(error.description) lacks '\(word)'")
            }
            #expect(!message.contains("\n"))
        }
    }

    @Test func weightsOnlyFilesNeedAnArchitecture() {
        #expect(throws: ImportError.self) { try ModelImporter.load(path: Fixtures.path("models/k3_lenet.weights.h5")) }
        #expect(throws: ImportError.self) { try ModelImporter.load(path: Fixtures.path("models/k2_weights.h5")) }
        #expect(throws: ImportError.self) { try ModelImporter.load(path: Fixtures.path("models/caffe_quick.caffemodel.h5")) }
    }

    /// A `.weights.h5` written by Keras 3 on Windows (one root group per layer named
    /// `layers\\…`, made by scripts/golden/make_windows_weights.py) gives the same weights as the
    /// file it was made from.
    @Test func windowsSeparatorsInAWeightsFileReadTheSameWeights() throws {
        let arch = ImportOptions(architecturePath: Fixtures.path("models/k3_nested.json"))
        let windows = try ModelImporter.load(path: Fixtures.path("models/k3_nested_windows.weights.h5"), options: arch)
        let posix = try ModelImporter.load(path: Fixtures.path("models/k3_nested.weights.h5"), options: arch)
        #expect(windows.network == posix.network)
        #expect(windows.weights?.isEmpty == false)
        #expect(windows.weights == posix.weights)
    }

    @Test func mismatchedSidecarNamesTheLayerAndBothShapes() {
        do {
            _ = try ModelImporter.load(path: Fixtures.path("models/k3_lenet.weights.h5"),
                                       options: ImportOptions(architecturePath: Fixtures.path("models/bad/mismatch.json")))
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("'conv1'"))
            #expect(error.description.contains("(5, 5, 1, 8)"))
            #expect(error.description.contains("(5, 5, 1, 6)"))
        }
    }
}

/// An inner model's InputLayer is fed by the outer model, but its declaration is still checked:
/// a size of 2.5 channels is damage, not a shape to ignore (found by fcn-fuzz).
@Suite struct NestedInputDeclarationTests {
    @Test func aNestedInputLayerWithAFractionalSizeIsRefused() throws {
        let text = try String(contentsOfFile: Fixtures.path("models/k3_nested.json"), encoding: .utf8)
        let last = try #require(text.range(of: "\"batch_shape\": [null, 16, 16, 3]", options: .backwards))
        let damaged = text.replacingCharacters(in: last, with: "\"batch_shape\": [null, 16, 16, 2.5]")
        let scratch = try TemporaryDirectory()
        let architecture = try scratch.write("nested.json", Data(damaged.utf8))
        let error = try #require(throws: ImportError.self) {
            try ModelImporter.load(path: Fixtures.path("models/k3_nested.weights.h5"), options: ImportOptions(architecturePath: architecture))
        }
        #expect(error.description.contains("declares batch_shape with an entry that is not a positive whole number or null"), "\(error)")
        // The file as written still loads.
        #expect(throws: Never.self) {
            try ModelImporter.load(path: Fixtures.path("models/k3_nested.weights.h5"),
                                   options: ImportOptions(architecturePath: Fixtures.path("models/k3_nested.json")))
        }
    }
}
