import FCNDiagnostics
import FCNModel

/// Turns one Keras layer config, of any Keras generation, into FCNKit layers: one, or two for
/// SeparableConv2D (its depthwise part, then its pointwise convolution under the layer's name).
///
/// This is the one table of Keras class names; `SupportedLayers.keras` lists the same for users.
struct KerasLayerTranslator {
    /// The model's data format, which layers without their own setting follow.
    let dataFormat: DataFormat
    let generation: KerasGeneration

    /// Classes that compute nothing at inference: regularisers and the augmentation layers.
    static let inferenceIdentities: Set<String> = [
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
        "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    ]

    /// Elementwise merges by class name.
    static let merges: [String: MergeKind] = [
        "Add": .add, "Subtract": .subtract, "Multiply": .multiply, "Average": .average, "Maximum": .maximum, "Minimum": .minimum,
    ]

    /// The FCNKit layers for `layer`, which receives `inputs` (provisional shapes: the spatial
    /// size may stand in for an open one).
    func translate(_ layer: KerasLayerConfig, inputs: [ActivationShape]) throws(ImportError) -> [Layer] {
        let config = layer.config
        let reader = SettingReader(layer: layer)
        let channels = inputs.first?.channels ?? 0
        func one(_ operation: LayerOperation) -> [Layer] {
            [Layer(name: layer.name, sourceClass: layer.className, operation: operation, inputs: layer.inbound)]
        }
        switch layer.className {
        case "Conv2D", "Convolution2D", "AtrousConvolution2D", "Conv1D", "Convolution1D":
            try reader.requireDataFormat(dataFormat)
            let isSequence = layer.className.hasSuffix("1D")
            let kernel: Size2D = config["kernel_size"] != nil || isSequence
                ? try reader.size(config["kernel_size"] != nil ? "kernel_size" : "filter_length", sequence: isSequence)
                : Size2D(height: try reader.positive("nb_row"), width: try reader.positive("nb_col"))
            let dilation = try reader.size(config["dilation_rate"] != nil ? "dilation_rate" : "atrous_rate", default: 1, sequence: isSequence)
            return one(.convolution(Convolution(
                filters: try reader.positive(config["filters"] != nil ? "filters" : "nb_filter"),
                kernelSize: kernel,
                strides: try reader.size(config["strides"] != nil ? "strides" : "subsample", default: 1, sequence: isSequence),
                dilation: dilation,
                padding: try reader.padding(causalSpan: isSequence ? (kernel.width - 1) * dilation.width : nil),
                useBias: config["use_bias"]?.bool ?? config["bias"]?.bool ?? true,
                activation: try reader.activation(config["activation"], generation: generation),
                groups: try reader.positive("groups", default: 1))))
        case "DepthwiseConv2D", "DepthwiseConv1D", "SeparableConv2D", "SeparableConvolution2D", "SeparableConv1D":
            try reader.requireDataFormat(dataFormat)
            let isSequence = layer.className.hasSuffix("1D")
            let multiplier = try reader.positive("depth_multiplier", default: 1)
            let depthwise = Convolution(
                filters: channels * multiplier, kernelSize: try reader.size("kernel_size", sequence: isSequence),
                strides: try reader.size("strides", default: 1, sequence: isSequence),
                dilation: try reader.size("dilation_rate", default: 1, sequence: isSequence), padding: try reader.padding(),
                useBias: layer.className.hasPrefix("Depthwise") && (config["use_bias"]?.bool ?? true),
                activation: layer.className.hasPrefix("Depthwise") ? try reader.activation(config["activation"], generation: generation) : .linear,
                groups: channels)
            guard layer.className.hasPrefix("Separable") else { return one(.convolution(depthwise)) }
            let depthwiseName = layer.name + "/depthwise"
            return [
                Layer(name: depthwiseName, sourceClass: layer.className, operation: .convolution(depthwise), inputs: layer.inbound),
                Layer(name: layer.name, sourceClass: layer.className, operation: .convolution(Convolution(
                    filters: try reader.positive("filters"), kernelSize: Size2D(square: 1),
                    useBias: config["use_bias"]?.bool ?? true,
                    activation: try reader.activation(config["activation"], generation: generation))), inputs: [depthwiseName]),
            ]
        case "Dense":
            if inputs.first?.isFeatureMap == true, dataFormat == .channelsFirst {
                throw reader.unsupported("a Dense on a channels_first feature map (Keras applies it along the width)")
            }
            return one(.dense(Dense(
                units: try reader.positive(config["units"] != nil ? "units" : "output_dim"),
                useBias: config["use_bias"]?.bool ?? config["bias"]?.bool ?? true,
                activation: try reader.activation(config["activation"], generation: generation))))
        case "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D", "MaxPooling1D", "MaxPool1D", "AveragePooling1D", "AvgPool1D":
            try reader.requireDataFormat(dataFormat)
            let isSequence = layer.className.hasSuffix("1D")
            let size = try reader.size(config["pool_size"] != nil || !isSequence ? "pool_size" : "pool_length", default: 2, sequence: isSequence)
            return one(.pooling(Pooling(
                kind: layer.className.hasPrefix("Max") ? .max : .average,
                poolSize: size,
                strides: config["strides"] == nil ? size : try reader.size("strides", sequence: isSequence),
                padding: try reader.padding())))
        case "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
             "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAvgPool1D", "GlobalMaxPool1D":
            try reader.requireDataFormat(dataFormat)
            let pooling = one(.globalPooling(layer.className.contains("Max") ? .max : .average))
            guard config["keepdims"]?.bool == true else { return pooling }
            // keepdims: the vector as a 1×1 map (1 × 1 for sequences too).
            let pooled = layer.name + "/pooled"
            return [Layer(name: pooled, sourceClass: layer.className, operation: pooling[0].operation, inputs: layer.inbound),
                    Layer(name: layer.name, sourceClass: layer.className,
                          operation: .reshape(.featureMap(height: 1, width: 1, channels: channels)), inputs: [pooled])]
        case "ZeroPadding2D":
            try reader.requireDataFormat(dataFormat)
            return one(.zeroPadding(try reader.edgePadding()))
        case "ZeroPadding1D":
            return one(.zeroPadding(try reader.sequencePadding()))
        case "Flatten":
            try reader.requireDataFormat(dataFormat)
            return one(.flatten(dataFormat == .channelsLast ? .heightWidthChannels : .channelsHeightWidth))
        case let name where Self.merges[name] != nil:
            return one(.merge(Self.merges[name]!))
        case "Concatenate":
            let axis = config["axis"]?.int ?? -1
            let channelAxes: Set<Int> = dataFormat == .channelsLast ? [-1, inputs.first?.isFeatureMap == true ? 3 : 1] : [1, -3]
            guard channelAxes.contains(axis) else { throw reader.unsupported("concatenating along axis \(axis) instead of the channels") }
            return one(.concatenate)
        case "Activation":
            return one(.activation(try reader.activation(config["activation"], generation: generation)))
        case "ReLU":
            return one(.activation(.relu(
                maxValue: try reader.number("max_value").map(Float.init),
                negativeSlope: Float(try reader.number("negative_slope") ?? 0),
                threshold: Float(try reader.number("threshold") ?? 0))))
        case "LeakyReLU":
            let slope = try reader.number("negative_slope", "alpha") ?? 0.3
            return one(.activation(.relu(maxValue: nil, negativeSlope: Float(slope), threshold: 0)))
        case "PReLU":
            let shared = Set(config["shared_axes"]?.list.compactMap(\.int) ?? [])
            let spatial: Set<Int> = inputs.first?.isFeatureMap == true ? (dataFormat == .channelsLast ? [1, 2] : [2, 3]) : []
            guard spatial.isSubset(of: shared) else {
                throw reader.unsupported("PReLU with slopes per position (shared_axes must include the spatial axes)")
            }
            return one(.parametricReLU)
        case "ELU":
            return one(.activation(.elu(alpha: Float(try reader.number("alpha") ?? 1))))
        case "Softmax":
            if let axis = config["axis"]?.list.first?.int, axis != -1, axis != (inputs.first?.isFeatureMap == true ? 3 : 1) {
                throw reader.unsupported("softmax over axis \(axis)")
            }
            return one(.activation(.softmax))
        case "BatchNormalization":
            try reader.requireChannelAxis(dataFormat, input: inputs.first)
            if let mode = config["mode"]?.int, mode != 0 { throw reader.unsupported("Keras 1 batch-norm mode \(mode)") }
            return one(.batchNormalization(BatchNormalization(
                epsilon: Float(try reader.number("epsilon") ?? 1e-3),
                center: config["center"]?.bool ?? true,
                scale: config["scale"]?.bool ?? true)))
        case "LayerNormalization":
            try reader.requireChannelAxis(.channelsLast, input: inputs.first)
            if config["rms_scaling"]?.bool == true { throw reader.unsupported("rms_scaling") }
            return one(.layerNormalization(LayerNormalization(
                epsilon: Float(try reader.number("epsilon") ?? 1e-3),
                center: config["center"]?.bool ?? true,
                scale: config["scale"]?.bool ?? true)))
        case "Rescaling", "Normalization":
            if layer.className == "Normalization" {
                try reader.requireChannelAxis(.channelsLast, input: inputs.first)
                if config["invert"]?.bool == true { throw reader.unsupported("invert = true") }
            }
            return one(.channelAffine)
        case "Resizing":
            try reader.requireDataFormat(dataFormat)
            let interpolation = config["interpolation"]?.string ?? "bilinear"
            guard let method = ResizeInterpolation(rawValue: interpolation) else {
                throw reader.unsupported("interpolation \(QuotedName.quoted(interpolation)) (bilinear and nearest are)")
            }
            if config["pad_to_aspect_ratio"]?.bool == true { throw reader.unsupported("pad_to_aspect_ratio") }
            return one(.resize(Resize(size: Size2D(height: try reader.positive("height"), width: try reader.positive("width")),
                                      interpolation: method, cropToAspectRatio: config["crop_to_aspect_ratio"]?.bool ?? false)))
        case "Reshape":
            guard let target = config["target_shape"]?.array?.compactMap(\.int) else {
                throw reader.unsupported("no target_shape")
            }
            return one(.reshape(try KerasShapes.activationShape(target, format: dataFormat, what: "Reshape target of \(QuotedName.quoted(layer.name))")))
        case let name where Self.inferenceIdentities.contains(name):
            return one(.dropout(rate: try reader.number("rate", "p") ?? 0))
        case "Lambda":
            throw ImportError.unsupportedLayer(layer: layer.name, className: layer.className,
                                               reason: "it holds Python code that only Python can run", supported: SupportedLayers.keras)
        default:
            throw ImportError.unsupportedLayer(layer: layer.name, className: layer.className, reason: nil,
                                               supported: SupportedLayers.keras)
        }
    }
}

/// Reads the settings of one layer config, with errors that name the layer.
private struct SettingReader {
    let layer: KerasLayerConfig

    func unsupported(_ setting: String) -> ImportError {
        .unsupportedSetting(layer: layer.name, className: layer.className, setting: "\(setting) is not supported")
    }

    func invalid(_ key: String) -> ImportError {
        .unsupportedSetting(layer: layer.name, className: layer.className,
                            setting: "setting '\(key)' is missing or not understood")
    }

    /// A positive int no larger than `KerasShapes.maximumDimension`, or `fallback` when absent.
    func positive(_ key: String, default fallback: Int? = nil) throws(ImportError) -> Int {
        guard let setting = layer.config[key] else {
            guard let fallback else { throw invalid(key) }
            return fallback
        }
        guard let value = setting.int else { throw invalid(key) }
        try KerasShapes.checkSize(value, what: "\(QuotedName.quoted(key)) of layer \(QuotedName.quoted(layer.name))")
        return value
    }

    /// The first of `keys` the config has, a finite number; nil when it has none.
    func number(_ keys: String...) throws(ImportError) -> Double? {
        guard let key = keys.first(where: { layer.config[$0] != nil }), let setting = layer.config[key] else { return nil }
        guard let value = setting.double, value.isFinite, abs(value) <= 1e30 else { throw invalid(key) }
        return value
    }

    /// An int or an [int, int] pair; for a sequence layer one int (or [int]), the width of a 1 × n window.
    func size(_ key: String, default fallback: Int? = nil, sequence: Bool = false) throws(ImportError) -> Size2D {
        guard let value = layer.config[key] else {
            guard let fallback else { throw invalid(key) }
            return sequence ? Size2D(height: 1, width: fallback) : Size2D(square: fallback)
        }
        let numbers = value.list.compactMap(\.int)
        guard numbers.count == value.list.count, sequence ? numbers.count == 1 : (numbers.count == 1 || numbers.count == 2) else {
            throw invalid(key)
        }
        for number in numbers { try KerasShapes.checkSize(number, what: "\(QuotedName.quoted(key)) of layer \(QuotedName.quoted(layer.name))") }
        return sequence ? Size2D(height: 1, width: numbers[0]) : Size2D(height: numbers[0], width: numbers.last!)
    }

    /// `valid`, `same`, or for a sequence convolution `causal` (its span padded on the left).
    func padding(causalSpan: Int? = nil) throws(ImportError) -> PaddingMode {
        let mode = layer.config["padding"]?.string ?? layer.config["border_mode"]?.string ?? "valid"
        switch mode {
        case "valid": return .valid
        case "same": return .same
        case "causal" where causalSpan != nil: return .explicit(EdgePadding(top: 0, bottom: 0, left: causalSpan!, right: 0))
        default: throw unsupported("padding \(QuotedName.quoted(mode))")
        }
    }

    /// A zero-padding amount: from 0 to `KerasShapes.maximumDimension`.
    private func amount(_ value: Int?) throws(ImportError) -> Int {
        guard let value, value >= 0, value <= KerasShapes.maximumDimension else {
            throw .absurdShape(what: "the padding of layer \(QuotedName.quoted(layer.name))", value: value.map(String.init) ?? "not a number",
                               limit: "0 to \(KerasShapes.maximumDimension)")
        }
        return value
    }

    /// ZeroPadding1D's `padding`: n or (left, right), as a 1 × n map's left and right.
    func sequencePadding() throws(ImportError) -> EdgePadding {
        guard let value = layer.config["padding"] else { return EdgePadding(top: 0, bottom: 0, left: 1, right: 1) }
        let items = value.list
        guard (1...2).contains(items.count) else { throw invalid("padding") }
        return EdgePadding(top: 0, bottom: 0, left: try amount(items[0].int), right: try amount(items[items.count - 1].int))
    }

    /// ZeroPadding2D's `padding`: n, (rows, cols), ((top, bottom), (left, right)), or Keras 1's dict.
    func edgePadding() throws(ImportError) -> EdgePadding {
        guard let value = layer.config["padding"] else { return EdgePadding(uniform: 1) }
        let sides: [Int?]
        let items = value.list
        if case .object = value {
            sides = ["top_pad", "bottom_pad", "left_pad", "right_pad"].map { value[$0]?.int ?? 0 }
        } else if let amount = value.int {
            sides = [amount, amount, amount, amount]
        } else if items.count == 2, let rows = items[0].int, let columns = items[1].int {
            sides = [rows, rows, columns, columns]
        } else if items.count == 2, let rows = items[0].array, let columns = items[1].array, rows.count == 2, columns.count == 2 {
            sides = [rows[0].int, rows[1].int, columns[0].int, columns[1].int]
        } else if items.count == 4 {
            sides = items.map(\.int)
        } else {
            throw invalid("padding")
        }
        return EdgePadding(top: try amount(sides[0]), bottom: try amount(sides[1]), left: try amount(sides[2]), right: try amount(sides[3]))
    }

    /// The layer's own data format, which must match the model's.
    func requireDataFormat(_ format: DataFormat) throws(ImportError) {
        guard let own = KerasShapes.dataFormat(of: layer.config), own != format else { return }
        throw unsupported("mixing data formats (\(own.rawValue) in a \(format.rawValue) model)")
    }

    /// Normalisation layers must normalise the channel axis: of a feature map in `format`, or
    /// the one axis of a vector (`[1]`, as tf.keras writes it for a BatchNormalization after a Dense).
    func requireChannelAxis(_ format: DataFormat, input: ActivationShape?) throws(ImportError) {
        guard let axisValue = layer.config["axis"] else { return }
        let axes = axisValue.list.compactMap(\.int)
        let accepted: Set<Int> = input?.isFeatureMap == false ? [-1, 1] : (format == .channelsLast ? [-1, 3] : [1, -3])
        guard axes.count == 1, accepted.contains(axes[0]) else {
            throw unsupported("normalising axis \(axes) instead of the channel axis")
        }
    }

    /// An activation given by name (string) or, in Keras 3, as a serialised function.
    func activation(_ value: ConfigValue?, generation: KerasGeneration) throws(ImportError) -> Activation {
        guard let value else { return .linear }
        let name = value.string ?? value["config"]?.string ?? value["config"]?["name"]?.string ?? value["class_name"]?.string
        switch name ?? "linear" {
        case "gelu": return .gelu(approximate: value["config"]?["approximate"]?.bool ?? false)
        case "hard_swish", "hard_silu": return .hardSwish
        case "hard_sigmoid" where generation == .keras3: return .hardSigmoidSixths
        case "linear", "None": return .linear
        case "relu": return .plainReLU
        case "relu6": return .relu(maxValue: 6, negativeSlope: 0, threshold: 0)
        case "leaky_relu": return .relu(maxValue: nil, negativeSlope: 0.2, threshold: 0)
        case "elu": return .elu(alpha: 1)
        case "selu": return .selu
        case "tanh": return .tanh
        case "sigmoid": return .sigmoid
        case "hard_sigmoid": return .hardSigmoid
        case "softplus": return .softplus
        case "softsign": return .softsign
        case "swish", "silu": return .swish
        case "softmax": return .softmax
        case let other:
            throw .unsupportedSetting(
                layer: layer.name, className: layer.className,
                setting: "activation \(QuotedName.quoted(other)) is not supported; supported: linear, relu, relu6, leaky_relu, elu, selu, "
                    + "tanh, sigmoid, hard_sigmoid, hard_swish, gelu, softplus, softsign, swish, softmax")
        }
    }
}
