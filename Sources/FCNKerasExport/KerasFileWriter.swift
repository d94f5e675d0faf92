import FCNDiagnostics
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
            return "layer \(QuotedName.quoted(layer)) (\(className)) cannot be written as Keras: \(reason); "
                + "fcn run, heatmap and verify still work on the original file"
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

    /// Why `write` would refuse `model` (a converted network), or nil when it would write it:
    /// the same checks, without a file.
    public static func refusal(of model: Model) -> KerasExportError? {
        guard let weights = model.weights else { return .noWeights }
        do {
            _ = try KerasLayerPlan(network: model.network, weights: weights)
            return nil
        } catch {
            return error
        }
    }

    /// Writes `model` (a converted network) to `path`, atomically.
    public static func write(_ model: Model, to path: String) throws(KerasExportError) {
        guard let weights = model.weights else { throw .noWeights }
        let plan = try KerasLayerPlan(network: model.network, weights: weights)
        let config: [String: Any] = [
            "class_name": "Functional",
            "config": ["name": KerasLayerPlan.kerasName(model.network.name), "trainable": true, "layers": plan.layers,
                       "input_layers": [[plan.inputName, 0, 0]], "output_layers": [[plan.outputName, 0, 0]]] as [String: Any],
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
        try root.setAttribute("fcnkit_source", string: source.conversion?.source ?? "\(source.path) (\(source.format))")
        try root.setAttribute("fcnkit_input_size", string: "\(inputSize.height)x\(inputSize.width)")
        if let names = source.classNames {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: names), as: UTF8.self)
            try root.setAttribute("fcnkit_class_names", string: text)
        }
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

/// The Keras layers (as config dictionaries of a functional model) and weights that express a
/// network: each IR layer as one Keras layer, or a few (padding before, an activation after).
struct KerasLayerPlan {
    struct StoredWeight {
        let role: String
        let tensor: Tensor
    }

    private(set) var layers: [[String: Any]] = []
    private(set) var layerNames: [String] = []
    private(set) var weights: [String: [StoredWeight]] = [:]
    let inputName: String
    /// The Keras layer whose output is the network's.
    var outputName: String { holder[network.layers.last?.name ?? network.inputName] ?? inputName }
    private let network: Network
    /// For every IR value, the Keras layer that holds it.
    private var holder: [String: String] = [:]
    private var usedNames: Set<String> = []
    /// For every IR value, the channels it has, for the tensors' shapes in the config.
    private let channels: [String: Int]
    /// Whether each IR value is known to be ≥ 0 (after relu, sigmoid, softmax).
    private var nonNegative: [String: Bool] = [:]
    private var sequence: Bool { network.isSequence }

    /// A Keras layer name for an FCNKit one: Keras forbids `/`.
    static func kerasName(_ name: String) -> String { name.replacingOccurrences(of: "/", with: "_") }

    init(network: Network, weights modelWeights: [String: LayerWeights]) throws(KerasExportError) {
        self.network = network
        let shapes = (try? network.outputShapes()) ?? []
        var channels = [network.inputName: network.inputShape.channels]
        for (layer, shape) in zip(network.layers, shapes) { channels[layer.name] = shape.channels }
        self.channels = channels
        inputName = Self.kerasName(network.inputName)
        usedNames.insert(inputName)
        holder[network.inputName] = inputName
        layers.append(["module": "keras.layers", "class_name": "InputLayer", "name": inputName, "inbound_nodes": [] as [Any],
                       "config": ["batch_shape": [NSNull()] + (sequence ? [NSNull()] : [NSNull(), NSNull()]) + [network.inputShape.channels],
                                  "dtype": "float32", "sparse": false, "name": inputName] as [String: Any]])
        for layer in network.layers {
            try add(layer, weights: modelWeights[layer.name])
        }
        orderAsKeras()
    }

    /// The Keras layers that each one reads, by name.
    private var reads: [String: [String]] = [:]

    /// Puts the layers in the order Keras gives a functional model's `layers` (`kerasLayerOrder`),
    /// which is the order in which its legacy `.h5` loader pairs them with `layer_names`.
    private mutating func orderAsKeras() {
        layerNames = kerasLayerOrder(layerNames, reads: reads, output: outputName)
        let position = Dictionary(uniqueKeysWithValues: layerNames.enumerated().map { ($1, $0) })
        layers.sort { (position[$0["name"] as! String] ?? -1) < (position[$1["name"] as! String] ?? -1) }
    }

    /// Appends a Keras layer reading the Keras layers `inputs`; returns its name.
    @discardableResult
    private mutating func append(_ className: String, _ name: String, _ config: [String: Any], inputs: [String],
                                 weights stored: [StoredWeight] = []) -> String {
        var unique = Self.kerasName(name)
        while usedNames.contains(unique) { unique += "_" }
        usedNames.insert(unique)
        var full = config
        full["name"] = unique
        full["trainable"] = true
        full["dtype"] = "float32"
        let tensors: [Any] = inputs.map { input in
            ["class_name": "__keras_tensor__",
             "config": ["shape": [NSNull()], "dtype": "float32", "keras_history": [input, 0, 0]] as [String: Any]] as [String: Any]
        }
        let arguments: [Any] = tensors.count == 1 ? tensors : [tensors]
        layers.append(["module": "keras.layers", "class_name": className, "name": unique, "config": full,
                       "inbound_nodes": [["args": arguments, "kwargs": [String: Any]()] as [String: Any]]])
        layerNames.append(unique)
        weights[unique] = stored
        reads[unique] = inputs
        return unique
    }

    /// Keras's name for a window along the layer's axes: [h, w], or [w] for sequences.
    private func axes(_ size: Size2D) -> [Int] { sequence ? [size.width] : [size.height, size.width] }
    private func kind(_ base: String) -> String { base + (sequence ? "1D" : "2D") }
    /// A convolution kernel (kh, kw, in, out) as Keras stores it: (kw, in, out) for sequences.
    private func kernel(_ tensor: Tensor) -> Tensor { sequence ? Tensor(shape: Array(tensor.shape.dropFirst()), values: tensor.values) : tensor }

    private mutating func add(_ layer: Layer, weights layerWeights: LayerWeights?) throws(KerasExportError) {
        func unsupported(_ reason: String) -> KerasExportError {
            .unsupported(layer: layer.name, className: layer.sourceClass, reason: reason)
        }
        var inputs = layer.inputs.map { holder[$0] ?? Self.kerasName($0) }
        let positive = layer.inputs.allSatisfy { nonNegative[$0] ?? false }
        var isNonNegative = false
        func finish(_ name: String) { holder[layer.name] = name }
        switch layer.operation {
        case .convolution(let convolution):
            guard case .convolution(let kernel, let bias)? = layerWeights else { throw unsupported("its weights are missing") }
            var padding = "valid"
            switch convolution.padding {
            case .valid: break
            case .same: padding = "same"
            case .explicit(let edges): inputs = [addZeroPadding(edges, name: layer.name + "_pad", input: inputs[0])]
            }
            let (activationName, separate) = try Self.activation(convolution.activation, unsupported: unsupported)
            let inputChannels = channels[layer.inputs[0]] ?? kernel.shape[2] * convolution.groups
            var config: [String: Any] = [
                "kernel_size": axes(convolution.kernelSize), "strides": axes(convolution.strides),
                "dilation_rate": axes(convolution.dilation), "padding": padding, "data_format": "channels_last",
                "activation": activationName, "use_bias": bias != nil,
            ]
            var stored: [StoredWeight]
            let className: String
            if convolution.groups > 1, convolution.groups == inputChannels {
                // Depthwise: Keras keeps the kernel as (kh, kw, channels, multiplier), the same values.
                className = kind("DepthwiseConv")
                config["depth_multiplier"] = convolution.filters / inputChannels
                let shape = Array(kernel.shape.prefix(2)) + [inputChannels, convolution.filters / inputChannels]
                stored = [StoredWeight(role: "depthwise_kernel", tensor: self.kernel(Tensor(shape: shape, values: kernel.values)))]
            } else {
                className = kind("Conv")
                config["filters"] = convolution.filters
                config["groups"] = convolution.groups
                stored = [StoredWeight(role: "kernel", tensor: self.kernel(kernel))]
            }
            if let bias { stored.append(StoredWeight(role: "bias", tensor: bias)) }
            var name = append(className, layer.name, config, inputs: inputs, weights: stored)
            if let separate { name = append(separate.className, layer.name + "_activation", separate.config, inputs: [name]) }
            finish(name)
            isNonNegative = Self.isNonNegative(convolution.activation)
        case .pooling(let pooling):
            var padding = "valid"
            var edges = EdgePadding(uniform: 0)
            switch pooling.padding {
            case .valid: break
            case .same: padding = "same"
            case .explicit(let explicit): edges = explicit
            }
            switch pooling.rounding {
            case .floor: break
            case .ceilCaffe, .ceilPyTorch:
                // Keras rounds down; one window more at the bottom and right is the same as
                // stride − 1 extra cells there, which max pooling may take as zeros when its
                // input is never negative. A last window that the ceil rule drops again must
                // not be added back.
                let input = (try? network.inputShapes())?[network.layers.firstIndex(of: layer)!][0].spatial
                edges.bottom += Self.ceilExtra(pooling.windows.vertical, length: input?.height ?? 0, before: edges.top, after: edges.bottom)
                edges.right += Self.ceilExtra(pooling.windows.horizontal, length: input?.width ?? 0, before: edges.left, after: edges.right)
            }
            if !edges.isZero {
                guard pooling.kind == .max, positive else {
                    throw unsupported(pooling.kind == .max
                        ? "Keras has no ceil rounding or explicit pooling padding; FCNKit emulates them with zeros only after a non-negative activation"
                        : "Keras average pooling cannot count windows the way Caffe does at padded or overhanging borders")
                }
                inputs = [addZeroPadding(edges, name: layer.name + "_pad", input: inputs[0])]
            }
            finish(append(kind(pooling.kind == .max ? "MaxPooling" : "AveragePooling"), layer.name, [
                "pool_size": axes(pooling.poolSize), "strides": axes(pooling.strides), "padding": padding,
                "data_format": "channels_last",
            ], inputs: inputs))
            isNonNegative = positive
        case .zeroPadding(let edges):
            finish(addZeroPadding(edges, name: layer.name, input: inputs[0]))
            isNonNegative = positive
        case .activation(let activation):
            let (name, separate) = try Self.activation(activation, unsupported: unsupported)
            if let separate { finish(append(separate.className, layer.name, separate.config, inputs: inputs)) }
            else { finish(append("Activation", layer.name, ["activation": name], inputs: inputs)) }
            isNonNegative = Self.isNonNegative(activation)
        case .batchNormalization(let normalization):
            guard case .batchNormalization(let gamma, let beta, let mean, let variance)? = layerWeights else {
                throw unsupported("its weights are missing")
            }
            finish(append("BatchNormalization", layer.name, [
                "axis": -1, "epsilon": Double(normalization.epsilon), "center": true, "scale": true, "momentum": 0.99,
            ], inputs: inputs, weights: [StoredWeight(role: "gamma", tensor: gamma), StoredWeight(role: "beta", tensor: beta),
                                         StoredWeight(role: "moving_mean", tensor: mean), StoredWeight(role: "moving_variance", tensor: variance)]))
        case .layerNormalization(let normalization):
            guard case .layerNormalization(let gamma, let beta)? = layerWeights else { throw unsupported("its weights are missing") }
            finish(append("LayerNormalization", layer.name, [
                "axis": [-1], "epsilon": Double(normalization.epsilon), "center": true, "scale": true,
            ], inputs: inputs, weights: [StoredWeight(role: "gamma", tensor: gamma), StoredWeight(role: "beta", tensor: beta)]))
        case .channelAffine:
            // x · scale + shift per channel: a 1×1 depthwise convolution, exactly.
            guard case .channelAffine(let scale, let shift)? = layerWeights else { throw unsupported("its weights are missing") }
            let count = scale.values.count
            finish(append(kind("DepthwiseConv"), layer.name, [
                "kernel_size": axes(Size2D(square: 1)), "strides": axes(Size2D(square: 1)), "dilation_rate": axes(Size2D(square: 1)),
                "padding": "valid", "data_format": "channels_last", "depth_multiplier": 1, "activation": "linear", "use_bias": true,
            ], inputs: inputs, weights: [
                StoredWeight(role: "depthwise_kernel", tensor: Tensor(shape: (sequence ? [1] : [1, 1]) + [count, 1], values: scale.values)),
                StoredWeight(role: "bias", tensor: shift),
            ]))
        case .parametricReLU:
            guard case .slopes(let slopes)? = layerWeights else { throw unsupported("its weights are missing") }
            let shape = (sequence ? [1] : [1, 1]) + [slopes.values.count]
            finish(append("PReLU", layer.name, ["shared_axes": sequence ? [1] : [1, 2]], inputs: inputs,
                          weights: [StoredWeight(role: "alpha", tensor: Tensor(shape: shape, values: slopes.values))]))
            isNonNegative = false
        case .merge(let kind):
            let className = switch kind {
            case .add: "Add"
            case .subtract: "Subtract"
            case .multiply: "Multiply"
            case .average: "Average"
            case .maximum: "Maximum"
            case .minimum: "Minimum"
            }
            finish(append(className, layer.name, [:], inputs: inputs))
            isNonNegative = positive && kind != .subtract
        case .concatenate:
            finish(append("Concatenate", layer.name, ["axis": -1], inputs: inputs))
            isNonNegative = positive
        case .dropout, .reshape:
            holder[layer.name] = inputs[0]
            isNonNegative = positive
        case .localResponseNormalization:
            throw unsupported("Keras has no local response normalisation layer")
        case .resize(let resize):
            finish(append("Resizing", layer.name, [
                "height": resize.size.height, "width": resize.size.width, "interpolation": resize.interpolation.rawValue,
                "crop_to_aspect_ratio": resize.cropToAspectRatio, "pad_to_aspect_ratio": false, "data_format": "channels_last",
            ], inputs: inputs))
        case .dense, .flatten, .globalPooling:
            throw unsupported("the network is not fully convolutional; convert it first")
        }
        nonNegative[layer.name] = isNonNegative
    }

    /// How many zeros a Keras floor pooling needs after the input to make Caffe's ceil count.
    static func ceilExtra(_ window: AxisWindow, length: Int, before: Int, after: Int) -> Int {
        let ceil = window.outputLength(inputLength: length, mode: .explicit(before: before, after: after)) ?? 0
        var floorWindow = window
        floorWindow.rounding = .floor
        var extra = 0
        while (floorWindow.outputLength(inputLength: length, mode: .explicit(before: before, after: after + extra)) ?? 0) < ceil {
            extra += 1
        }
        return extra
    }

    /// Appends a zero padding of `edges` reading `input`; returns its name.
    private mutating func addZeroPadding(_ edges: EdgePadding, name: String, input: String) -> String {
        if sequence { return append("ZeroPadding1D", name, ["padding": [edges.left, edges.right]], inputs: [input]) }
        return append("ZeroPadding2D", name, ["padding": [[edges.top, edges.bottom], [edges.left, edges.right]], "data_format": "channels_last"],
                      inputs: [input])
    }

    private static func pair(_ size: Size2D) -> [Int] { [size.height, size.width] }

    private static func isNonNegative(_ activation: Activation) -> Bool {
        switch activation {
        case .relu(_, let slope, let threshold): return slope == 0 && threshold >= 0
        case .sigmoid, .softmax, .softplus, .hardSigmoid, .hardSigmoidSixths: return true
        case .linear, .elu, .selu, .tanh, .softsign, .swish, .hardSwish, .gelu: return false
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
        case .hardSigmoidSixths: return ("hard_sigmoid", nil)
        case .hardSwish: return ("hard_silu", nil)
        case .gelu(false): return ("gelu", nil)
        case .gelu(true): throw unsupported("Keras's gelu activation by name is the exact form, not the tanh approximation this model uses")
        }
    }
}
