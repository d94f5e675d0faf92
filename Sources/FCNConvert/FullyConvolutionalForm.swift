import FCNDiagnostics
import FCNGeometry
import FCNModel

/// What one classifier layer becomes in the fully convolutional network.
public enum LayerFate: Hashable, Sendable {
    /// The layer slides over any input as it is: convolutions, pooling, padding, pointwise
    /// layers, merges.
    case kept
    /// A Dense layer as a convolution of this kernel: the map Flatten flattened (Figure 2 of
    /// the paper), or 1×1 for a Dense on a vector or at every position of a map.
    case convolution(kernel: Size2D)
    /// Global pooling before Dense as a stride-1 pooling window of the map's size at the
    /// classifier's input.
    case poolingWindow(Size2D)
    /// The layer computes nothing in the FCN (Flatten before Dense, Dropout, augmentation,
    /// a reshape that moves no value, global pooling in CAM form); the reason says which.
    case removed(String)
    /// A batch normalisation of a flattened vector, folded into the Dense that reads it.
    case foldedInto(String)
    /// No exact fully convolutional form; the reason says why.
    case refused(String)

    /// The refusal's reason, or nil.
    public var refusal: String? {
        if case .refused(let reason) = self { return reason }
        return nil
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
            return "layer \(QuotedName.quoted(layer)) (\(className)) cannot be made convolutional: \(reason)"
        }
    }
}

/// The one owner of the FCN rule (Long, Shelhamer & Darrell, §3.1 and Figure 2): for every
/// layer of a classifier, its form in the fully convolutional network or why it has none, and
/// the converted architecture. `fcn inspect`, `convert`, `verify`, `bench` and `heatmap` all
/// take their answer from here; `Convolutionalizer` only moves the weights.
///
/// Every value of the classifier is one of three kinds in the FCN: a *map* that slides with
/// the input, a *flattened* map still waiting for the Dense that covers it, or a *cell*: a
/// vector of the classifier, which the FCN computes at every cell of its grid. A merge must
/// combine values of one kind; a vector merged back into a map (squeeze-and-excitation) has
/// seen the whole crop, which no sliding window can.
public struct FullyConvolutionalForm: Sendable {
    /// The classifier.
    public let classifier: Network
    /// One fate per classifier layer, in order.
    public let fates: [LayerFate]
    /// The converted architecture; nil when some layer is refused.
    public let network: Network?
    /// The converted architecture of every layer up to the first refusal (all of it when none
    /// is refused), for the geometry `fcn inspect` shows.
    public let convertiblePart: Network
    public let options: ConversionOptions

    /// The first refused layer and why, or nil.
    public var refusal: (layer: Layer, reason: String)? {
        guard let index = fates.firstIndex(where: { $0.refusal != nil }) else { return nil }
        return (classifier.layers[index], fates[index].refusal!)
    }

    /// The error `fcn convert` gives when the network is refused.
    public var conversionError: ConversionError? {
        refusal.map { .notConvertible(layer: $0.layer.name, className: $0.layer.sourceClass, reason: $0.reason) }
    }

    private enum Kind: Hashable {
        case map
        /// A flattened map of this size and order, with the layer that flattened it.
        case flattened(Size2D, FlattenOrder, by: Int)
        /// A vector of the classifier, one per cell in the FCN; `origin` made it a vector.
        case cell(origin: Int)
    }

    /// Works out the fully convolutional form of `classifier`.
    public init(classifier: Network, options: ConversionOptions = ConversionOptions()) {
        self.classifier = classifier
        self.options = options
        let inputs = (try? classifier.inputShapes()) ?? []
        var fates: [LayerFate] = []
        var kinds: [Kind] = []
        let consumers = classifier.consumers
        let startKind: Kind = classifier.inputShape.isFeatureMap ? .map : .cell(origin: -1)
        for index in classifier.layers.indices {
            let received = classifier.sources[index].map { source -> Kind in
                switch source {
                case .input: return startKind
                case .layer(let producer): return kinds[producer]
                }
            }
            guard !inputs.isEmpty else {
                fates.append(.refused("the network's shapes do not fit together"))
                kinds.append(.map)
                continue
            }
            let (fate, kind) = Self.fate(of: index, in: classifier, received: received, shapes: inputs[index],
                                         consumers: consumers[index], options: options)
            fates.append(fate)
            kinds.append(kind)
        }
        if let last = kinds.last, case .flattened(_, _, let flatten) = last, fates.allSatisfy({ $0.refusal == nil }) {
            fates[flatten] = .refused("no Dense layer follows it, so what it flattens has no place in a grid")
        }
        var firstRefusal = fates.firstIndex { $0.refusal != nil } ?? fates.count
        var converted = Self.convertedNetwork(classifier, fates: fates, upTo: firstRefusal, options: options)
        if firstRefusal == fates.count, let merge = Self.misalignedAtEverySize(converted),
           let index = classifier.layers.firstIndex(where: { $0.name == merge.layer }) {
            fates[index] = .refused(merge.reason)
            firstRefusal = index
            converted = Self.convertedNetwork(classifier, fates: fates, upTo: firstRefusal, options: options)
        }
        self.fates = fates
        convertiblePart = converted
        network = firstRefusal == fates.count ? convertiblePart : nil
    }

    /// A merge whose inputs sit at different offsets at the classifier's size and at every size
    /// near it: its cells would combine different crops whatever the input. (Where only some sizes
    /// misalign, as TensorFlow's `same` padding makes them, the network converts and each size is
    /// checked when it is run.)
    private static func misalignedAtEverySize(_ network: Network) -> (layer: String, reason: String)? {
        do {
            _ = try NetworkGeometry(network: network)
            return nil
        } catch {
            guard case .misalignedMerge(let layer, _, let starts, let jumps, let aligned) = error, aligned.isEmpty else { return nil }
            let offsets = zip(starts, jumps).map { start, jump in
                "\(QuotedName.quoted(start.0)) at offset (\(start.1), \(start.2)) px, stride \(jump)"
            }.joined(separator: " and ")
            return (layer, "it adds maps whose cells sit at different places (\(offsets)) at every input size, "
                + "so its cells would combine different crops")
        }
    }

    // MARK: - The rule, layer by layer

    private static func fate(of index: Int, in network: Network, received: [Kind], shapes: [ActivationShape],
                             consumers: [Int], options: ConversionOptions) -> (LayerFate, Kind) {
        let layer = network.layers[index]
        let input = received[0]
        func refuse(_ reason: String) -> (LayerFate, Kind) { (.refused(reason), .map) }
        switch layer.operation {
        case .layerNormalization:
            // Over the channels of each position, or of each cell.
            if case .flattened = input { return refuse("it normalises a flattened map, whose positions a Dense has not covered yet") }
            return (.kept, input)
        case .convolution(let convolution) where convolution.kernelSize == Size2D(square: 1) && convolution.strides == Size2D(square: 1)
            && (convolution.padding.isUnpadded || convolution.padding == .same):
            // A 1×1 convolution acts on each position alone (`same` pads nothing for it): on a cell as on a map.
            if case .flattened = input { return refuse("it slides over a map, but what reaches it has been flattened") }
            return (.kept, input)
        case .convolution, .pooling, .zeroPadding, .localResponseNormalization:
            guard input == .map else { return refuse("it slides over a map, but what reaches it has been flattened or pooled to a vector") }
            return (.kept, .map)
        case .resize:
            guard index == 0 else {
                return refuse("resizing inside the network changes the scale of every later window, so no single stride exists")
            }
            return (.removed("the FCN takes images at the scale Resizing gave the classifier"), .map)
        case .activation, .parametricReLU:
            return (.kept, input)
        case .dropout:
            return (.removed("it is the identity at inference"), input)
        case .batchNormalization, .channelAffine:
            guard case .flattened = input else { return (.kept, input) }
            // Normalising a flattened vector treats every position apart; it is exact in the FCN
            // only folded into the Dense that reads the vector.
            guard consumers.count == 1, case .dense = network.layers[consumers[0]].operation,
                  network.sources[consumers[0]] == [.layer(index)], case .batchNormalization = layer.operation
            else {
                return refuse("it normalises each position of a flattened map apart, which is exact only when a Dense reads it directly")
            }
            return (.foldedInto(network.layers[consumers[0]].name), input)
        case .flatten:
            switch input {
            case .map:
                guard case .featureMap = shapes[0] else { return (.removed("its input is a vector already"), .cell(origin: index)) }
                return (.removed("the next Dense covers the whole map"),
                        .flattened(shapes[0].spatial, flattenOrder(layer), by: index))
            case .flattened, .cell:
                return (.removed("its input is a vector already"), input)
            }
        case .dense:
            switch input {
            case .flattened(let size, _, _):
                return (.convolution(kernel: size), .cell(origin: index))
            case .cell:
                return (.convolution(kernel: Size2D(square: 1)), input)
            case .map:
                return (.convolution(kernel: Size2D(square: 1)), .map)
            }
        case .globalPooling:
            guard input == .map else { return refuse("its input is not a map") }
            switch options.globalPooling {
            case .window: return (.poolingWindow(shapes[0].spatial), .cell(origin: index))
            case .cam: return (.removed("class activation map: the Dense layers after it act at every position"), .map)
            }
        case .reshape(let target):
            switch input {
            case .map:
                guard target.isFeatureMap, target.spatial == shapes[0].spatial else {
                    return refuse("Reshape from \(shapes[0]) to \(target) moves values between positions")
                }
                return (.removed("it moves no value"), .map)
            case .flattened:
                guard !target.isFeatureMap else { return refuse("Reshape of a flattened map to \(target)") }
                return (.removed("it moves no value"), input)
            case .cell:
                guard target.spatial == Size2D(square: 1) else { return refuse("Reshape of a vector to \(target) spreads it over positions") }
                return (.removed("it moves no value"), input)
            }
        case .merge, .concatenate:
            if received.allSatisfy({ $0 == .map }) { return (.kept, .map) }
            let cellOrigins = received.compactMap { kind -> Int? in if case .cell(let origin) = kind { origin } else { nil } }
            if cellOrigins.count == received.count { return (.kept, input) }
            if received.contains(.map), let origin = cellOrigins.first(where: { $0 >= 0 }) {
                let pooling = network.layers[origin]
                return refuse("it merges a feature map with the output of \(QuotedName.quoted(pooling.name)) (\(pooling.sourceClass)), "
                    + "which pools or flattens the whole map inside the network: each position then depends on the whole crop, "
                    + "so no exact fully convolutional form exists (the classifier itself still runs)")
            }
            return refuse("it merges flattened maps, which have no place in a grid until a Dense covers them")
        }
    }

    fileprivate static func flattenOrder(_ layer: Layer) -> FlattenOrder {
        if case .flatten(let order) = layer.operation { return order }
        return .heightWidthChannels
    }

    // MARK: - The converted architecture

    /// The FCN's layers for classifier layers `0..<end`: kept layers as they are, Dense layers
    /// as convolutions, global pooling as windows; removed and folded layers pass their input on.
    private static func convertedNetwork(_ classifier: Network, fates: [LayerFate], upTo end: Int,
                                         options: ConversionOptions) -> Network {
        var alias: [String: String] = [:]
        var layers: [Layer] = []
        func resolve(_ name: String) -> String { alias[name] ?? name }
        for index in 0..<end {
            var layer = classifier.layers[index]
            layer.inputs = layer.inputs.map(resolve)
            switch fates[index] {
            case .kept:
                layers.append(layer)
            case .convolution(let kernel):
                guard case .dense(let dense) = layer.operation else { preconditionFailure("only Dense layers become convolutions") }
                layer.operation = .convolution(Convolution(filters: dense.units, kernelSize: kernel, useBias: dense.useBias,
                                                           activation: dense.activation))
                layers.append(layer)
            case .poolingWindow(let size):
                guard case .globalPooling(let kind) = layer.operation else { preconditionFailure("only global pooling becomes a window") }
                layer.operation = .pooling(Pooling(kind: kind, poolSize: size, strides: Size2D(square: 1)))
                layers.append(layer)
            case .removed, .foldedInto:
                alias[layer.name] = layer.inputs[0]
            case .refused:
                preconditionFailure("the converted part ends before the first refusal")
            }
        }
        // The FCN's output is the classifier's, which may be an earlier layer when the last ones were removed.
        if end == classifier.layers.count, let last = classifier.layers.last, let output = layers.last, resolve(last.name) != output.name {
            layers.append(Layer(name: last.name + "/output", sourceClass: "Identity", operation: .dropout(rate: 0),
                                inputs: [resolve(last.name)]))
        }
        let inputShape = classifier.inputShape.isFeatureMap ? classifier.inputShape
                                                            : .featureMap(height: 1, width: 1, channels: classifier.inputShape.channels)
        return Network(name: classifier.name + "_fcn", inputShape: inputShape, dataFormat: classifier.dataFormat, layers: layers,
                       inputHasChannelAxis: classifier.inputHasChannelAxis, isSequence: classifier.isSequence,
                       inputName: classifier.inputName)
    }
}

extension PaddingMode {
    /// True for `valid` and for explicit padding of nothing.
    var isUnpadded: Bool {
        switch self {
        case .valid: return true
        case .same: return false
        case .explicit(let edges): return edges.isZero
        }
    }
}
