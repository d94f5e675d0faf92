/// A dense array of `Float` in C order with its shape.
public struct Tensor: Hashable, Sendable {
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// The values, `shape.reduce(1, *)` of them, last dimension fastest.
    public var values: [Float]

    /// Wraps `values`; their count must equal the product of `shape` (a programmer error otherwise).
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "Tensor values do not fill shape \(shape)")
        self.shape = shape
        self.values = values
    }
}

/// The learned values of one layer, in FCNKit's canonical layouts.
public enum LayerWeights: Hashable, Sendable {
    /// kernel: (kernelHeight, kernelWidth, inputChannels, filters), for cross-correlation;
    /// bias: (filters), or nil without bias.
    case convolution(kernel: Tensor, bias: Tensor?)
    /// kernel: (inputs, units); bias: (units), or nil without bias.
    case dense(kernel: Tensor, bias: Tensor?)
    /// Each (channels); gamma is all ones without `scale`, beta all zeros without `center`.
    case batchNormalization(gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor)
    /// Each (channels); gamma is all ones without `scale`, beta all zeros without `center`.
    case layerNormalization(gamma: Tensor, beta: Tensor)
    /// `x · scale + shift`, each (channels).
    case channelAffine(scale: Tensor, shift: Tensor)
    /// PReLU's negative slopes, (channels).
    case slopes(Tensor)

    /// The number of learned values.
    public var parameterCount: Int {
        switch self {
        case .convolution(let kernel, let bias), .dense(let kernel, let bias):
            return kernel.values.count + (bias?.values.count ?? 0)
        case .batchNormalization(let gamma, let beta, let mean, let variance):
            return gamma.values.count + beta.values.count + mean.values.count + variance.values.count
        case .layerNormalization(let first, let second), .channelAffine(let first, let second):
            return first.values.count + second.values.count
        case .slopes(let slopes):
            return slopes.values.count
        }
    }
}

/// A network together with its learned values, as an importer produces it.
public struct Model: Sendable {
    public var network: Network
    /// Weights by layer name; nil when only an architecture was read.
    public var weights: [String: LayerWeights]?
    /// Where the model came from and what the importer had to normalise.
    public var source: ModelSource

    public init(network: Network, weights: [String: LayerWeights]?, source: ModelSource) {
        self.network = network
        self.weights = weights
        self.source = source
    }
}

/// Facts about the file a model was read from, kept so that later stages never guess.
public struct ModelSource: Hashable, Sendable, Codable {
    /// A readable name for the file's format, such as "Keras 2.2.4 full model (.h5)".
    public var format: String
    /// The model file, and the architecture sidecar if one was used.
    public var path: String
    public var architecturePath: String?
    /// The Keras version the file records, or nil.
    public var kerasVersion: String?
    /// The backend the file records (tensorflow, theano), or nil.
    public var backend: String?
    /// True when the file's kernels were stored flipped for true convolution (Theano) and
    /// the importer flipped them back to cross-correlation.
    public var kernelsFlipped: Bool
    /// The class names, one per output channel, when the file records them (FCNKit's
    /// converted files do: `fcnkit_class_names`).
    public var classNames: [String]?
    /// For a file FCNKit wrote: the FCNKit version and the classifier it was converted from.
    public var conversion: Conversion?

    /// What a converted file records of its making.
    public struct Conversion: Hashable, Sendable, Codable {
        public var fcnkitVersion: String
        /// The classifier's file and format, as `path (format)`.
        public var source: String

        public init(fcnkitVersion: String, source: String) {
            self.fcnkitVersion = fcnkitVersion
            self.source = source
        }
    }

    public init(format: String, path: String, architecturePath: String? = nil, kerasVersion: String? = nil,
                backend: String? = nil, kernelsFlipped: Bool = false, classNames: [String]? = nil, conversion: Conversion? = nil) {
        self.format = format
        self.path = path
        self.architecturePath = architecturePath
        self.kerasVersion = kerasVersion
        self.backend = backend
        self.kernelsFlipped = kernelsFlipped
        self.classNames = classNames
        self.conversion = conversion
    }
}
