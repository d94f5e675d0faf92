import FCNDiagnostics
import FCNConvert
import FCNGeometry
import FCNKerasExport
import FCNModel

/// What `fcn inspect` reports about a model: one row per layer and a summary. Its JSON form
/// is documented in docs/inspect-json.md; keys are stable.
struct InspectionReport: Encodable {
    struct Source: Encodable {
        let path: String
        @NullWhenAbsent var architecture: String?
        let format: String
        @NullWhenAbsent var kerasVersion: String?
        @NullWhenAbsent var backend: String?
        let dataFormat: String
        let kernelsFlipped: Bool
        let hasWeights: Bool
        /// The class names the file records (FCNKit's converted files do).
        @NullWhenAbsent var classNames: [String]?
        /// For a file FCNKit wrote: the classifier it was converted from.
        @NullWhenAbsent var convertedFrom: String?
    }

    struct Row: Encodable {
        let index: Int
        let name: String
        let type: String
        let operation: String
        /// The layers it reads (the input's name for the first).
        let inputs: [String]
        let outputShape: [Int]
        let params: Int
        @NullWhenAbsent var activation: String?
        @NullWhenAbsent var kernel: [Int]?
        @NullWhenAbsent var stride: [Int]?
        @NullWhenAbsent var padding: [Int]?
        @NullWhenAbsent var receptiveField: [Int]?
        @NullWhenAbsent var jump: [Int]?
        @NullWhenAbsent var start: [Double]?
        @NullWhenAbsent var effectivePadding: [Int]?
        let convolutionalizable: Bool
        /// What the layer becomes in the FCN: kept, convolution, pooling window, removed, folded, refused.
        let fcnForm: String
        @NullWhenAbsent var reason: String?
    }

    /// Whether `fcn convert` can write the converted network as a Keras file.
    struct KerasFile: Encodable {
        let writable: Bool
        @NullWhenAbsent var reason: String?
    }

    let model: Source
    let inputShape: [Int]
    /// The input size the geometry was worked out for.
    let inputSize: [Int]
    let layers: [Row]
    let totalParams: Int
    let convolutionalizable: Bool
    @NullWhenAbsent var reason: String?
    /// Null for a model that does not convert or has no weights.
    @NullWhenAbsent var kerasFile: KerasFile?
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
            kernelsFlipped: model.source.kernelsFlipped, hasWeights: model.weights != nil, classNames: model.source.classNames,
            convertedFrom: model.source.conversion.map { "\($0.source), by FCNKit \($0.fcnkitVersion)" })
        var analysedSize = input ?? network.inputShape.spatial
        let classifierInputs = try network.inputShapes()
        let classifierOutputs = try network.outputShapes()
        let form = FullyConvolutionalForm(classifier: network)
        let geometry: NetworkGeometry
        do {
            geometry = try NetworkGeometry(network: form.convertiblePart, inputSize: analysedSize)
        } catch {
            // At its own size a classifier may merge misaligned maps (TensorFlow's `same` padding);
            // without an asked-for size, show the geometry at the nearest size that aligns.
            guard input == nil, case .misalignedMerge(_, _, _, _, let aligned) = error, let nearest = aligned.first else { throw error }
            analysedSize = nearest
            geometry = try NetworkGeometry(network: form.convertiblePart, inputSize: nearest)
        }
        let placedByName = Dictionary(uniqueKeysWithValues: zip(form.convertiblePart.layers.map(\.name), geometry.layers))

        var rows: [Row] = []
        for (index, layer) in network.layers.enumerated() {
            let placed = placedByName[layer.name]
            let params = model.weights?[layer.name]?.parameterCount ?? layer.parameterCount(input: classifierInputs[index][0])
            // With an input size asked for, show the FCN's shapes.
            var shape = classifierOutputs[index]
            if input != nil, let placed {
                shape = .featureMap(height: placed.outputSize.height, width: placed.outputSize.width, channels: shape.channels)
            }
            let fate = form.fates[index]
            rows.append(Row(
                index: index, name: layer.name, type: layer.sourceClass, operation: layer.operation.kind,
                inputs: layer.inputs, outputShape: shape.dimensions(in: format), params: params,
                activation: layer.operation.fusedActivation?.description,
                kernel: placed.map { [$0.window.kernel.height, $0.window.kernel.width] },
                stride: placed.map { [$0.window.stride.height, $0.window.stride.width] },
                padding: placed.map { [$0.padding.top, $0.padding.bottom, $0.padding.left, $0.padding.right] },
                receptiveField: placed.map { [$0.vertical.receptiveField, $0.horizontal.receptiveField] },
                jump: placed.map { [$0.vertical.jump, $0.horizontal.jump] },
                start: placed.map { [$0.vertical.start, $0.horizontal.start] },
                effectivePadding: placed.map { [$0.vertical.padding, $0.horizontal.padding] },
                convolutionalizable: fate.refusal == nil, fcnForm: fate.summary, reason: fate.refusal))
        }
        inputShape = network.inputShape.dimensions(in: format)
        inputSize = [analysedSize.height, analysedSize.width]
        layers = rows
        totalParams = rows.reduce(0) { $0 + $1.params }
        convolutionalizable = form.network != nil
        if form.network != nil, model.weights != nil {
            let refusal = KerasFileWriter.refusal(of: try Convolutionalizer.convert(model))
            kerasFile = KerasFile(writable: refusal == nil, reason: refusal?.description)
        }
        reason = form.refusal.map { "layer \(QuotedName.quoted($0.layer.name)) (\($0.layer.sourceClass)): \($0.reason)" }
        outputGrid = input == nil || form.network == nil ? nil : [geometry.outputGrid.height, geometry.outputGrid.width]
        let last = form.network == nil ? nil : geometry.output
        receptiveField = last.map { [$0.vertical.receptiveField, $0.horizontal.receptiveField] }
        stride = last.map { [$0.vertical.jump, $0.horizontal.jump] }
        start = last.map { [$0.vertical.start, $0.horizontal.start] }
    }
}

extension LayerFate {
    /// A word or two for the inspect table's FCN column.
    var summary: String {
        switch self {
        case .kept: return "yes"
        case .convolution(let kernel): return "conv \(kernel)"
        case .poolingWindow(let size): return "pool \(size)"
        case .removed: return "removed"
        case .foldedInto: return "folded"
        case .refused: return "NO"
        }
    }
}

extension LayerOperation {
    /// The activation a convolution or dense layer applies itself, or an activation layer's.
    var fusedActivation: Activation? {
        switch self {
        case .convolution(let convolution): return convolution.activation
        case .dense(let dense): return dense.activation
        case .activation(let activation): return activation
        case .pooling, .zeroPadding, .flatten, .batchNormalization, .globalPooling, .dropout, .reshape, .merge, .concatenate,
             .layerNormalization, .channelAffine, .parametricReLU, .localResponseNormalization, .resize:
            return nil
        }
    }
}
