import FCNModel

/// What to do with global pooling followed by Dense.
public enum GlobalPoolingConversion: String, Sendable, CaseIterable {
    /// Pool over a window the size of the feature map at the training input, stride 1: every
    /// cell then equals the classifier on the crop behind it.
    case window
    /// Drop the pooling and apply the Dense layers at every position: a class activation map.
    case cam
}

/// Options of the conversion.
public struct ConversionOptions: Hashable, Sendable {
    public var globalPooling: GlobalPoolingConversion
    /// Fold a BatchNormalization into the convolution before it when that convolution has no
    /// activation of its own and nothing else reads it.
    public var foldBatchNormalization: Bool

    public init(globalPooling: GlobalPoolingConversion = .window, foldBatchNormalization: Bool = true) {
        self.globalPooling = globalPooling
        self.foldBatchNormalization = foldBatchNormalization
    }
}

/// Turns a classifier into its fully convolutional network (Long, Shelhamer & Darrell, Figure 2),
/// in the form `FullyConvolutionalForm` decides, by moving the weights: a Dense kernel after
/// Flatten re-laid out as a k×k convolution kernel from the flatten order, other Dense kernels as
/// 1×1 kernels, batch normalisation folded into the Dense or convolution it belongs to.
public enum Convolutionalizer {
    /// The fully convolutional form of `model`, which takes any input at least as large as
    /// the classifier's and gives a grid of class scores.
    public static func convert(_ model: Model, options: ConversionOptions = ConversionOptions()) throws(ConversionError) -> Model {
        guard let weights = model.weights else { throw .noWeights }
        let form = FullyConvolutionalForm(classifier: model.network, options: options)
        guard var network = form.network else { throw form.conversionError! }
        let classifier = model.network
        guard let inputs = try? classifier.inputShapes() else { preconditionFailure("a converted network's shapes fit") }
        var converted: [String: LayerWeights] = [:]
        for (index, layer) in classifier.layers.enumerated() {
            switch form.fates[index] {
            case .kept:
                converted[layer.name] = weights[layer.name]
            case .convolution(let kernelSize):
                guard case .dense(let kernel, let bias)? = weights[layer.name] else { throw missing(layer) }
                converted[layer.name] = try convolutionWeights(ofDense: index, kernel: kernel, bias: bias, kernelSize: kernelSize,
                                                               form: form, inputs: inputs, weights: weights)
            case .poolingWindow, .removed, .foldedInto, .refused:
                break
            }
        }
        if options.foldBatchNormalization { (network, converted) = foldingBatchNormalization(network, weights: converted) }
        var source = model.source
        source.format = "fully convolutional form of " + source.format
        return Model(network: network, weights: converted, source: source)
    }

    private static func missing(_ layer: Layer) -> ConversionError {
        .notConvertible(layer: layer.name, className: layer.sourceClass, reason: "its weights are missing")
    }

    /// The convolution weights (kh, kw, channels, units) of the Dense at `index`: for a Dense that
    /// covers a flattened map, its rows re-laid out from the flatten order, with a batch
    /// normalisation of the flattened vector folded in.
    private static func convolutionWeights(ofDense index: Int, kernel: Tensor, bias: Tensor?, kernelSize: Size2D, form: FullyConvolutionalForm,
                                           inputs: [[ActivationShape]], weights: [String: LayerWeights]) throws(ConversionError) -> LayerWeights {
        let classifier = form.classifier
        let units = kernel.shape[1]
        guard kernelSize != Size2D(square: 1) || flattenFeeding(index, in: classifier) != nil else {
            return .convolution(kernel: Tensor(shape: [1, 1, kernel.shape[0], units], values: kernel.values), bias: bias)
        }
        var (rows, newBias) = (kernel.values, bias?.values ?? [Float](repeating: 0, count: units))
        if case .layer(let producer) = classifier.sources[index][0], form.fates[producer] == .foldedInto(classifier.layers[index].name),
           case .batchNormalization(let normalization) = classifier.layers[producer].operation {
            guard case .batchNormalization(let gamma, let beta, let mean, let variance)? = weights[classifier.layers[producer].name] else {
                throw missing(classifier.layers[producer])
            }
            // Dense(s ⊙ x + t) = (diag(s) · W)ᵀ x + (Wᵀ t + b).
            let scale = normalization.channelScale(gamma: gamma.values, variance: variance.values)
            for row in 0..<kernel.shape[0] {
                let shift = beta.values[row] - mean.values[row] * scale[row]
                for unit in 0..<units {
                    newBias[unit] += rows[row * units + unit] * shift
                    rows[row * units + unit] *= scale[row]
                }
            }
        }
        guard let flatten = flattenFeeding(index, in: classifier), case .flatten(let order) = classifier.layers[flatten].operation else {
            return .convolution(kernel: Tensor(shape: [1, 1, kernel.shape[0], units], values: rows),
                                bias: Tensor(shape: [units], values: newBias))
        }
        let map = inputs[flatten][0]
        return .convolution(kernel: kernelFromDense(rows, units: units, map: map, order: order),
                            bias: bias == nil && newBias.allSatisfy({ $0 == 0 }) ? nil : Tensor(shape: [units], values: newBias))
    }

    /// The Flatten whose vector reaches the Dense at `index` through layers that keep it flat.
    private static func flattenFeeding(_ index: Int, in network: Network) -> Int? {
        var source = network.sources[index][0]
        while case .layer(let producer) = source {
            switch network.layers[producer].operation {
            case .flatten: return producer
            case .activation, .batchNormalization, .dropout, .reshape, .parametricReLU, .channelAffine:
                source = network.sources[producer][0]
            case .convolution, .dense, .pooling, .zeroPadding, .globalPooling, .merge, .concatenate, .layerNormalization,
                 .localResponseNormalization, .resize:
                return nil
            }
        }
        return nil
    }

    /// Dense rows (h·w·c in `order`, units) as a convolution kernel (h, w, c, units).
    static func kernelFromDense(_ rows: [Float], units: Int, map: ActivationShape, order: FlattenOrder) -> Tensor {
        let size = map.spatial
        let (height, width, channels) = (size.height, size.width, map.channels)
        guard order == .channelsHeightWidth, channels > 1, height * width > 1 else {
            return Tensor(shape: [height, width, channels, units], values: rows)
        }
        var values = [Float](repeating: 0, count: rows.count)
        for channel in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let source = ((channel * height + y) * width + x) * units
                    let target = ((y * width + x) * channels + channel) * units
                    values[target..<(target + units)] = rows[source..<(source + units)]
                }
            }
        }
        return Tensor(shape: [height, width, channels, units], values: values)
    }

    /// Folds every batch normalisation whose input is a linear convolution read by nothing else
    /// into that convolution's kernel and bias.
    private static func foldingBatchNormalization(_ network: Network, weights: [String: LayerWeights]) -> (Network, [String: LayerWeights]) {
        var weights = weights
        var layers = network.layers
        var alias: [String: String] = [:]
        var dropped = Set<Int>()
        let consumers = network.consumers
        for (index, layer) in network.layers.enumerated() {
            guard case .batchNormalization(let normalization) = layer.operation, case .layer(let producer) = network.sources[index][0],
                  consumers[producer].count == 1, case .convolution(var convolution) = layers[producer].operation,
                  convolution.activation == .linear,
                  case .convolution(let kernel, let bias)? = weights[layers[producer].name],
                  case .batchNormalization(let gamma, let beta, let mean, let variance)? = weights[layer.name]
            else { continue }
            let scale = normalization.channelScale(gamma: gamma.values, variance: variance.values)
            var folded = kernel
            for position in folded.values.indices { folded.values[position] *= scale[position % scale.count] }
            let oldBias = bias?.values ?? [Float](repeating: 0, count: scale.count)
            let newBias = scale.indices.map { (oldBias[$0] - mean.values[$0]) * scale[$0] + beta.values[$0] }
            convolution.useBias = true
            layers[producer].operation = .convolution(convolution)
            weights[layers[producer].name] = .convolution(kernel: folded, bias: Tensor(shape: [scale.count], values: newBias))
            weights[layer.name] = nil
            alias[layer.name] = layers[producer].name
            dropped.insert(index)
        }
        guard !dropped.isEmpty else { return (network, weights) }
        var kept: [Layer] = []
        for (index, var layer) in layers.enumerated() where !dropped.contains(index) {
            layer.inputs = layer.inputs.map { alias[$0] ?? $0 }
            kept.append(layer)
        }
        // A folded last layer: the output is now its convolution's, which must stay last.
        if let last = network.layers.last, dropped.contains(network.layers.count - 1), kept.last?.name != alias[last.name] {
            kept.append(Layer(name: last.name, sourceClass: "Identity", operation: .dropout(rate: 0), inputs: [alias[last.name]!]))
        }
        return (Network(name: network.name, inputShape: network.inputShape, dataFormat: network.dataFormat, layers: kept,
                        inputHasChannelAxis: network.inputHasChannelAxis, isSequence: network.isSequence, inputName: network.inputName),
                weights)
    }
}
