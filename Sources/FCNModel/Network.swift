import FCNDiagnostics

/// A network from one input to one output, free of any file format: a graph of layers in
/// topological order, each naming the values it reads.
///
/// A chain is the special case in which every layer reads the one before it. Shapes are not
/// stored: `outputShapes(input:)` infers them for any input size, which is what lets a
/// converted network run on inputs larger than the one it was trained on. The output is the
/// last layer's.
public struct Network: Hashable, Sendable {
    /// The network's name in the source file.
    public let name: String
    /// The name layers use to read the network's input.
    public let inputName: String
    /// The input the network was built for, such as 28×28×1.
    public let inputShape: ActivationShape
    /// How the network's input and output tensors are laid out in files.
    public let dataFormat: DataFormat
    /// The layers in topological order (every layer after those it reads); the input is not a layer.
    public let layers: [Layer]
    /// False when the source declares a one-channel input without a channel axis, as Keras
    /// models on 28×28 inputs do; tensors for it are then (H, W) or (N, H, W).
    public let inputHasChannelAxis: Bool
    /// True for a network over sequences (Conv1D and its kin): maps are then 1 × length, and
    /// tensors (length, channels) or (N, length, channels).
    public let isSequence: Bool
    /// For every layer, where each of its inputs comes from, in `Layer.inputs` order.
    public let sources: [[ValueSource]]

    /// A network whose layers are already known to form a valid graph; layers with no inputs read
    /// the previous layer (or the input).
    ///
    /// - Precondition: names are unique and every input names the input or an earlier layer
    ///   (a programmer error otherwise; importers check files with `validated`).
    public init(name: String, inputShape: ActivationShape, dataFormat: DataFormat, layers: [Layer],
                inputHasChannelAxis: Bool = true, isSequence: Bool = false, inputName: String = "input") {
        do {
            self = try Self.validated(name: name, inputShape: inputShape, dataFormat: dataFormat, layers: layers,
                                      inputHasChannelAxis: inputHasChannelAxis, isSequence: isSequence, inputName: inputName)
        } catch {
            preconditionFailure("invalid network graph: \(error)")
        }
    }

    private init(name: String, inputName: String, inputShape: ActivationShape, dataFormat: DataFormat, layers: [Layer],
                 inputHasChannelAxis: Bool, isSequence: Bool, sources: [[ValueSource]]) {
        self.name = name
        self.inputName = inputName
        self.inputShape = inputShape
        self.dataFormat = dataFormat
        self.layers = layers
        self.inputHasChannelAxis = inputHasChannelAxis
        self.isSequence = isSequence
        self.sources = sources
    }

    /// Checks and wires a graph read from a file.
    ///
    /// - Throws: `GraphError` for a duplicate name, an input that names no layer, or one that
    ///   names a later layer (layers must come in topological order; importers sort them).
    public static func validated(name: String, inputShape: ActivationShape, dataFormat: DataFormat, layers: [Layer],
                                 inputHasChannelAxis: Bool = true, isSequence: Bool = false,
                                 inputName: String = "input") throws(GraphError) -> Network {
        var index: [String: Int] = [:]
        var wired: [Layer] = []
        var sources: [[ValueSource]] = []
        wired.reserveCapacity(layers.count)
        for (position, var layer) in layers.enumerated() {
            guard layer.name != inputName, index[layer.name] == nil else { throw .duplicateName(layer.name) }
            if layer.inputs.isEmpty { layer.inputs = [wired.last?.name ?? inputName] }
            var layerSources: [ValueSource] = []
            for input in layer.inputs {
                if input == inputName {
                    layerSources.append(.input)
                } else if let producer = index[input] {
                    layerSources.append(.layer(producer))
                } else if layers[(position + 1)...].contains(where: { $0.name == input }) {
                    throw .notTopological(layer: layer.name, input: input)
                } else {
                    throw .unknownInput(layer: layer.name, input: input)
                }
            }
            index[layer.name] = position
            wired.append(layer)
            sources.append(layerSources)
        }
        return Network(name: name, inputName: inputName, inputShape: inputShape, dataFormat: dataFormat, layers: wired,
                       inputHasChannelAxis: inputHasChannelAxis, isSequence: isSequence, sources: sources)
    }

    /// The same graph with other layers (same names and wiring rules), as a conversion makes.
    public func replacingLayers(_ layers: [Layer], name: String? = nil) throws(GraphError) -> Network {
        try Self.validated(name: name ?? self.name, inputShape: inputShape, dataFormat: dataFormat, layers: layers,
                           inputHasChannelAxis: inputHasChannelAxis, isSequence: isSequence, inputName: inputName)
    }

    /// True when every layer reads the one before it.
    public var isChain: Bool {
        sources.enumerated().allSatisfy { index, sources in sources == [index == 0 ? .input : .layer(index - 1)] }
    }

    /// For every layer, the layers that read its output, in order.
    public var consumers: [[Int]] {
        var result = [[Int]](repeating: [], count: layers.count)
        for (consumer, layerSources) in sources.enumerated() {
            for case .layer(let producer) in layerSources { result[producer].append(consumer) }
        }
        return result
    }

    /// The input shape with its spatial size replaced by `size` (a vector input stays as it is).
    public func inputShape(resizedTo size: Size2D) -> ActivationShape {
        guard inputShape.isFeatureMap else { return inputShape }
        return .featureMap(height: size.height, width: size.width, channels: inputShape.channels)
    }

    /// The output shape of every layer, in order, for an input of `input`.
    ///
    /// - Throws: `ShapeError` naming the first layer that cannot take what it receives.
    public func outputShapes(input: ActivationShape? = nil) throws(ShapeError) -> [ActivationShape] {
        // Flatten ties the Dense layers after it to the size the classifier was built for.
        if let input, input != inputShape, let flatten = layers.first(where: { if case .flatten = $0.operation { true } else { false } }) {
            throw ShapeError(
                layer: flatten.name, input: input,
                reason: "the classifier takes exactly \(inputShape.spatial) (its Flatten ties the Dense layers after it to that size); "
                    + "convert the network (fcn convert) to run it on other sizes")
        }
        let given = input ?? inputShape
        var shapes: [ActivationShape] = []
        shapes.reserveCapacity(layers.count)
        for (index, layer) in layers.enumerated() {
            let received = sources[index].map { source in source.shape(input: given, outputs: shapes) }
            shapes.append(try layer.outputShape(inputs: received))
        }
        return shapes
    }

    /// The shapes each layer receives, in its inputs' order.
    public func inputShapes(input: ActivationShape? = nil) throws(ShapeError) -> [[ActivationShape]] {
        let outputs = try outputShapes(input: input)
        let given = input ?? inputShape
        return sources.map { layerSources in layerSources.map { $0.shape(input: given, outputs: outputs) } }
    }

    /// The network's output shape for `input`.
    public func outputShape(input: ActivationShape? = nil) throws(ShapeError) -> ActivationShape {
        try outputShapes(input: input).last ?? (input ?? inputShape)
    }
}

/// Where a layer's input comes from.
public enum ValueSource: Hashable, Sendable {
    /// The network's input.
    case input
    /// The output of the layer at this index.
    case layer(Int)

    /// The shape of this value, given the network's input and the outputs so far.
    public func shape(input: ActivationShape, outputs: [ActivationShape]) -> ActivationShape {
        switch self {
        case .input: return input
        case .layer(let index): return outputs[index]
        }
    }
}

/// Why a set of layers does not form a network.
public enum GraphError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicateName(String)
    case unknownInput(layer: String, input: String)
    case notTopological(layer: String, input: String)
    /// The layers' inputs form a cycle through these layers.
    case cycle([String])

    public var description: String {
        switch self {
        case .duplicateName(let name):
            return "two layers are named \(QuotedName.quoted(name)); names must be unique"
        case .unknownInput(let layer, let input):
            return "layer \(QuotedName.quoted(layer)) reads \(QuotedName.quoted(input)), which is no layer of the model"
        case .notTopological(let layer, let input):
            return "layer \(QuotedName.quoted(layer)) reads \(QuotedName.quoted(input)), which comes after it"
        case .cycle(let names):
            return "the layers form a cycle (\(names.map { QuotedName.quoted($0).description }.joined(separator: " → ")))"
        }
    }
}

/// Why a layer cannot take the shape it receives.
public struct ShapeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The layer's name.
    public var layer: String
    /// The shape it received (its first input's).
    public var input: ActivationShape
    /// What is wrong, in words.
    public var reason: String

    public init(layer: String, input: ActivationShape, reason: String) {
        self.layer = layer
        self.input = input
        self.reason = reason
    }

    public var description: String { "layer \(QuotedName.quoted(layer)) receives \(input): \(reason)" }
}

/// A network is encoded as what builds it and decoded through `validated`, so a decoded graph
/// is checked exactly as an imported one (the isolated reader sends networks this way).
extension Network: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, inputName, inputShape, dataFormat, layers, inputHasChannelAxis, isSequence
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self = try Self.validated(
            name: try container.decode(String.self, forKey: .name),
            inputShape: try container.decode(ActivationShape.self, forKey: .inputShape),
            dataFormat: try container.decode(DataFormat.self, forKey: .dataFormat),
            layers: try container.decode([Layer].self, forKey: .layers),
            inputHasChannelAxis: try container.decode(Bool.self, forKey: .inputHasChannelAxis),
            isSequence: try container.decode(Bool.self, forKey: .isSequence),
            inputName: try container.decode(String.self, forKey: .inputName))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(inputName, forKey: .inputName)
        try container.encode(inputShape, forKey: .inputShape)
        try container.encode(dataFormat, forKey: .dataFormat)
        try container.encode(layers, forKey: .layers)
        try container.encode(inputHasChannelAxis, forKey: .inputHasChannelAxis)
        try container.encode(isSequence, forKey: .isSequence)
    }
}
