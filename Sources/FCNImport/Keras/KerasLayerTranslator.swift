import FCNModel

/// Turns one Keras layer config, of any Keras generation, into an FCNKit layer.
///
/// This is the one table of Keras class names; `SupportedLayers.keras` lists the same for users.
struct KerasLayerTranslator {
    /// The model's data format, which layers without their own setting follow.
    let dataFormat: DataFormat

    /// Classes that compute nothing at inference.
    static let inferenceIdentities: Set<String> = [
        "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
    ]

    /// The FCNKit layer for `layer`.
    func translate(_ layer: KerasLayerConfig) throws(ImportError) -> Layer {
        let config = layer.config
        let reader = SettingReader(layer: layer)
        let operation: LayerOperation
        switch layer.className {
        case "Conv2D", "Convolution2D", "AtrousConvolution2D":
            try reader.requireDataFormat(dataFormat)
            if let groups = config["groups"]?.int, groups != 1 {
                throw reader.unsupported("grouped convolution (groups = \(groups))")
            }
            let kernel: Size2D = config["kernel_size"] != nil
                ? try reader.size("kernel_size")
                : Size2D(height: try reader.positive("nb_row"), width: try reader.positive("nb_col"))
            operation = .convolution(Convolution(
                filters: try reader.positive(config["filters"] != nil ? "filters" : "nb_filter"),
                kernelSize: kernel,
                strides: try reader.size(config["strides"] != nil ? "strides" : "subsample", default: 1),
                dilation: try reader.size(config["dilation_rate"] != nil ? "dilation_rate" : "atrous_rate", default: 1),
                padding: try reader.padding(),
                useBias: config["use_bias"]?.bool ?? config["bias"]?.bool ?? true,
                activation: try reader.activation(config["activation"])))
        case "Dense":
            operation = .dense(Dense(
                units: try reader.positive(config["units"] != nil ? "units" : "output_dim"),
                useBias: config["use_bias"]?.bool ?? config["bias"]?.bool ?? true,
                activation: try reader.activation(config["activation"])))
        case "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D":
            try reader.requireDataFormat(dataFormat)
            let size = try reader.size("pool_size", default: 2)
            operation = .pooling(Pooling(
                kind: layer.className.hasPrefix("Max") ? .max : .average,
                poolSize: size,
                strides: config["strides"] == nil ? size : try reader.size("strides"),
                padding: try reader.padding()))
        case "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D":
            try reader.requireDataFormat(dataFormat)
            if config["keepdims"]?.bool == true { throw reader.unsupported("keepdims = true") }
            operation = .globalPooling(layer.className.contains("Max") ? .max : .average)
        case "ZeroPadding2D":
            try reader.requireDataFormat(dataFormat)
            operation = .zeroPadding(try reader.edgePadding())
        case "Flatten":
            try reader.requireDataFormat(dataFormat)
            operation = .flatten(dataFormat == .channelsLast ? .heightWidthChannels : .channelsHeightWidth)
        case "Activation":
            operation = .activation(try reader.activation(config["activation"]))
        case "ReLU":
            operation = .activation(.relu(
                maxValue: config["max_value"]?.double.map(Float.init),
                negativeSlope: Float(config["negative_slope"]?.double ?? 0),
                threshold: Float(config["threshold"]?.double ?? 0)))
        case "LeakyReLU":
            let slope = config["negative_slope"]?.double ?? config["alpha"]?.double ?? 0.3
            operation = .activation(.relu(maxValue: nil, negativeSlope: Float(slope), threshold: 0))
        case "ELU":
            operation = .activation(.elu(alpha: Float(config["alpha"]?.double ?? 1)))
        case "Softmax":
            if let axis = config["axis"]?.int, axis != -1 { throw reader.unsupported("softmax over axis \(axis)") }
            operation = .activation(.softmax)
        case "BatchNormalization":
            try reader.requireChannelAxis(dataFormat)
            if let mode = config["mode"]?.int, mode != 0 { throw reader.unsupported("Keras 1 batch-norm mode \(mode)") }
            operation = .batchNormalization(BatchNormalization(
                epsilon: Float(config["epsilon"]?.double ?? 1e-3),
                center: config["center"]?.bool ?? true,
                scale: config["scale"]?.bool ?? true))
        case "Reshape":
            guard let target = config["target_shape"]?.array?.compactMap(\.int) else {
                throw reader.unsupported("no target_shape")
            }
            operation = .reshape(try KerasShapes.activationShape(target, format: dataFormat, what: "Reshape target of '\(layer.name)'"))
        case let name where Self.inferenceIdentities.contains(name):
            operation = .dropout(rate: config["rate"]?.double ?? config["p"]?.double ?? 0)
        case "Lambda":
            throw ImportError.unsupportedLayer(layer: layer.name, className: layer.className,
                                               reason: "it holds Python code that only Python can run", supported: SupportedLayers.keras)
        default:
            throw ImportError.unsupportedLayer(layer: layer.name, className: layer.className, reason: nil,
                                               supported: SupportedLayers.keras)
        }
        return Layer(name: layer.name, sourceClass: layer.className, operation: operation)
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

    func positive(_ key: String) throws(ImportError) -> Int {
        guard let value = layer.config[key]?.int else { throw invalid(key) }
        try KerasShapes.checkSize(value, what: "'\(key)' of layer '\(layer.name)'")
        return value
    }

    /// An int or an [int, int] pair.
    func size(_ key: String, default fallback: Int? = nil) throws(ImportError) -> Size2D {
        guard let value = layer.config[key] else {
            guard let fallback else { throw invalid(key) }
            return Size2D(square: fallback)
        }
        let numbers = value.list.compactMap(\.int)
        guard numbers.count == 1 || numbers.count == 2, numbers.count == value.list.count else { throw invalid(key) }
        for number in numbers { try KerasShapes.checkSize(number, what: "'\(key)' of layer '\(layer.name)'") }
        return Size2D(height: numbers[0], width: numbers.last!)
    }

    func padding() throws(ImportError) -> PaddingMode {
        let mode = layer.config["padding"]?.string ?? layer.config["border_mode"]?.string ?? "valid"
        switch mode {
        case "valid": return .valid
        case "same": return .same
        default: throw unsupported("padding '\(mode)'")
        }
    }

    /// ZeroPadding2D's `padding`: n, (rows, cols), ((top, bottom), (left, right)), or Keras 1's dict.
    func edgePadding() throws(ImportError) -> EdgePadding {
        guard let value = layer.config["padding"] else { return EdgePadding(uniform: 1) }
        if case .object = value {
            let sides = ["top_pad", "bottom_pad", "left_pad", "right_pad"].map { value[$0]?.int ?? 0 }
            return EdgePadding(top: sides[0], bottom: sides[1], left: sides[2], right: sides[3])
        }
        let items = value.list
        if let amount = value.int { return EdgePadding(uniform: amount) }
        if items.count == 2, let rows = items[0].int, let columns = items[1].int {
            return EdgePadding(top: rows, bottom: rows, left: columns, right: columns)
        }
        if items.count == 2, let rows = items[0].array?.compactMap(\.int), let columns = items[1].array?.compactMap(\.int),
           rows.count == 2, columns.count == 2 {
            return EdgePadding(top: rows[0], bottom: rows[1], left: columns[0], right: columns[1])
        }
        if items.count == 4, case let sides = items.compactMap(\.int), sides.count == 4 {
            return EdgePadding(top: sides[0], bottom: sides[1], left: sides[2], right: sides[3])
        }
        throw invalid("padding")
    }

    /// The layer's own data format, which must match the model's.
    func requireDataFormat(_ format: DataFormat) throws(ImportError) {
        guard let own = KerasShapes.dataFormat(of: layer.config), own != format else { return }
        throw unsupported("mixing data formats (\(own.rawValue) in a \(format.rawValue) model)")
    }

    /// BatchNormalization must normalise the channel axis.
    func requireChannelAxis(_ format: DataFormat) throws(ImportError) {
        guard let axisValue = layer.config["axis"] else { return }
        let axes = axisValue.list.compactMap(\.int)
        let accepted: Set<Int> = format == .channelsLast ? [-1, 3] : [1, -3]
        guard axes.count == 1, accepted.contains(axes[0]) else {
            throw unsupported("normalising axis \(axes) instead of the channel axis")
        }
    }

    /// An activation given by name (string) or, in Keras 3, as a serialised function.
    func activation(_ value: ConfigValue?) throws(ImportError) -> Activation {
        guard let value else { return .linear }
        let name = value.string ?? value["config"]?.string ?? value["config"]?["name"]?.string ?? value["class_name"]?.string
        switch name ?? "linear" {
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
                setting: "activation '\(other)' is not supported; supported: linear, relu, relu6, leaky_relu, elu, selu, "
                    + "tanh, sigmoid, hard_sigmoid, softplus, softsign, swish, softmax")
        }
    }
}
