import FCNGeometry
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
public struct ConversionOptions: Sendable {
    public var globalPooling: GlobalPoolingConversion
    /// Fold a BatchNormalization into the convolution before it when that convolution has no
    /// activation of its own.
    public var foldBatchNormalization: Bool

    public init(globalPooling: GlobalPoolingConversion = .window, foldBatchNormalization: Bool = true) {
        self.globalPooling = globalPooling
        self.foldBatchNormalization = foldBatchNormalization
    }
}

/// Why a model could not be converted.
public enum ConversionError: Error, Equatable, CustomStringConvertible {
    case noWeights
    case notConvertible(layer: String, className: String, reason: String)

    public var description: String {
        switch self {
        case .noWeights:
            return "the model has no weights to convert (an architecture file was given)"
        case .notConvertible(let layer, let className, let reason):
            return "layer '\(layer)' (\(className)) cannot be made convolutional: \(reason)"
        }
    }
}

/// Turns a classifier into a fully convolutional network (Long, Shelhamer & Darrell, Figure 2).
///
/// A Dense layer after Flatten becomes a k×k convolution over the map Flatten flattened, its
/// kernel re-laid out from the flatten order; later Dense layers become 1×1 convolutions;
/// softmax then acts over the channels of each cell; Dropout and trivial reshapes go.
public enum Convolutionalizer {
    /// The fully convolutional form of `model`, which takes any input at least as large as
    /// the classifier's and gives a grid of class scores.
    public static func convert(_ model: Model, options: ConversionOptions = ConversionOptions()) throws(ConversionError) -> Model {
        guard let weights = model.weights else { throw .noWeights }
        let network = model.network
        let roles = network.convolutionalization()
        if let index = roles.firstIndex(where: { $0.window == nil }), case .refused(let reason) = roles[index] {
            let layer = network.layers[index]
            throw .notConvertible(layer: layer.name, className: layer.sourceClass, reason: reason)
        }
        let inputs: [ActivationShape]
        do { inputs = try network.inputShapes() } catch {
            throw .notConvertible(layer: error.layer, className: "", reason: error.reason)
        }

        var builder = FullyConvolutionalBuilder(options: options, weights: weights)
        for (layer, input) in zip(network.layers, inputs) {
            try builder.add(layer, input: input)
        }
        if let pending = builder.pendingFlatten {
            throw .notConvertible(layer: pending.name, className: "Flatten", reason: "no Dense layer follows it")
        }
        let converted = Network(name: network.name + "_fcn", inputShape: network.inputShape,
                                dataFormat: network.dataFormat, layers: builder.layers,
                                inputHasChannelAxis: network.inputHasChannelAxis)
        var source = model.source
        source.format = "fully convolutional form of " + source.format
        return Model(network: converted, weights: builder.weights, source: source)
    }
}

/// Accumulates the converted layers one source layer at a time.
private struct FullyConvolutionalBuilder {
    struct PendingFlatten {
        let name: String
        let map: ActivationShape
        let order: FlattenOrder
    }

    let options: ConversionOptions
    let sourceWeights: [String: LayerWeights]
    private(set) var layers: [Layer] = []
    private(set) var weights: [String: LayerWeights] = [:]
    /// A Flatten seen and dropped, waiting for the Dense it feeds.
    private(set) var pendingFlatten: PendingFlatten?

    init(options: ConversionOptions, weights: [String: LayerWeights]) {
        self.options = options
        self.sourceWeights = weights
    }

    mutating func add(_ layer: Layer, input: ActivationShape) throws(ConversionError) {
        switch layer.operation {
        case .flatten(let order):
            if case .featureMap = input, input.spatial != Size2D(square: 1) || order == .channelsHeightWidth {
                pendingFlatten = PendingFlatten(name: layer.name, map: input, order: order)
            }
        case .dense(let dense):
            guard case .dense(let kernel, let bias)? = sourceWeights[layer.name] else {
                throw .notConvertible(layer: layer.name, className: layer.sourceClass, reason: "its weights are missing")
            }
            let map = pendingFlatten?.map ?? .featureMap(height: 1, width: 1, channels: input.elementCount)
            let convolutionKernel = Self.kernel(fromDense: kernel, map: map, order: pendingFlatten?.order ?? .heightWidthChannels)
            pendingFlatten = nil
            append(Layer(name: layer.name, sourceClass: layer.sourceClass, operation: .convolution(Convolution(
                filters: dense.units, kernelSize: map.spatial, useBias: dense.useBias, activation: dense.activation))),
                   weights: .convolution(kernel: convolutionKernel, bias: bias))
        case .globalPooling(let kind):
            guard options.globalPooling == .window else { return }
            append(Layer(name: layer.name, sourceClass: layer.sourceClass, operation: .pooling(Pooling(
                kind: kind, poolSize: input.spatial, strides: Size2D(square: 1)))), weights: nil)
        case .dropout, .reshape:
            return
        case .batchNormalization(let normalization):
            guard case .batchNormalization(let gamma, let beta, let mean, let variance)? = sourceWeights[layer.name] else {
                throw .notConvertible(layer: layer.name, className: layer.sourceClass, reason: "its weights are missing")
            }
            if options.foldBatchNormalization, let last = layers.last, case .convolution(var convolution) = last.operation,
               convolution.activation == .linear, case .convolution(let kernel, let bias)? = weights[last.name] {
                let scale = normalization.channelScale(gamma: gamma.values, variance: variance.values)
                var folded = kernel
                for index in folded.values.indices { folded.values[index] *= scale[index % scale.count] }
                let oldBias = bias?.values ?? [Float](repeating: 0, count: scale.count)
                let newBias = scale.indices.map { (oldBias[$0] - mean.values[$0]) * scale[$0] + beta.values[$0] }
                convolution.useBias = true
                layers[layers.count - 1].operation = .convolution(convolution)
                weights[last.name] = .convolution(kernel: folded, bias: Tensor(shape: [scale.count], values: newBias))
            } else {
                append(layer, weights: sourceWeights[layer.name])
            }
        default:
            append(layer, weights: sourceWeights[layer.name])
        }
    }

    private mutating func append(_ layer: Layer, weights layerWeights: LayerWeights?) {
        layers.append(layer)
        if let layerWeights { weights[layer.name] = layerWeights }
    }

    /// A Dense kernel (h·w·c in `order`, units) as a convolution kernel (h, w, c, units).
    static func kernel(fromDense kernel: Tensor, map: ActivationShape, order: FlattenOrder) -> Tensor {
        let size = map.spatial
        let (height, width, channels) = (size.height, size.width, map.channels)
        let units = kernel.shape[1]
        guard order == .channelsHeightWidth, channels > 1, height * width > 1 else {
            return Tensor(shape: [height, width, channels, units], values: kernel.values)
        }
        var values = [Float](repeating: 0, count: kernel.values.count)
        for channel in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let source = ((channel * height + y) * width + x) * units
                    let target = ((y * width + x) * channels + channel) * units
                    values[target..<(target + units)] = kernel.values[source..<(source + units)]
                }
            }
        }
        return Tensor(shape: [height, width, channels, units], values: values)
    }
}
