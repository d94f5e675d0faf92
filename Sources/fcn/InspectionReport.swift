import FCNGeometry
import FCNModel

/// What `fcn inspect` reports about a model: one row per layer and a summary. Its JSON form
/// is documented in docs/inspect-json.md; keys are stable.
struct InspectionReport: Encodable {
    struct Source: Encodable {
        let path: String
        let architecture: String?
        let format: String
        let kerasVersion: String?
        let backend: String?
        let dataFormat: String
        let kernelsFlipped: Bool
        let hasWeights: Bool
    }

    struct Row: Encodable {
        let index: Int
        let name: String
        let type: String
        let operation: String
        let outputShape: [Int]
        let params: Int
        let activation: String?
        let kernel: [Int]?
        let stride: [Int]?
        let padding: [Int]?
        let receptiveField: [Int]?
        let jump: [Int]?
        let start: [Double]?
        let effectivePadding: [Int]?
        let convolutionalizable: Bool
        let reason: String?
    }

    let model: Source
    let inputShape: [Int]
    /// The input size the geometry was worked out for.
    let inputSize: [Int]
    let layers: [Row]
    let totalParams: Int
    let convolutionalizable: Bool
    let reason: String?
    /// Only when an input size was asked for.
    let outputGrid: [Int]?
    let receptiveField: [Int]?
    let stride: [Int]?
    let start: [Double]?

    /// Builds the report for `model`, with geometry for `input` (default: its own input size).
    init(model: Model, input: Size2D?) throws {
        let network = model.network
        let format = network.dataFormat
        self.model = Source(
            path: model.source.path, architecture: model.source.architecturePath, format: model.source.format,
            kerasVersion: model.source.kerasVersion, backend: model.source.backend, dataFormat: format.rawValue,
            kernelsFlipped: model.source.kernelsFlipped, hasWeights: model.weights != nil)
        let analysedSize = input ?? network.inputShape.spatial
        let classifierInputs = try network.inputShapes()
        let classifierOutputs = try network.outputShapes()
        let roles = network.convolutionalization()
        let geometry = try NetworkGeometry(network: network, inputSize: analysedSize)

        var rows: [Row] = []
        var fullyConvolutionalChannels = network.inputShape.channels
        for (index, layer) in network.layers.enumerated() {
            let placed = index < geometry.layers.count ? geometry.layers[index] : nil
            let params = model.weights?[layer.name]?.parameterCount ?? layer.parameterCount(input: classifierInputs[index])
            // With an input size asked for, show the FCN's shapes; Flatten is a no-op there.
            var shape = classifierOutputs[index]
            if input != nil, let placed {
                if case .flatten = layer.operation {} else { fullyConvolutionalChannels = shape.channels }
                shape = .featureMap(height: placed.outputSize.height, width: placed.outputSize.width,
                                    channels: fullyConvolutionalChannels)
            }
            let refusal: String? = if case .refused(let why) = roles[index] { why } else { nil }
            rows.append(Row(
                index: index, name: layer.name, type: layer.sourceClass, operation: layer.operation.kind,
                outputShape: shape.dimensions(in: format), params: params, activation: layer.operation.fusedActivation?.description,
                kernel: placed.map { [$0.window.kernel.height, $0.window.kernel.width] },
                stride: placed.map { [$0.window.stride.height, $0.window.stride.width] },
                padding: placed.map { [$0.padding.top, $0.padding.bottom, $0.padding.left, $0.padding.right] },
                receptiveField: placed.map { [$0.vertical.receptiveField, $0.horizontal.receptiveField] },
                jump: placed.map { [$0.vertical.jump, $0.horizontal.jump] },
                start: placed.map { [$0.vertical.start, $0.horizontal.start] },
                effectivePadding: placed.map { [$0.vertical.padding, $0.horizontal.padding] },
                convolutionalizable: refusal == nil, reason: refusal))
        }
        inputShape = network.inputShape.dimensions(in: format)
        inputSize = [analysedSize.height, analysedSize.width]
        layers = rows
        totalParams = rows.reduce(0) { $0 + $1.params }
        convolutionalizable = geometry.isComplete
        reason = rows.first { !$0.convolutionalizable }.map { "layer '\($0.name)': \($0.reason ?? "")" }
        outputGrid = input == nil ? nil : geometry.outputGrid.map { [$0.height, $0.width] }
        let last = geometry.layers.last
        receptiveField = last.map { [$0.vertical.receptiveField, $0.horizontal.receptiveField] }
        stride = last.map { [$0.vertical.jump, $0.horizontal.jump] }
        start = last.map { [$0.vertical.start, $0.horizontal.start] }
    }
}

extension LayerOperation {
    /// The activation a convolution or dense layer applies itself, or an activation layer's.
    var fusedActivation: Activation? {
        switch self {
        case .convolution(let convolution): return convolution.activation
        case .dense(let dense): return dense.activation
        case .activation(let activation): return activation
        default: return nil
        }
    }
}
