import FCNImport
import FCNModel
import Testing
import _FCNTestSupport

/// Every file of the team's real model collection (`../shared/realmodels`, not in the
/// repository for licence reasons) loads, or is refused with a message that names the
/// layer and its class. Skipped when the collection is absent.
@Suite(.enabled(if: Fixtures.realModels != nil, "../shared/realmodels is absent; real-model tests skipped"))
struct RealModelTests {
    typealias Case = RealModelCatalog.Case
    static let cases = RealModelCatalog.cases
    static func path(_ name: String) -> String { RealModelCatalog.path(name) }

    @Test(arguments: cases)
    func loadsOrRefusesClearly(_ testCase: Case) throws {
        let options = ImportOptions(architecturePath: testCase.architecture.map(Self.path))
        switch testCase.outcome {
        case .loads(let input, let format):
            let model = try ModelImporter.load(path: Self.path(testCase.file), options: options)
            #expect(model.network.inputShape.dimensions(in: format) == input || model.network.inputShape.dimensions(in: format) == input.filter { $0 != 1 })
            #expect(model.network.dataFormat == format)
            let weighted = model.network.layers.filter { layer in
                switch layer.operation {
                case .convolution, .dense, .batchNormalization: return true
                default: return false
                }
            }
            #expect(weighted.allSatisfy { model.weights?[$0.name] != nil })
        case .refused(let fragments):
            do {
                _ = try ModelImporter.load(path: Self.path(testCase.file), options: options)
                Issue.record("\(testCase.file) loaded but should be refused")
            } catch {
                for fragment in fragments {
                    #expect(error.description.contains(fragment), "\(error.description) lacks \(fragment)")
                }
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test func theanoKernelsAreFlippedAndChannelsFirstRecorded() throws {
        let model = try ModelImporter.load(
            path: Self.path("pplonski_keras2cpp_my_nn_weights.h5"),
            options: ImportOptions(architecturePath: Self.path("pplonski_keras2cpp_my_nn_arch.json")))
        #expect(model.source.kernelsFlipped)
        #expect(model.network.layers.contains { $0.operation == .flatten(.channelsHeightWidth) })
        let unflipped = try ModelImporter.load(
            path: Self.path("pplonski_keras2cpp_my_nn_weights.h5"),
            options: ImportOptions(architecturePath: Self.path("pplonski_keras2cpp_my_nn_arch.json"), kernelFlip: .keep))
        guard case .convolution(let flipped, _)? = model.weights?["convolution2d_1"],
              case .convolution(let kept, _)? = unflipped.weights?["convolution2d_1"]
        else { Issue.record("no convolution weights"); return }
        // (kh, kw, in, out) = (3, 3, 1, 4): tap (0, 0) of the flipped kernel is tap (2, 2) of the stored one.
        #expect(flipped.values[0..<4] == kept.values[32..<36])
    }

    @Test func kerasThreeWeightsEqualTheirFullModelTwin() throws {
        let full = try ModelImporter.load(path: Self.path("ShreyanshGupta28_mnist_classification_app_model.h5"))
        let split = try ModelImporter.load(
            path: Self.path("ShreyanshGupta28_mnist_classification_app_model.weights.h5"),
            options: ImportOptions(architecturePath: Self.path("ShreyanshGupta28_mnist_classification_app_model.h5")))
        #expect(full.weights == split.weights)
    }

    @Test func aSidecarForAnotherModelNamesTheLayerAndBothShapes() {
        do {
            _ = try ModelImporter.load(
                path: Self.path("llSourcell_how_to_deploy_a_keras_model_to_production_model.h5"),
                options: ImportOptions(architecturePath: Self.path("JoseDiegoMarinContreras_Recognition-Of-Handwritten-Digits_model.yaml")))
            Issue.record("mismatched sidecar accepted")
        } catch {
            #expect(error.description.contains("layer '"))
        }
    }
}

