import FCNDiagnostics
import FCNModel
import HDF5Reader

/// A Caffe deploy net read from a `.prototxt`: its layers in the order the file gives them (Caffe
/// requires each layer after the blobs it reads), translated and wired by blob names.
///
/// Caffe lays blobs out as (N, C, H, W), flattens in C·H·W order before InnerProduct, rounds
/// pooling outputs up (ceil), and counts padding in average pooling's divisor.
struct CaffeNet {
    let network: Network

    /// Layer types that only matter in training and are skipped.
    private static let trainingOnly: Set<String> = ["Accuracy", "Silence"]
    /// Caffe's V1 (`layers { type: CONVOLUTION }`) enum names, mapped to today's type names.
    private static let legacyTypes: [String: String] = [
        "CONVOLUTION": "Convolution", "POOLING": "Pooling", "INNER_PRODUCT": "InnerProduct", "RELU": "ReLU",
        "SIGMOID": "Sigmoid", "TANH": "TanH", "SOFTMAX": "Softmax", "DROPOUT": "Dropout", "FLATTEN": "Flatten",
        "ACCURACY": "Accuracy", "SOFTMAX_LOSS": "SoftmaxWithLoss", "DATA": "Data", "ELTWISE": "Eltwise", "CONCAT": "Concat",
        "LRN": "LRN", "SPLIT": "Split",
    ]

    init(prototxt: ConfigValue, path: String) throws(ImportError) {
        var entries = (prototxt["layer"]?.list ?? []) + (prototxt["layers"]?.list ?? [])
        entries = entries.filter { !Self.isTrainOnly($0) }
        var inputDimensions = (prototxt["input_shape"]?.list.first?["dim"]?.list ?? prototxt["input_dim"]?.list ?? []).compactMap(\.int)
        var currentBlob = prototxt["input"]?.list.first?.string
        if let first = entries.first, Self.type(of: first) == "Input" {
            inputDimensions = (first["input_param"]?["shape"]?.list.first?["dim"]?.list ?? []).compactMap(\.int)
            currentBlob = first["top"]?.list.first?.string
            entries.removeFirst()
        }
        guard inputDimensions.count == 4 else {
            throw .unreadableArchitecture(
                path: path, reason: "no input shape: expected a deploy net with `input_shape { dim … }`, `input_dim`, or an Input layer")
        }
        let input = try KerasShapes.activationShape(Array(inputDimensions.dropFirst()), format: .channelsFirst, what: "the input shape")
        let inputName = currentBlob ?? "data"
        // The layer whose output each blob name holds now (in-place layers take the name over).
        var producer: [String: String] = [inputName: inputName]
        var layers: [Layer] = []
        for entry in entries {
            let name = entry["name"]?.string ?? "?"
            let type = Self.type(of: entry)
            if Self.trainingOnly.contains(type) { continue }
            let bottoms = entry["bottom"]?.list.compactMap(\.string) ?? []
            let tops = entry["top"]?.list.compactMap(\.string) ?? []
            var reads: [String] = []
            for bottom in bottoms {
                guard let source = producer[bottom] else {
                    throw .unreadableArchitecture(path: path, reason: "layer \(QuotedName.quoted(name)) reads blob \(QuotedName.quoted(bottom)), which no earlier layer makes")
                }
                reads.append(source)
            }
            if type == "Split" {
                guard reads.count == 1 else { throw .notAChain(layer: name, reason: "(Split) has \(reads.count) inputs") }
                for top in tops { producer[top] = reads[0] }
                continue
            }
            guard tops.count == 1, !reads.isEmpty else {
                throw .notAChain(layer: name, reason: "has \(bottoms.count) inputs and \(tops.count) outputs; fcn reads layers with one output")
            }
            var translated = try Self.translate(entry, name: name, type: type, receivesVector: Self.isVector(reads[0], layers: layers))
            translated[0].inputs = reads
            layers += translated
            producer[tops[0]] = translated.last!.name
        }
        do {
            network = try Network.validated(name: prototxt["name"]?.string ?? "caffe", inputShape: input, dataFormat: .channelsFirst,
                                            layers: layers, inputName: inputName)
        } catch {
            throw .unreadableArchitecture(path: path, reason: error.description)
        }
        do { _ = try network.outputShapes() } catch { throw .shape(error) }
    }

    /// Whether the value `name` (a layer's output) is already a vector, so an InnerProduct on it
    /// needs no implicit flatten.
    private static func isVector(_ name: String, layers: [Layer]) -> Bool {
        guard let layer = layers.last(where: { $0.name == name }) else { return false }
        switch layer.operation {
        case .dense, .flatten, .globalPooling: return true
        case .activation, .dropout, .batchNormalization, .channelAffine:
            return isVector(layer.inputs.first ?? "", layers: layers)
        case .convolution, .pooling, .zeroPadding, .reshape, .merge, .concatenate, .layerNormalization, .parametricReLU,
             .localResponseNormalization, .resize:
            return false
        }
    }

    private static func isTrainOnly(_ entry: ConfigValue) -> Bool {
        entry["include"]?.list.contains { $0["phase"]?.string == "TRAIN" } ?? false
    }

    private static func type(of entry: ConfigValue) -> String {
        let type = entry["type"]?.string ?? ""
        return legacyTypes[type] ?? type
    }

    /// The FCNKit layers for one Caffe layer: one, or two for an InnerProduct on a feature
    /// map (Caffe flattens implicitly; FCNKit makes that an explicit Flatten).
    private static func translate(_ entry: ConfigValue, name: String, type: String, receivesVector: Bool) throws(ImportError) -> [Layer] {
        func layer(_ operation: LayerOperation) -> Layer { Layer(name: name, sourceClass: type, operation: operation) }
        func unsupported(_ setting: String) -> ImportError {
            .unsupportedSetting(layer: name, className: type, setting: "\(setting) is not supported")
        }
        switch type {
        case "Convolution":
            let parameters = entry["convolution_param"] ?? .object([:])
            let padding = try edges(parameters, key: "pad", layer: name)
            return [layer(.convolution(Convolution(
                filters: try positive(parameters["num_output"], "num_output", layer: name),
                kernelSize: try size(parameters, key: "kernel_size", fallback: nil, layer: name),
                strides: try size(parameters, key: "stride", fallback: 1, layer: name),
                dilation: try size(parameters, key: "dilation", fallback: 1, layer: name),
                padding: padding.isZero ? .valid : .explicit(padding),
                useBias: parameters["bias_term"]?.bool ?? true,
                groups: try positive(parameters["group"] ?? .number(1), "group", layer: name))))]
        case "Pooling":
            let parameters = entry["pooling_param"] ?? .object([:])
            let kind: PoolingKind
            switch parameters["pool"]?.string ?? "MAX" {
            case "MAX", "0": kind = .max
            case "AVE", "1": kind = .average
            case let other: throw unsupported("pooling method \(QuotedName.quoted(other))")
            }
            if parameters["global_pooling"]?.bool == true { return [layer(.globalPooling(kind))] }
            let padding = try edges(parameters, key: "pad", layer: name)
            return [layer(.pooling(Pooling(
                kind: kind,
                poolSize: try size(parameters, key: "kernel_size", fallback: nil, layer: name),
                strides: try size(parameters, key: "stride", fallback: 1, layer: name),
                padding: padding.isZero ? .valid : .explicit(padding),
                rounding: .ceilCaffe, averageCountsPadding: true)))]
        case "InnerProduct":
            let parameters = entry["inner_product_param"] ?? .object([:])
            let dense = layer(.dense(Dense(
                units: try positive(parameters["num_output"], "num_output", layer: name),
                useBias: parameters["bias_term"]?.bool ?? true)))
            let flatten = Layer(name: name + "/flatten", sourceClass: "InnerProduct (implicit flatten)",
                                operation: .flatten(.channelsHeightWidth))
            return receivesVector ? [dense] : [flatten, dense]
        case "ReLU":
            let slope = Float(entry["relu_param"]?["negative_slope"]?.double ?? 0)
            return [layer(.activation(.relu(maxValue: nil, negativeSlope: slope, threshold: 0)))]
        case "Sigmoid": return [layer(.activation(.sigmoid))]
        case "TanH": return [layer(.activation(.tanh))]
        case "ELU": return [layer(.activation(.elu(alpha: Float(entry["elu_param"]?["alpha"]?.double ?? 1))))]
        case "Softmax":
            if let axis = entry["softmax_param"]?["axis"]?.int, axis != 1 { throw unsupported("softmax over axis \(axis)") }
            return [layer(.activation(.softmax))]
        case "Dropout":
            return [layer(.dropout(rate: entry["dropout_param"]?["dropout_ratio"]?.double ?? 0.5))]
        case "Flatten":
            return [layer(.flatten(.channelsHeightWidth))]
        case "Eltwise":
            let parameters = entry["eltwise_param"] ?? .object([:])
            let coefficients = (parameters["coeff"]?.list ?? []).compactMap(\.double)
            switch parameters["operation"]?.string ?? "SUM" {
            case "SUM", "1":
                if coefficients.isEmpty || coefficients.allSatisfy({ $0 == 1 }) { return [layer(.merge(.add))] }
                if coefficients == [1, -1] { return [layer(.merge(.subtract))] }
                throw unsupported("Eltwise coefficients \(coefficients)")
            case "PROD", "0": return [layer(.merge(.multiply))]
            case "MAX", "2": return [layer(.merge(.maximum))]
            case let other: throw unsupported("Eltwise operation \(other)")
            }
        case "Concat":
            let axis = entry["concat_param"]?["axis"]?.int ?? entry["concat_param"]?["concat_dim"]?.int ?? 1
            guard axis == 1 else { throw unsupported("concatenation along axis \(axis) instead of the channels") }
            return [layer(.concatenate)]
        case "LRN":
            let parameters = entry["lrn_param"] ?? .object([:])
            guard (parameters["norm_region"]?.string ?? "ACROSS_CHANNELS") == "ACROSS_CHANNELS" else {
                throw unsupported("LRN within channels")
            }
            return [layer(.localResponseNormalization(LocalResponseNormalization(
                size: try positive(parameters["local_size"] ?? .number(5), "local_size", layer: name),
                alpha: Float(parameters["alpha"]?.double ?? 1), beta: Float(parameters["beta"]?.double ?? 0.75),
                k: Float(parameters["k"]?.double ?? 1))))]
        case "BatchNorm":
            return [layer(.batchNormalization(BatchNormalization(
                epsilon: Float(entry["batch_norm_param"]?["eps"]?.double ?? 1e-5), center: false, scale: false)))]
        case "Scale":
            return [layer(.channelAffine)]
        case "SoftmaxWithLoss", "Data", "ImageData", "HDF5Data":
            throw ImportError.unsupportedLayer(layer: name, className: type, reason: "a training layer; use the deploy .prototxt",
                                               supported: SupportedLayers.caffe)
        default:
            throw ImportError.unsupportedLayer(layer: name, className: type, reason: nil, supported: SupportedLayers.caffe)
        }
    }

    private static func positive(_ value: ConfigValue?, _ key: String, layer: String) throws(ImportError) -> Int {
        guard let number = value?.int else {
            throw .unsupportedSetting(layer: layer, className: "Caffe layer", setting: "setting '\(key)' is missing or not a number")
        }
        try KerasShapes.checkSize(number, what: "'\(key)' of layer \(QuotedName.quoted(layer))")
        return number
    }

    /// `kernel_size`/`stride`/`dilation` (one value or one per axis) or `<key>_h`/`<key>_w`.
    private static func size(_ parameters: ConfigValue, key: String, fallback: Int?, layer: String) throws(ImportError) -> Size2D {
        let base = key == "kernel_size" ? "kernel" : key
        if let height = parameters["\(base)_h"], let width = parameters["\(base)_w"] {
            return Size2D(height: try positive(height, "\(base)_h", layer: layer), width: try positive(width, "\(base)_w", layer: layer))
        }
        let values = parameters[key]?.list ?? []
        if values.isEmpty, let fallback { return Size2D(square: fallback) }
        guard let first = values.first else {
            throw .unsupportedSetting(layer: layer, className: "Caffe layer", setting: "setting '\(key)' is missing")
        }
        return Size2D(height: try positive(first, key, layer: layer), width: try positive(values.last, key, layer: layer))
    }

    /// Symmetric padding from `pad` or `pad_h`/`pad_w`.
    private static func edges(_ parameters: ConfigValue, key: String, layer: String) throws(ImportError) -> EdgePadding {
        let values = parameters[key]?.list.compactMap(\.int) ?? []
        let rows = parameters["\(key)_h"]?.int ?? values.first ?? 0
        let columns = parameters["\(key)_w"]?.int ?? values.last ?? 0
        guard rows >= 0, columns >= 0, rows <= KerasShapes.maximumDimension, columns <= KerasShapes.maximumDimension else {
            throw .absurdShape(what: "padding of layer \(QuotedName.quoted(layer))", value: "\(rows)×\(columns)", limit: "0 to \(KerasShapes.maximumDimension)")
        }
        return EdgePadding(top: rows, bottom: rows, left: columns, right: columns)
    }

    /// Reads the weights of every layer from a Caffe HDF5 snapshot: `/data/<layer>/0` holds the
    /// kernel ((out, in, kh, kw) or (out, in)) and `/data/<layer>/1` the bias.
    func weights(from root: H5Group) throws(ImportError) -> [String: LayerWeights] {
        let inputs: [[ActivationShape]]
        do { inputs = try network.inputShapes() } catch { throw .shape(error) }
        var result: [String: LayerWeights] = [:]
        for (layer, received) in zip(network.layers, inputs) {
            let input = received[0]
            switch layer.operation {
            case .convolution(let convolution):
                let expected = [convolution.filters, input.channels / convolution.groups, convolution.kernelSize.height, convolution.kernelSize.width]
                let blobs = try readBlobs(of: layer.name, from: root,
                                          counts: [expected.reduce(1, *)] + (convolution.useBias ? [convolution.filters] : []))
                try check(blobs, layer: layer, path: root.file.path, kernel: expected, bias: convolution.useBias ? convolution.filters : nil)
                result[layer.name] = .convolution(
                    kernel: WeightLayouts.hwioFromOIHW(blobs[0].values, shape: expected, flip: false),
                    bias: convolution.useBias ? Tensor(shape: [convolution.filters], values: blobs[1].values) : nil)
            case .dense(let dense):
                let expected = [dense.units, input.elementCount]
                let blobs = try readBlobs(of: layer.name, from: root,
                                          counts: [dense.units * input.elementCount] + (dense.useBias ? [dense.units] : []))
                try check(blobs, layer: layer, path: root.file.path, kernel: expected, bias: dense.useBias ? dense.units : nil)
                result[layer.name] = .dense(
                    kernel: WeightLayouts.transposed(blobs[0].values, rows: dense.units, columns: input.elementCount),
                    bias: dense.useBias ? Tensor(shape: [dense.units], values: blobs[1].values) : nil)
            case .batchNormalization:
                // Caffe keeps running sums: mean and variance are blobs 0 and 1 divided by blob 2.
                let channels = input.channels
                let blobs = try readBlobs(of: layer.name, from: root, counts: [channels, channels, 1])
                guard blobs.count == 3, blobs[0].values.count == channels, blobs[1].values.count == channels, blobs[2].values.count == 1 else {
                    throw .missingWeights(layer: layer.name, path: root.file.path,
                                          reason: "BatchNorm needs 3 blobs (mean, variance: \(channels) each; scale factor: 1)")
                }
                let factor = blobs[2].values[0] == 0 ? 0 : 1 / blobs[2].values[0]
                func vector(_ value: Float) -> Tensor { Tensor(shape: [channels], values: .init(repeating: value, count: channels)) }
                result[layer.name] = .batchNormalization(
                    gamma: vector(1), beta: vector(0), mean: Tensor(shape: [channels], values: blobs[0].values.map { $0 * factor }),
                    variance: Tensor(shape: [channels], values: blobs[1].values.map { $0 * factor }))
            case .channelAffine:
                let channels = input.channels
                let blobs = try readBlobs(of: layer.name, from: root, counts: [channels, channels])
                guard (1...2).contains(blobs.count), blobs.allSatisfy({ $0.values.count == channels }) else {
                    throw .missingWeights(layer: layer.name, path: root.file.path, reason: "Scale needs 1 or 2 blobs of \(channels) values")
                }
                result[layer.name] = .channelAffine(
                    scale: Tensor(shape: [channels], values: blobs[0].values),
                    shift: Tensor(shape: [channels], values: blobs.count == 2 ? blobs[1].values : .init(repeating: 0, count: channels)))
            case .pooling, .zeroPadding, .flatten, .activation, .globalPooling, .dropout, .reshape, .merge, .concatenate,
                 .layerNormalization, .parametricReLU, .localResponseNormalization, .resize:
                continue
            }
        }
        return result
    }

    /// The blobs `/data/<layer>/0`, `1`, …, read only after every one has been opened and its
    /// declared number of values found equal to `counts[i]`, the number the architecture
    /// implies; a blob of another size, or more blobs than `counts`, is refused unread.
    private func readBlobs(of layer: String, from root: H5Group, counts: [Int]) throws(ImportError) -> [(values: [Float], shape: [Int])] {
        guard let group = try ImportError.readingHDF5({ () throws(HDF5Error) in try root.groupIfPresent("data/\(layer)") }) else {
            throw .missingWeights(layer: layer, path: root.file.path, reason: "the snapshot has no group /data/\(QuotedName.bare(layer))")
        }
        let indices = try ImportError.readingHDF5 { () throws(HDF5Error) in try group.memberNames().compactMap(Int.init).sorted() }
        guard indices.count <= counts.count else {
            throw .missingWeights(layer: layer, path: root.file.path,
                                  reason: "the snapshot has \(indices.count) blobs, the architecture implies at most \(counts.count)")
        }
        let datasets = try ImportError.readingHDF5 { () throws(HDF5Error) in try indices.map { index throws(HDF5Error) in try group.dataset(String(index)) } }
        for (index, dataset) in datasets.enumerated() where dataset.elementCount != counts[index] {
            throw .missingWeights(layer: layer, path: root.file.path,
                                  reason: "blob \(index) has shape \(dataset.shape), \(dataset.elementCount) values where the architecture implies \(counts[index])")
        }
        do {
            return try datasets.map { dataset throws(HDF5Error) in (try dataset.readFloats(), dataset.shape) }
        } catch {
            throw .hdf5(error)
        }
    }

    private func check(_ blobs: [(values: [Float], shape: [Int])], layer: Layer, path: String, kernel: [Int], bias: Int?) throws(ImportError) {
        let wanted = bias == nil ? 1 : 2
        guard blobs.count == wanted else {
            throw .missingWeights(layer: layer.name, path: path, reason: "expected \(wanted) blobs, the snapshot has \(blobs.count)")
        }
        // Old Caffe stores InnerProduct weights as (1, 1, out, in) and biases as (1, 1, 1, out).
        func squeezed(_ shape: [Int]) -> [Int] { Array(shape.drop { $0 == 1 && shape.count > 2 }) }
        if squeezed(blobs[0].shape) != squeezed(kernel) && blobs[0].shape != kernel {
            throw .weightShapeMismatch(layer: layer.name, className: layer.sourceClass, weight: "weights", expected: kernel, found: blobs[0].shape)
        }
        if let bias, blobs[1].values.count != bias {
            throw .weightShapeMismatch(layer: layer.name, className: layer.sourceClass, weight: "bias", expected: [bias], found: blobs[1].shape)
        }
    }
}
