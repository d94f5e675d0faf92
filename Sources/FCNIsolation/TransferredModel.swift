import FCNImport
import FCNModel
import HDF5Reader

/// A `Model` as the isolated reader sends it: the network and source as JSON, and for every
/// layer with weights the kind and the shapes of its tensors; the values follow on the channel
/// as raw float32, in this order.
struct TransferredModel: Codable {
    var network: Network
    var source: ModelSource
    /// Sorted by layer name; nil when the model has no weights.
    var weights: [TransferredWeights]?

    /// The description of `model`, and its tensors in the order their values are sent.
    static func describing(_ model: Model) -> (TransferredModel, [Tensor]) {
        var tensors: [Tensor] = []
        let weights = model.weights.map { byLayer in
            byLayer.keys.sorted().map { layer in
                let stored = TransferredWeights.tensors(of: byLayer[layer]!)
                tensors += stored.compactMap { $0 }
                return TransferredWeights(layer: layer, kind: TransferredWeights.Kind(byLayer[layer]!), shapes: stored.map { $0?.shape })
            }
        }
        return (TransferredModel(network: model.network, source: model.source, weights: weights), tensors)
    }

    private init(network: Network, source: ModelSource, weights: [TransferredWeights]?) {
        self.network = network
        self.source = source
        self.weights = weights
    }
}

/// One layer's weights without their values.
struct TransferredWeights: Codable {
    /// Which `LayerWeights` case, and so how many tensors, in which order.
    enum Kind: String, Codable {
        case convolution, dense, batchNormalization, layerNormalization, channelAffine, slopes

        init(_ weights: LayerWeights) {
            switch weights {
            case .convolution: self = .convolution
            case .dense: self = .dense
            case .batchNormalization: self = .batchNormalization
            case .layerNormalization: self = .layerNormalization
            case .channelAffine: self = .channelAffine
            case .slopes: self = .slopes
            }
        }
    }

    var layer: String
    var kind: Kind
    /// The tensors' shapes in the case's order; nil for an absent bias.
    var shapes: [[Int]?]

    /// The tensors of `weights` in the order of its case's associated values.
    static func tensors(of weights: LayerWeights) -> [Tensor?] {
        switch weights {
        case .convolution(let kernel, let bias), .dense(let kernel, let bias): return [kernel, bias]
        case .batchNormalization(let gamma, let beta, let mean, let variance): return [gamma, beta, mean, variance]
        case .layerNormalization(let gamma, let beta): return [gamma, beta]
        case .channelAffine(let scale, let shift): return [scale, shift]
        case .slopes(let slopes): return [slopes]
        }
    }

    /// The number of values of the tensor of `shape`, nil when it overflows or exceeds the
    /// reader's per-dataset limit.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= H5Dataset.maximumElementCount else { return nil }
            count = product
        }
        return count
    }

    /// Rebuilds the layer's weights from its tensors, in `shapes`' order; nil when their number
    /// or presence does not fit `kind`.
    func weights(_ tensors: [Tensor?]) -> LayerWeights? {
        switch (kind, tensors.count) {
        case (.convolution, 2):
            return tensors[0].map { .convolution(kernel: $0, bias: tensors[1]) }
        case (.dense, 2):
            return tensors[0].map { .dense(kernel: $0, bias: tensors[1]) }
        case (.batchNormalization, 4):
            guard let gamma = tensors[0], let beta = tensors[1], let mean = tensors[2], let variance = tensors[3] else { return nil }
            return .batchNormalization(gamma: gamma, beta: beta, mean: mean, variance: variance)
        case (.layerNormalization, 2):
            guard let gamma = tensors[0], let beta = tensors[1] else { return nil }
            return .layerNormalization(gamma: gamma, beta: beta)
        case (.channelAffine, 2):
            guard let scale = tensors[0], let shift = tensors[1] else { return nil }
            return .channelAffine(scale: scale, shift: shift)
        case (.slopes, 1):
            return tensors[0].map { .slopes($0) }
        case (.convolution, _), (.dense, _), (.batchNormalization, _), (.layerNormalization, _), (.channelAffine, _), (.slopes, _):
            return nil
        }
    }
}

/// How the isolated reader refused a file, keeping the one error callers branch on.
enum ReaderFailure: Codable {
    case architectureRequired(path: String, format: String)
    case other(message: String)

    init(_ error: ImportError) {
        if case .architectureRequired(let path, let format) = error {
            self = .architectureRequired(path: path, format: format)
        } else {
            self = .other(message: error.description)
        }
    }

    var error: ImportError {
        switch self {
        case .architectureRequired(let path, let format): return .architectureRequired(path: path, format: format)
        case .other(let message): return .reportedByReader(message: message)
        }
    }
}
