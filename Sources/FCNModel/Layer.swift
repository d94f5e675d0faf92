/// One layer of a network: its name, the class it had in the source file, and what it does.
///
/// A layer holds settings only; learned values live in `Weights`, keyed by the layer's
/// name, so that an architecture can be inspected without its weights.
public struct Layer: Hashable, Sendable {
    /// The layer's name in the source file; unique within a network.
    public var name: String
    /// The class name the source file gave, such as `Convolution2D` or `InnerProduct`.
    public var sourceClass: String
    public var operation: LayerOperation

    public init(name: String, sourceClass: String, operation: LayerOperation) {
        self.name = name
        self.sourceClass = sourceClass
        self.operation = operation
    }
}

/// What a layer computes.
public enum LayerOperation: Hashable, Sendable {
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
        }
    }
}

/// A 2-D convolution (cross-correlation, as Keras and Caffe compute it).
///
/// Its weights are a kernel of shape (kernelHeight, kernelWidth, inputChannels, filters)
/// and, when `useBias`, a bias of shape (filters).
public struct Convolution: Hashable, Sendable {
    public var filters: Int
    public var kernelSize: Size2D
    public var strides: Size2D
    public var dilation: Size2D
    public var padding: PaddingMode
    public var useBias: Bool
    public var activation: Activation

    public init(
        filters: Int, kernelSize: Size2D, strides: Size2D = Size2D(square: 1),
        dilation: Size2D = Size2D(square: 1), padding: PaddingMode = .valid,
        useBias: Bool = true, activation: Activation = .linear
    ) {
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.dilation = dilation
        self.padding = padding
        self.useBias = useBias
        self.activation = activation
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
public struct Dense: Hashable, Sendable {
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
public enum PoolingKind: String, Hashable, Sendable {
    case max
    case average
}

/// Max or average pooling over a sliding window.
public struct Pooling: Hashable, Sendable {
    public var kind: PoolingKind
    public var poolSize: Size2D
    public var strides: Size2D
    public var padding: PaddingMode
    public var rounding: OutputRounding
    /// For average pooling: whether explicit padding cells count in the divisor (Caffe: yes,
    /// within the padded area; Keras `same`: no, only cells inside the input count).
    public var averageCountsPadding: Bool

    public init(
        kind: PoolingKind, poolSize: Size2D, strides: Size2D, padding: PaddingMode = .valid,
        rounding: OutputRounding = .floor, averageCountsPadding: Bool = false
    ) {
        self.kind = kind
        self.poolSize = poolSize
        self.strides = strides
        self.padding = padding
        self.rounding = rounding
        self.averageCountsPadding = averageCountsPadding
    }

    /// The window arithmetic along each axis.
    public var windows: (vertical: AxisWindow, horizontal: AxisWindow) {
        (AxisWindow(kernel: poolSize.height, stride: strides.height, rounding: rounding),
         AxisWindow(kernel: poolSize.width, stride: strides.width, rounding: rounding))
    }
}

/// Batch normalisation in its inference form: `gamma · (x − mean) / √(variance + epsilon) + beta`
/// per channel. Weights: gamma (when `scale`), beta (when `center`), mean and variance.
public struct BatchNormalization: Hashable, Sendable {
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
        default:
            return nil
        }
    }
}
