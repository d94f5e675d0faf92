import FCNModel
import FCNTensorIO
import Foundation
import HDF5Writer

/// Why a model could not be written as a Keras file.
public enum KerasExportError: Error, CustomStringConvertible {
    case unsupported(layer: String, className: String, reason: String)
    case noWeights
    case write(WriteError)

    public var description: String {
        switch self {
        case .unsupported(let layer, let className, let reason):
            return "layer '\(layer)' (\(className)) cannot be written as Keras: \(reason)"
        case .noWeights:
            return "the model has no weights to write"
        case .write(let error):
            return error.description
        }
    }
}

/// Writes a fully convolutional network as a Keras legacy `.h5` full-model file that
/// `keras.models.load_model` reads (Keras 3 vocabulary) and that takes inputs of any size.
///
/// The file layout is documented in docs/fcn-file-format.md. Channels_first sources are
/// written channels_last, since Keras runs convolutions on the CPU only in that layout;
/// kernels need no change for that (FCNKit keeps them as (kh, kw, in, out)).
public enum KerasFileWriter {
    /// The version string written into `fcnkit_version`.
    public static let fcnkitVersion = "0.1.0"

    /// Writes `model` (a converted network) to `path`, atomically.
    public static func write(_ model: Model, to path: String) throws(KerasExportError) {
        guard let weights = model.weights else { throw .noWeights }
        let plan = try KerasLayerPlan(network: model.network, weights: weights)
        let config: [String: Any] = [
            "class_name": "Sequential",
            "config": ["name": model.network.name, "trainable": true, "layers": plan.layers] as [String: Any],
        ]
        let configData = try! JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
        let configText = String(decoding: configData, as: UTF8.self)
        do {
            try AtomicFile.write(to: path) { temporary in
                try writeFile(at: temporary, config: configText, plan: plan, source: model.source,
                              inputSize: model.network.inputShape.spatial)
            }
        } catch {
            throw .write(error)
        }
    }

    private static func writeFile(at path: String, config: String, plan: KerasLayerPlan, source: ModelSource, inputSize: Size2D) throws {
        let file = try H5FileWriter(creating: path)
        let root = try file.root()
        try root.setAttribute("model_config", string: config)
        try root.setAttribute("keras_version", string: "3.0.0")
        try root.setAttribute("backend", string: "tensorflow")
        try root.setAttribute("fcnkit_version", string: fcnkitVersion)
        try root.setAttribute("fcnkit_source", string: "\(source.path) (\(source.format))")
        try root.setAttribute("fcnkit_input_size", string: "\(inputSize.height)x\(inputSize.width)")
        let weightsGroup = try root.createGroup("model_weights")
        try weightsGroup.setAttribute("keras_version", string: "3.0.0")
        try weightsGroup.setAttribute("backend", string: "tensorflow")
        try weightsGroup.setAttribute("layer_names", strings: plan.layerNames)
        for name in plan.layerNames {
            let group = try weightsGroup.createGroup(name)
            let stored = plan.weights[name] ?? []
            try group.setAttribute("weight_names", strings: stored.map { "\(name)/\($0.role)" })
            for weight in stored {
                try group.writeDataset("\(name)/\(weight.role)", shape: weight.tensor.shape, values: weight.tensor.values)
            }
        }
        try file.close()
    }
}

/// The Keras layers (as config dictionaries) and weights that express a network.
struct KerasLayerPlan {
    struct StoredWeight {
        let role: String
        let tensor: Tensor
    }

    private(set) var layers: [[String: Any]] = []
    private(set) var layerNames: [String] = []
    private(set) var weights: [String: [StoredWeight]] = [:]
    /// Whether what flows at this point is known to be ≥ 0 (after relu, sigmoid, softmax).
    private var nonNegative = false

    init(network: Network, weights modelWeights: [String: LayerWeights]) throws(KerasExportError) {
        layers.append(["class_name": "InputLayer",
                       "config": ["batch_shape": [NSNull(), NSNull(), NSNull(), network.inputShape.channels],
                                  "dtype": "float32", "name": "input_layer"] as [String: Any]])
        for layer in network.layers {
            try add(layer, weights: modelWeights[layer.name])
        }
    }

    private mutating func append(_ className: String, _ name: String, _ config: [String: Any], weights stored: [StoredWeight] = []) {
        var full = config
        full["name"] = name
        full["trainable"] = true
        full["dtype"] = "float32"
        layers.append(["class_name": className, "config": full])
        layerNames.append(name)
        weights[name] = stored
    }

    private mutating func add(_ layer: Layer, weights layerWeights: LayerWeights?) throws(KerasExportError) {
        func unsupported(_ reason: String) -> KerasExportError {
            .unsupported(layer: layer.name, className: layer.sourceClass, reason: reason)
        }
        switch layer.operation {
        case .convolution(let convolution):
            guard case .convolution(let kernel, let bias)? = layerWeights else { throw unsupported("its weights are missing") }
            var padding = "valid"
            switch convolution.padding {
            case .valid: break
            case .same: padding = "same"
            case .explicit(let edges): addZeroPadding(edges, name: layer.name + "_pad")
            }
            let (activationName, separate) = try Self.activation(convolution.activation, unsupported: unsupported)
            var stored = [StoredWeight(role: "kernel", tensor: kernel)]
            if let bias { stored.append(StoredWeight(role: "bias", tensor: bias)) }
            append("Conv2D", layer.name, [
                "filters": convolution.filters, "kernel_size": Self.pair(convolution.kernelSize),
                "strides": Self.pair(convolution.strides), "dilation_rate": Self.pair(convolution.dilation),
                "padding": padding, "data_format": "channels_last", "groups": 1,
                "activation": activationName, "use_bias": bias != nil,
            ], weights: stored)
            if let separate { append(separate.className, layer.name + "_activation", separate.config) }
            nonNegative = Self.isNonNegative(convolution.activation)
        case .pooling(let pooling):
            var padding = "valid"
            var edges = EdgePadding(uniform: 0)
            switch pooling.padding {
            case .valid: break
            case .same: padding = "same"
            case .explicit(let explicit): edges = explicit
            }
            if pooling.rounding == .ceil {
                // Keras rounds down; one window more at the bottom and right is the same as
                // stride − 1 extra cells there, which max pooling may take as zeros when its
                // input is never negative.
                edges.bottom += pooling.strides.height - 1
                edges.right += pooling.strides.width - 1
            }
            if !edges.isZero {
                guard pooling.kind == .max, nonNegative else {
                    throw unsupported(pooling.kind == .max
                        ? "Keras has no ceil rounding or explicit pooling padding; FCNKit emulates them with zeros only after a non-negative activation"
                        : "Keras average pooling cannot count windows the way Caffe does at padded or overhanging borders")
                }
                addZeroPadding(edges, name: layer.name + "_pad")
            }
            append(pooling.kind == .max ? "MaxPooling2D" : "AveragePooling2D", layer.name, [
                "pool_size": Self.pair(pooling.poolSize), "strides": Self.pair(pooling.strides), "padding": padding,
                "data_format": "channels_last",
            ])
        case .zeroPadding(let edges):
            addZeroPadding(edges, name: layer.name)
        case .activation(let activation):
            let (name, separate) = try Self.activation(activation, unsupported: unsupported)
            if let separate { append(separate.className, layer.name, separate.config) }
            else { append("Activation", layer.name, ["activation": name]) }
            nonNegative = Self.isNonNegative(activation)
        case .batchNormalization(let normalization):
            guard case .batchNormalization(let gamma, let beta, let mean, let variance)? = layerWeights else {
                throw unsupported("its weights are missing")
            }
            append("BatchNormalization", layer.name, [
                "axis": -1, "epsilon": Double(normalization.epsilon), "center": true, "scale": true, "momentum": 0.99,
            ], weights: [StoredWeight(role: "gamma", tensor: gamma), StoredWeight(role: "beta", tensor: beta),
                         StoredWeight(role: "moving_mean", tensor: mean), StoredWeight(role: "moving_variance", tensor: variance)])
            nonNegative = false
        case .dropout, .reshape:
            break
        case .dense, .flatten, .globalPooling:
            throw unsupported("the network is not fully convolutional; convert it first")
        }
    }

    private mutating func addZeroPadding(_ edges: EdgePadding, name: String) {
        append("ZeroPadding2D", name, ["padding": [[edges.top, edges.bottom], [edges.left, edges.right]], "data_format": "channels_last"])
    }

    private static func pair(_ size: Size2D) -> [Int] { [size.height, size.width] }

    private static func isNonNegative(_ activation: Activation) -> Bool {
        switch activation {
        case .relu(_, let slope, let threshold): return slope == 0 && threshold >= 0
        case .sigmoid, .softmax, .softplus: return true
        default: return false
        }
    }

    /// The Keras activation name for a layer's `activation` argument, or "linear" and a
    /// separate layer where Keras needs parameters.
    private static func activation(
        _ activation: Activation, unsupported: (String) -> KerasExportError
    ) throws(KerasExportError) -> (name: String, separate: (className: String, config: [String: Any])?) {
        switch activation {
        case .linear: return ("linear", nil)
        case .relu(nil, 0, 0): return ("relu", nil)
        case .relu(6, 0, 0): return ("relu6", nil)
        case .relu(let maxValue, let slope, let threshold):
            var config: [String: Any] = ["negative_slope": Double(slope), "threshold": Double(threshold)]
            config["max_value"] = maxValue.map { Double($0) as Any } ?? NSNull()
            return ("linear", ("ReLU", config))
        case .elu(1): return ("elu", nil)
        case .elu(let alpha): return ("linear", ("ELU", ["alpha": Double(alpha)]))
        case .selu: return ("selu", nil)
        case .tanh: return ("tanh", nil)
        case .sigmoid: return ("sigmoid", nil)
        case .softplus: return ("softplus", nil)
        case .softsign: return ("softsign", nil)
        case .swish: return ("silu", nil)
        case .softmax: return ("softmax", nil)
        case .hardSigmoid:
            throw unsupported("Keras 3's hard_sigmoid is not Keras 2's (0.2·x + 0.5 clipped), which this model uses")
        }
    }
}
