import FCNDiagnostics
import FCNModel
import HDF5Reader

/// Why a model could not be imported. Every case says what failed and where, and where
/// it can, what would work.
public enum ImportError: Error, CustomStringConvertible {
    /// The HDF5 layer failed (missing, truncated or non-HDF5 file, …).
    case hdf5(HDF5Error)
    /// A file's content is not a model FCNKit knows.
    case noModel(path: String, reason: String)
    /// The file holds weights only; an architecture file is needed.
    case architectureRequired(path: String, format: String)
    /// An architecture file could not be read or parsed.
    case unreadableArchitecture(path: String, reason: String)
    /// A layer class FCNKit does not support; `supported` lists what the format's importer reads.
    case unsupportedLayer(layer: String, className: String, reason: String?, supported: [String])
    /// A layer setting FCNKit does not support, or that makes no sense.
    case unsupportedSetting(layer: String, className: String, setting: String)
    /// The model's layers do not form a single chain.
    case notAChain(layer: String, reason: String)
    /// The weights file lacks the weights of a layer.
    case missingWeights(layer: String, path: String, reason: String)
    /// A weight's stored shape differs from what the architecture implies.
    case weightShapeMismatch(layer: String, className: String, weight: String, expected: [Int], found: [Int])
    /// A size in the configuration is zero, negative or beyond FCNKit's limits.
    case absurdShape(what: String, value: String, limit: String)
    /// The layers' shapes do not fit together.
    case shape(ShapeError)
    /// The isolated reader process (FCNIsolation) died, or ran out of time or memory, while
    /// reading `object` (nil: before it reported any); `reason` says how it ended.
    case readerFailed(path: String, object: String?, reason: String)
    /// The isolated reader refused the file; `message` is its error's description.
    case reportedByReader(message: String)

    public var description: String {
        switch self {
        case .hdf5(let error):
            return error.description
        case .noModel(let path, let reason):
            return "\(path): no model found: \(reason)"
        case .architectureRequired(let path, let format):
            return "\(path): this is a \(format) file, which holds weights but no architecture; "
                + "pass the architecture with --arch (a Keras .json or .yaml from to_json()/to_yaml(), "
                + "a full-model .h5, or a Caffe .prototxt)"
        case .unreadableArchitecture(let path, let reason):
            return "\(path): cannot read the architecture: \(reason)"
        case .unsupportedLayer(let layer, let className, let reason, let supported):
            let why = reason.map { " (\($0))" } ?? ""
            return "layer \(QuotedName.quoted(layer)) is \(QuotedName.bare(className))\(why), which FCNKit does not support; supported: "
                + supported.joined(separator: ", ")
        case .unsupportedSetting(let layer, let className, let setting):
            return "layer \(QuotedName.quoted(layer)) (\(QuotedName.bare(className))): \(setting)"
        case .notAChain(let layer, let reason):
            return "layer \(QuotedName.quoted(layer)) \(reason)"
        case .missingWeights(let layer, let path, let reason):
            return "\(path): no weights for layer \(QuotedName.quoted(layer)): \(reason)"
        case .weightShapeMismatch(let layer, let className, let weight, let expected, let found):
            return "layer \(QuotedName.quoted(layer)) (\(QuotedName.bare(className))): the architecture implies \(QuotedName.bare(weight)) of shape \(Self.format(expected)) "
                + "but the weights file has \(Self.format(found))"
        case .absurdShape(let what, let value, let limit):
            return "\(what) is \(value), outside what FCNKit accepts (\(limit))"
        case .shape(let error):
            return error.description
        case .readerFailed(let path, let object, let reason):
            let place = object.map { "while reading \(QuotedName.quoted($0))" } ?? "while opening the file"
            return "\(path): the file is damaged: the HDF5 library failed \(place) (\(reason))"
        case .reportedByReader(let message):
            return message
        }
    }

    private static func format(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}

/// The layer classes the importers understand, for error messages and documentation.
public enum SupportedLayers {
    /// Keras class names (all generations, aliases included).
    public static let keras: [String] = [
        "InputLayer", "Conv2D (Convolution2D, AtrousConvolution2D, groups)", "Conv1D", "DepthwiseConv2D", "SeparableConv2D",
        "Dense (on vectors and at every position of a map)", "MaxPooling2D/1D", "AveragePooling2D/1D",
        "GlobalAveragePooling2D/1D", "GlobalMaxPooling2D/1D", "ZeroPadding2D/1D", "Flatten", "Reshape (when it moves no values)",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate (channels)",
        "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "BatchNormalization", "LayerNormalization (channels)",
        "Rescaling", "Normalization", "Resizing", "RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast, RandomBrightness",
        "Dropout (and SpatialDropout, GaussianNoise, GaussianDropout, AlphaDropout)",
        "nested Sequential/Functional models",
    ]
    /// Caffe layer types.
    public static let caffe: [String] = [
        "Input", "Convolution (group)", "InnerProduct", "Pooling (MAX, AVE)", "ReLU", "Sigmoid", "TanH", "ELU",
        "Softmax", "Dropout", "Flatten", "Eltwise (SUM, PROD, MAX)", "Concat (channels)", "LRN (across channels)",
        "BatchNorm", "Scale", "Split",
    ]
}

extension ImportError {
    /// Runs `body`, reporting libhdf5's failures as `ImportError.hdf5`.
    static func readingHDF5<T>(_ body: () throws(HDF5Error) -> T) throws(ImportError) -> T {
        do { return try body() } catch { throw .hdf5(error) }
    }
}
