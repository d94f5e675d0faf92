/// One node of a network: its name, the class it had in the source file, what it computes and
/// which values it reads.
///
/// A layer holds settings only; learned values live in `Weights`, keyed by the layer's
/// name, so that an architecture can be inspected without its weights.
public struct Layer: Hashable, Sendable, Codable {
    /// The layer's name in the source file; unique within a network.
    public var name: String
    /// The class name the source file gave, such as `Convolution2D` or `InnerProduct`.
    public var sourceClass: String
    public var operation: LayerOperation
    /// The values the layer reads, by the name of the layer that makes each (or the network's
    /// `inputName`), in the order the operation takes them. Empty means "the previous layer's
    /// output" (the chain case); `Network` fills it in.
    public var inputs: [String]

    public init(name: String, sourceClass: String, operation: LayerOperation, inputs: [String] = []) {
        self.name = name
        self.sourceClass = sourceClass
        self.operation = operation
        self.inputs = inputs
    }
}

/// What a layer computes.
public enum LayerOperation: Hashable, Sendable, Codable {
    case convolution(Convolution)
    case dense(Dense)
    case pooling(Pooling)
    /// Zeros added around each feature map.
    case zeroPadding(EdgePadding)
    /// Lays a feature map out as a vector in the given order.
    case flatten(FlattenOrder)
    case activation(Activation)
    case batchNormalization(BatchNormalization)
    /// Average or maximum over each whole feature map, giving a vector.
    case globalPooling(PoolingKind)
    /// Identity at inference; the rate is kept for display.
    case dropout(rate: Double)
    /// A reshape that does not move data, such as (28, 28) to (28, 28, 1).
    case reshape(ActivationShape)
    /// An element-wise combination of two or more inputs of one shape; a 1×1 map or a vector
    /// of the same channels may stand for a whole map (it is repeated at every position).
    case merge(MergeKind)
    /// The inputs' channels side by side, first input first; their spatial sizes must agree.
    case concatenate
    /// `gamma · (x − mean) / √(variance + epsilon) + beta` over the channels of each position.
    /// Weights: gamma (when `scale`) and beta (when `center`), each (channels).
    case layerNormalization(LayerNormalization)
    /// `x · scale + shift` per channel, as Keras's Rescaling and Normalization compute it.
    /// Weights: `.channelAffine`, made by the importer from the layer's settings or statistics.
    case channelAffine
    /// Keras's PReLU with its slopes shared over the spatial axes: `x` for `x > 0`, else
    /// `alpha[c] · x`. Weights: `.slopes` (channels).
    case parametricReLU
    /// Caffe's local response normalisation across channels.
    case localResponseNormalization(LocalResponseNormalization)
    /// Resampling every map to a fixed size, as Keras's Resizing does.
    case resize(Resize)

    /// A short, stable name for the kind of operation (`conv2d`, `dense`, …).
    public var kind: String {
        switch self {
        case .convolution: return "conv2d"
        case .dense: return "dense"
        case .pooling(let pooling): return pooling.kind == .max ? "max_pool2d" : "avg_pool2d"
        case .zeroPadding: return "zero_padding2d"
        case .flatten: return "flatten"
        case .activation: return "activation"
        case .batchNormalization: return "batch_norm"
        case .globalPooling(let kind): return kind == .max ? "global_max_pool2d" : "global_avg_pool2d"
        case .dropout: return "dropout"
        case .reshape: return "reshape"
        case .merge(let kind): return kind.rawValue
        case .concatenate: return "concatenate"
        case .layerNormalization: return "layer_norm"
        case .channelAffine: return "channel_affine"
        case .parametricReLU: return "prelu"
        case .localResponseNormalization: return "lrn"
        case .resize: return "resize"
        }
    }
}

/// How a merge combines its inputs, element by element.
public enum MergeKind: String, Hashable, Sendable, Codable, CaseIterable {
    case add
    /// The first input minus the second; exactly two inputs.
    case subtract
    case multiply
    case average
    case maximum
    case minimum
}

/// Layer normalisation over the channel axis.
public struct LayerNormalization: Hashable, Sendable, Codable {
    public var epsilon: Float
    public var center: Bool
    public var scale: Bool

    public init(epsilon: Float, center: Bool = true, scale: Bool = true) {
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
    }
}

/// Caffe's LRN across channels: `x_c / (k + alpha/size · Σ x_c'²)^beta`, the sum over the
/// `size` channels centred on `c` (clipped at the ends).
public struct LocalResponseNormalization: Hashable, Sendable, Codable {
    public var size: Int
    public var alpha: Float
    public var beta: Float
    public var k: Float

    public init(size: Int, alpha: Float, beta: Float, k: Float) {
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k
    }
}

/// How Resizing samples its input.
public enum ResizeInterpolation: String, Hashable, Sendable, Codable {
    case bilinear
    case nearest
}

/// Resampling to a fixed size with TensorFlow's half-pixel centres (Keras's Resizing).
public struct Resize: Hashable, Sendable, Codable {
    public var size: Size2D
    public var interpolation: ResizeInterpolation
    /// Crop the largest centred window of the target's aspect ratio before resampling.
    public var cropToAspectRatio: Bool

    public init(size: Size2D, interpolation: ResizeInterpolation, cropToAspectRatio: Bool = false) {
        self.size = size
        self.interpolation = interpolation
        self.cropToAspectRatio = cropToAspectRatio
    }
}

/// A 2-D convolution (cross-correlation, as Keras and Caffe compute it).
///
/// Its weights are a kernel of shape (kernelHeight, kernelWidth, inputChannels / groups, filters)
/// and, when `useBias`, a bias of shape (filters).
public struct Convolution: Hashable, Sendable, Codable {
    public var filters: Int
    public var kernelSize: Size2D
    public var strides: Size2D
    public var dilation: Size2D
    public var padding: PaddingMode
    public var useBias: Bool
    public var activation: Activation
    /// The channels fall into this many groups, each convolved with its own filters: group g
    /// reads input channels [g·in/groups, (g+1)·in/groups) and makes filters
    /// [g·filters/groups, (g+1)·filters/groups). A depthwise convolution has one group per
    /// input channel.
    public var groups: Int

    public init(
        filters: Int, kernelSize: Size2D, strides: Size2D = Size2D(square: 1),
        dilation: Size2D = Size2D(square: 1), padding: PaddingMode = .valid,
        useBias: Bool = true, activation: Activation = .linear, groups: Int = 1
    ) {
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.dilation = dilation
        self.padding = padding
        self.useBias = useBias
        self.activation = activation
        self.groups = groups
    }

    /// The window arithmetic along each axis.
    public var windows: (vertical: AxisWindow, horizontal: AxisWindow) {
        (AxisWindow(kernel: kernelSize.height, stride: strides.height, dilation: dilation.height),
         AxisWindow(kernel: kernelSize.width, stride: strides.width, dilation: dilation.width))
    }
}

/// A fully connected layer: `activation(x · kernel + bias)`.
///
/// Its weights are a kernel of shape (inputs, units), rows in the order of the vector it
/// receives (for a Dense after Flatten, the network's flatten order), and a bias of (units).
public struct Dense: Hashable, Sendable, Codable {
    public var units: Int
    public var useBias: Bool
    public var activation: Activation

    public init(units: Int, useBias: Bool = true, activation: Activation = .linear) {
        self.units = units
        self.useBias = useBias
        self.activation = activation
    }
}

/// Whether a pooling layer keeps the maximum or the mean of its window.
public enum PoolingKind: String, Hashable, Sendable, Codable {
    case max
    case average
}

/// Max or average pooling over a sliding window.
public struct Pooling: Hashable, Sendable, Codable {
    public var kind: PoolingKind
    public var poolSize: Size2D
    public var strides: Size2D
    /// The spacing between the cells a window reads (1: adjacent). No file format stores a
    /// dilated pooling; filter rarefaction (`fcn … --density`) makes them.
    public var dilation: Size2D
    public var padding: PaddingMode
    public var rounding: OutputRounding
    /// For average pooling: whether explicit padding cells count in the divisor (Caffe: yes,
    /// within the padded area; Keras `same`: no, only cells inside the input count).
    public var averageCountsPadding: Bool

    public init(
        kind: PoolingKind, poolSize: Size2D, strides: Size2D, dilation: Size2D = Size2D(square: 1), padding: PaddingMode = .valid,
        rounding: OutputRounding = .floor, averageCountsPadding: Bool = false
    ) {
        self.kind = kind
        self.poolSize = poolSize
        self.strides = strides
        self.dilation = dilation
        self.padding = padding
        self.rounding = rounding
        self.averageCountsPadding = averageCountsPadding
    }

    /// The window arithmetic along each axis.
    public var windows: (vertical: AxisWindow, horizontal: AxisWindow) {
        (AxisWindow(kernel: poolSize.height, stride: strides.height, dilation: dilation.height, rounding: rounding),
         AxisWindow(kernel: poolSize.width, stride: strides.width, dilation: dilation.width, rounding: rounding))
    }
}

/// Batch normalisation in its inference form: `gamma · (x − mean) / √(variance + epsilon) + beta`
/// per channel. Weights: gamma (when `scale`), beta (when `center`), mean and variance.
public struct BatchNormalization: Hashable, Sendable, Codable {
    public var epsilon: Float
    public var center: Bool
    public var scale: Bool

    public init(epsilon: Float, center: Bool = true, scale: Bool = true) {
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
    }

    /// The factor each channel is multiplied by at inference, γ / √(variance + ε).
    public func channelScale(gamma: [Float], variance: [Float]) -> [Float] {
        zip(gamma, variance).map { $0 / ($1 + epsilon).squareRoot() }
    }
}

extension LayerOperation {
    /// How the layer slides over its input: the windows and padding of convolutions and
    /// pooling, and zero padding as a 1×1 window with its amounts as explicit padding; nil for
    /// every other layer.
    public var slidingWindows: (vertical: AxisWindow, horizontal: AxisWindow, padding: PaddingMode)? {
        switch self {
        case .convolution(let convolution):
            return (convolution.windows.vertical, convolution.windows.horizontal, convolution.padding)
        case .pooling(let pooling):
            return (pooling.windows.vertical, pooling.windows.horizontal, pooling.padding)
        case .zeroPadding(let edges):
            return (AxisWindow(kernel: 1, stride: 1), AxisWindow(kernel: 1, stride: 1), .explicit(edges))
        case .dense, .flatten, .activation, .batchNormalization, .globalPooling, .dropout, .reshape, .merge, .concatenate,
             .layerNormalization, .channelAffine, .parametricReLU, .localResponseNormalization, .resize:
            return nil
        }
    }
}
