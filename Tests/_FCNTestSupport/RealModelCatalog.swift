import FCNModel
import Testing

/// The team's real model collection (`../shared/realmodels`, see its CATALOG.md) and what
/// FCNKit must do with each file: load it, or refuse it with a message naming the layer.
public enum RealModelCatalog {
    public enum Outcome: Sendable {
        /// Loads; the input shape in the file's own order and its data format.
        case loads(input: [Int], format: DataFormat)
        /// Refused; the message must contain each of these.
        case refused([String])
    }

    public struct Case: Sendable, CustomTestStringConvertible {
        public let file: String
        /// Relative to the collection, or `fixture:` + a path under Tests/Fixtures.
        public let architecture: String?
        public let outcome: Outcome
        public var testDescription: String { file + (architecture.map { " + " + $0 } ?? "") }
    }

    public static let cases: [Case] = [
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
             outcome: .loads(input: [224, 224, 3], format: .channelsLast)),
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
             outcome: .loads(input: [64, 64, 1], format: .channelsLast)),
    ]

    /// A file of the collection, or `fixture:` + a path under Tests/Fixtures.
    public static func path(_ name: String) -> String {
        if name.hasPrefix("fixture:") { return Fixtures.path(String(name.dropFirst("fixture:".count))) }
        return Fixtures.realModels!.appendingPathComponent(name).path
    }
}
