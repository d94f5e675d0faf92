import FCNImport
import FCNModel
import Testing
import _FCNTestSupport

/// Every file of the team's real model collection (`../shared/realmodels`, not in the
/// repository for licence reasons) loads, or is refused with a message that names the
/// layer and its class. Skipped when the collection is absent.
@Suite(.enabled(if: Fixtures.realModels != nil, "../shared/realmodels is absent; real-model tests skipped"))
struct RealModelTests {
    enum Outcome: Sendable {
        /// Loads; the input shape in the file's own order and its data format.
        case loads(input: [Int], format: DataFormat)
        /// Refused; the message must contain each of these.
        case refused([String])
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let file: String
        /// Relative to the collection, or `fixture:` + a path under Tests/Fixtures.
        let architecture: String?
        let outcome: Outcome
        var testDescription: String { file }
    }

    static let cases: [Case] = [
        Case(file: "pplonski_keras2cpp_my_nn_weights.h5", architecture: "pplonski_keras2cpp_my_nn_arch.json",
             outcome: .loads(input: [1, 28, 28], format: .channelsFirst)),
        Case(file: "llSourcell_how_to_deploy_a_keras_model_to_production_model.h5",
             architecture: "llSourcell_how_to_deploy_a_keras_model_to_production_model.json",
             outcome: .loads(input: [28, 28, 1], format: .channelsLast)),
        Case(file: "naokishibuya_car-behavioral-cloning_model.h5", architecture: nil,
             outcome: .refused(["'lambda_1'", "Lambda", "supported:", "Conv2D"])),
        Case(file: "JoseDiegoMarinContreras_Recognition-Of-Handwritten-Digits_model.h5",
             architecture: "JoseDiegoMarinContreras_Recognition-Of-Handwritten-Digits_model.yaml",
             outcome: .loads(input: [1, 28, 28], format: .channelsFirst)),
        Case(file: "fastmachinelearning_example-models_jetTagger_Conv2D_Small_weights.h5",
             architecture: "fastmachinelearning_example-models_jetTagger_Conv2D_Small.json",
             outcome: .loads(input: [25, 25, 1], format: .channelsLast)),
        Case(file: "SylvainRajkoumar_image-classification-cifar10-keras_model.h5", architecture: nil,
             outcome: .loads(input: [32, 32, 3], format: .channelsLast)),
        Case(file: "oustar_nn_lenet_weights.hdf5", architecture: "fixture:models/realarch/oustar_nn_lenet.json",
             outcome: .loads(input: [28, 28, 1], format: .channelsLast)),
        Case(file: "oustar_nn_lenet_weights.hdf5", architecture: nil, outcome: .refused(["weights-only", "--arch"])),
        Case(file: "abubakrsiddq_DeepLearning_ComputerVision_lenet_weights.hdf5", architecture: nil,
             outcome: .loads(input: [28, 28, 1], format: .channelsLast)),
        Case(file: "Mjrovai_TFLite_IA_at_the_Edge_cifar10_model.h5", architecture: nil,
             outcome: .loads(input: [32, 32, 3], format: .channelsLast)),
        Case(file: "963n_TeachableMachine-Water-Classification_keras_model.h5", architecture: nil,
             outcome: .refused(["'block_2_add'", "Add", "single chain"])),
        Case(file: "fastmachinelearning_example-models_hgq_mnist_homogeneous.h5", architecture: nil,
             outcome: .refused(["FixedPointQuantizer", "supported:"])),
        Case(file: "ShreyanshGupta28_mnist_classification_app_model.h5", architecture: nil,
             outcome: .loads(input: [28, 28, 1], format: .channelsLast)),
        Case(file: "ShreyanshGupta28_mnist_classification_app_model.weights.h5",
             architecture: "ShreyanshGupta28_mnist_classification_app_model.h5",
             outcome: .loads(input: [28, 28, 1], format: .channelsLast)),
        Case(file: "ShreyanshGupta28_mnist_classification_app_model.weights.h5",
             architecture: "fixture:models/realarch/ShreyanshGupta28_mnist.json",
             outcome: .loads(input: [28, 28, 1], format: .channelsLast)),
        Case(file: "Summer2024REU_CNNTraining_mnist.weights.h5", architecture: "fixture:models/realarch/Summer2024REU_mnist.json",
             outcome: .loads(input: [28, 28, 1], format: .channelsLast)),
        Case(file: "Summer2024REU_CNNTraining_mnist.weights.h5", architecture: nil, outcome: .refused([".weights.h5", "--arch"])),
        Case(file: "jwcom79_myproject_cifar10_quick_iter_4000.caffemodel.h5", architecture: "jwcom79_myproject_cifar10_quick.prototxt",
             outcome: .loads(input: [3, 32, 32], format: .channelsFirst)),
        Case(file: "jwcom79_myproject_cifar10_quick_iter_4000.caffemodel.h5",
             architecture: "jwcom79_myproject_cifar10_quick_train_test.prototxt", outcome: .refused(["deploy"])),
        Case(file: "extras/datajoker1_CarND-Behavioral-Cloning-P3_lenet.h5", architecture: nil,
             outcome: .refused(["'lambda_10'", "Lambda"])),
        Case(file: "extras/fastmachinelearning_example-models_KERAS_conv2d_model_weights.h5",
             architecture: "extras/fastmachinelearning_example-models_KERAS_conv2d_model.json",
             outcome: .loads(input: [8, 8, 1], format: .channelsLast)),
        Case(file: "extras/fastmachinelearning_example-models_qkeras_mnist_cnn_weights.h5",
             architecture: "extras/fastmachinelearning_example-models_qkeras_mnist_cnn.json",
             outcome: .refused(["'q_conv2d'", "QConv2D", "supported:"])),
        Case(file: "extras/sagecodes_cifar-classifier-CNN_keras_cifar10_trained_model_aug.h5", architecture: nil,
             outcome: .loads(input: [32, 32, 3], format: .channelsLast)),
        Case(file: "extras/oarriaga_face_classification_tiny_XCEPTION_KDEF.hdf5", architecture: nil,
             outcome: .refused(["'add_1'", "Add", "single chain"])),
    ]

    static func path(_ name: String) -> String {
        if name.hasPrefix("fixture:") { return Fixtures.path(String(name.dropFirst("fixture:".count))) }
        return Fixtures.realModels!.appendingPathComponent(name).path
    }

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
