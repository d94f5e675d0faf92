import FCNDiagnostics
import FCNModel
import HDF5Reader

/// Builds an FCNKit model from a Keras architecture and, when given, stored weights.
struct KerasModelBuilder {
    let architecture: KerasArchitecture
    /// Whether the stored kernels are Theano's true-convolution kernels, to be flipped.
    let flipKernels: Bool

    var dataFormat: DataFormat { architecture.dataFormat }

    /// Translates the layers and checks that their shapes fit together.
    ///
    /// - Parameter recordedInput: the input size to use where the config leaves height and
    ///   width open (`fcnkit_input_size`, which `fcn convert` records); without it, the
    ///   smallest square input the layers accept.
    func network(recordedInput: Size2D? = nil) throws(ImportError) -> Network {
        let declared = architecture.inputDimensions
        let isSequence = declared.count == 2 && architecture.layers.contains { $0.className.hasSuffix("1D") }
        let openSize = declared.contains { $0 == nil }
        let provisional: ActivationShape
        if openSize {
            let channelIndex = dataFormat == .channelsLast ? declared.count - 1 : 0
            guard (2...3).contains(declared.count), let channels = declared[channelIndex] else {
                throw .unsupportedSetting(layer: "input", className: "InputLayer",
                                          setting: "an input shape with open sizes other than height and width is not supported")
            }
            try KerasShapes.checkSize(channels, what: "the input channels")
            provisional = .featureMap(height: isSequence ? 1 : Self.provisionalSide, width: Self.provisionalSide, channels: channels)
        } else {
            provisional = try inputShape(declared.map { $0! }, isSequence: isSequence)
        }
        let layers = try translatedLayers(input: provisional).flatMap(\.layers)
        func build(_ input: ActivationShape) throws(ImportError) -> Network {
            do {
                return try Network.validated(name: architecture.modelName, inputShape: input, dataFormat: dataFormat, layers: layers,
                                             inputHasChannelAxis: declared.count != 2 || isSequence, isSequence: isSequence,
                                             inputName: architecture.inputName)
            } catch {
                throw .unreadableArchitecture(path: architecture.path, reason: error.description)
            }
        }
        var network = try build(provisional)
        if openSize {
            guard let size = recordedInput ?? Self.smallestInput(of: network) else {
                throw .absurdShape(what: "the smallest input this network accepts", value: "more than \(Self.largestSearchedInput) pixels a side",
                                   limit: "\(Self.largestSearchedInput)")
            }
            network = try build(network.inputShape(resizedTo: size))
        }
        do {
            _ = try network.outputShapes()
        } catch {
            throw .shape(error)
        }
        return network
    }

    /// The input shape of declared dimensions; a sequence (length, channels) is a 1 × length map.
    private func inputShape(_ dimensions: [Int], isSequence: Bool) throws(ImportError) -> ActivationShape {
        guard isSequence else { return try KerasShapes.activationShape(dimensions, format: dataFormat, what: "the input shape") }
        let (length, channels) = dataFormat == .channelsLast ? (dimensions[0], dimensions[1]) : (dimensions[1], dimensions[0])
        try KerasShapes.checkSize(length, what: "the input length")
        try KerasShapes.checkSize(channels, what: "the input channels")
        return .featureMap(height: 1, width: length, channels: channels)
    }

    /// The side of the stand-in input used to learn channel counts while the real size is open.
    private static let provisionalSide = 1024

    /// Each config layer with the FCNKit layers it became and the shapes it received, in order.
    private func translatedLayers(input: ActivationShape) throws(ImportError) -> [(config: KerasLayerConfig, layers: [Layer], inputs: [ActivationShape])] {
        let translator = KerasLayerTranslator(dataFormat: dataFormat, generation: architecture.generation)
        var shapes: [String: ActivationShape] = [architecture.inputName: input]
        var result: [(config: KerasLayerConfig, layers: [Layer], inputs: [ActivationShape])] = []
        for config in architecture.layers {
            let inputs = config.inbound.compactMap { shapes[$0] }
            let layers = try translator.translate(config, inputs: inputs)
            var current = inputs
            for layer in layers {
                // Shapes only guide the translation (channel counts); a stand-in size may not fit
                // every window, which the real size is checked for later.
                guard !current.isEmpty, let output = try? layer.outputShape(inputs: current) else { break }
                shapes[layer.name] = output
                current = [output]
            }
            result.append((config, layers, inputs))
        }
        return result
    }

    /// The largest side `smallestInput` tries.
    static let largestSearchedInput = 4096

    /// The smallest square input `network` accepts, or nil if none up to `largestSearchedInput`.
    private static func smallestInput(of network: Network) -> Size2D? {
        (1...largestSearchedInput).lazy.map { side in network.isSequence ? Size2D(height: 1, width: side) : Size2D(square: side) }.first { size in
            (try? network.outputShapes(input: network.inputShape(resizedTo: size))) != nil
        }
    }

    /// Reads every layer's weights from `source`, checking each stored shape against the
    /// shape the architecture implies before reading it.
    func weights(of network: Network, from source: KerasWeightSource) throws(ImportError) -> [String: LayerWeights] {
        let inputs: [[ActivationShape]]
        do { inputs = try network.inputShapes() } catch { throw .shape(error) }
        let index = Dictionary(uniqueKeysWithValues: network.layers.enumerated().map { ($1.name, $0) })
        var result: [String: LayerWeights] = [:]
        for config in architecture.layers {
            let layers = network.layers.filter { $0.name == config.name || $0.name.hasPrefix(config.name + "/") }
                .sorted { $0.name.count > $1.name.count }  // a SeparableConv2D's depthwise part first
            let expected = layers.map { expectedShapes(of: $0, input: inputs[index[$0.name]!][0]) }
            if case .channelAffine = layers.first?.operation, config.className == "Rescaling" {
                result[config.name] = try rescaling(config, channels: inputs[index[config.name]!][0].channels)
                continue
            }
            guard expected.contains(where: { !$0.isEmpty }) else { continue }
            // Normalization also keeps its sample count, which inference does not use.
            let stored = Array(try source.datasets(for: config).prefix(config.className == "Normalization" ? 2 : .max))
            let wanted = expected.flatMap { $0 }
            guard stored.count == wanted.count else {
                throw .missingWeights(
                    layer: config.name, path: stored.first?.file.path ?? "",
                    reason: "the architecture implies \(wanted.count) weights (\(wanted.map(\.role).joined(separator: ", "))) "
                        + "but the file has \(stored.count)")
            }
            var remaining = stored[...]
            for (layer, shapes) in zip(layers, expected) where !shapes.isEmpty {
                var tensors: [Tensor] = []
                for want in shapes { tensors.append(try read(remaining.removeFirst(), as: want, layer: layer)) }
                result[layer.name] = assemble(layer.operation, tensors: tensors, channels: inputs[index[layer.name]!][0].channels)
            }
        }
        return result
    }

    /// Rescaling's `x · scale + offset` (numbers or one per channel) as per-channel weights.
    private func rescaling(_ config: KerasLayerConfig, channels: Int) throws(ImportError) -> LayerWeights {
        func perChannel(_ key: String, default fallback: Double) throws(ImportError) -> Tensor {
            let values = config.config[key].map { $0.list.compactMap(\.double) } ?? [fallback]
            guard values.count == 1 || values.count == channels, values.allSatisfy({ $0.isFinite }) else {
                throw .unsupportedSetting(layer: config.name, className: config.className,
                                          setting: "\(QuotedName.quoted(key)) must be a number or one per channel (\(channels))")
            }
            return Tensor(shape: [channels], values: (0..<channels).map { Float(values[values.count == 1 ? 0 : $0]) })
        }
        return .channelAffine(scale: try perChannel("scale", default: 1), shift: try perChannel("offset", default: 0))
    }

    /// One weight the architecture implies: its role and canonical shape.
    private struct ExpectedWeight {
        let role: String
        /// The canonical shape.
        let shape: [Int]
        /// The shape the file stores it in, when it differs only in how its axes are grouped.
        var stored: [Int]

        init(role: String, shape: [Int], stored: [Int]? = nil) {
            self.role = role
            self.shape = shape
            self.stored = stored ?? shape
        }
    }

    private func expectedShapes(of layer: Layer, input: ActivationShape) -> [ExpectedWeight] {
        switch layer.operation {
        case .convolution(let convolution):
            var kernel = ExpectedWeight(role: "kernel", shape: [convolution.kernelSize.height, convolution.kernelSize.width,
                                                                 input.channels / convolution.groups, convolution.filters])
            if convolution.groups > 1, convolution.groups == input.channels, layer.sourceClass != "Conv2D", layer.sourceClass != "Conv1D" {
                // Depthwise kernels are stored (kh, kw, channels, multiplier): the same values.
                kernel.stored = [convolution.kernelSize.height, convolution.kernelSize.width, input.channels, convolution.filters / input.channels]
            }
            if layer.sourceClass.hasSuffix("1D") { kernel.stored = kernel.stored.count == 4 ? Array(kernel.stored.dropFirst()) : kernel.stored }
            return convolution.useBias ? [kernel, ExpectedWeight(role: "bias", shape: [convolution.filters])] : [kernel]
        case .dense(let dense):
            let kernel = ExpectedWeight(role: "kernel", shape: [input.isFeatureMap ? input.channels : input.elementCount, dense.units])
            return dense.useBias ? [kernel, ExpectedWeight(role: "bias", shape: [dense.units])] : [kernel]
        case .layerNormalization(let normalization):
            let vector = [input.channels]
            return (normalization.scale ? [ExpectedWeight(role: "gamma", shape: vector)] : [])
                + (normalization.center ? [ExpectedWeight(role: "beta", shape: vector)] : [])
        case .parametricReLU:
            return [ExpectedWeight(role: "alpha", shape: [input.channels], stored: input.isFeatureMap ? [1, 1, input.channels] : [input.channels])]
        case .channelAffine:
            // Normalization's mean and variance (Rescaling's values are settings, read apart).
            return [ExpectedWeight(role: "mean", shape: [input.channels]), ExpectedWeight(role: "variance", shape: [input.channels])]
        case .batchNormalization(let normalization):
            let vector = [input.channels]
            return (normalization.scale ? [ExpectedWeight(role: "gamma", shape: vector)] : [])
                + (normalization.center ? [ExpectedWeight(role: "beta", shape: vector)] : [])
                + [ExpectedWeight(role: "moving_mean", shape: vector), ExpectedWeight(role: "moving_variance", shape: vector)]
        case .pooling, .zeroPadding, .flatten, .activation, .globalPooling, .dropout, .reshape, .merge, .concatenate,
             .localResponseNormalization, .resize:
            return []
        }
    }

    /// Checks a dataset's declared shape against the one the architecture implies, then reads it
    /// (never before) and brings it to the canonical layout.
    private func read(_ dataset: H5Dataset, as expected: ExpectedWeight, layer: Layer) throws(ImportError) -> Tensor {
        func values() throws(ImportError) -> [Float] {
            do { return try dataset.readFloats(expectedShape: dataset.shape) } catch { throw .hdf5(error) }
        }
        let isKernel = expected.role == "kernel" && expected.shape.count == 4
        if isKernel, architecture.generation == .keras1, dataFormat == .channelsFirst {
            // Keras 1 with `th` ordering stores (filters, in, kh, kw).
            let (kh, kw, cin, cout) = (expected.shape[0], expected.shape[1], expected.shape[2], expected.shape[3])
            guard dataset.shape == [cout, cin, kh, kw] else {
                throw .weightShapeMismatch(layer: layer.name, className: layer.sourceClass, weight: "kernel", expected: [cout, cin, kh, kw], found: dataset.shape)
            }
            return WeightLayouts.hwioFromOIHW(try values(), shape: dataset.shape, flip: flipKernels)
        }
        // A (1, n) or (n, 1) bias, as some writers store it, is still a vector of n.
        let matches = dataset.shape == expected.shape || dataset.shape == expected.stored
            || (expected.shape.count == 1 && dataset.shape.reduce(1, *) == expected.shape[0] && dataset.shape.filter { $0 != 1 }.count <= 1)
        guard matches else {
            throw .weightShapeMismatch(layer: layer.name, className: layer.sourceClass, weight: expected.role, expected: expected.shape, found: dataset.shape)
        }
        let tensor = Tensor(shape: expected.shape, values: try values())
        return isKernel && flipKernels ? WeightLayouts.flippedHWIO(tensor) : tensor
    }

    private func assemble(_ operation: LayerOperation, tensors: [Tensor], channels: Int) -> LayerWeights {
        func optional(_ present: Bool, _ remaining: inout ArraySlice<Tensor>, default value: Float) -> Tensor {
            present ? remaining.removeFirst() : Tensor(shape: [channels], values: .init(repeating: value, count: channels))
        }
        switch operation {
        case .convolution:
            return .convolution(kernel: tensors[0], bias: tensors.count > 1 ? tensors[1] : nil)
        case .batchNormalization(let normalization):
            var remaining = tensors[...]
            let gamma = optional(normalization.scale, &remaining, default: 1)
            let beta = optional(normalization.center, &remaining, default: 0)
            return .batchNormalization(gamma: gamma, beta: beta, mean: remaining.removeFirst(), variance: remaining.removeFirst())
        case .layerNormalization(let normalization):
            var remaining = tensors[...]
            let gamma = optional(normalization.scale, &remaining, default: 1)
            return .layerNormalization(gamma: gamma, beta: optional(normalization.center, &remaining, default: 0))
        case .parametricReLU:
            return .slopes(tensors[0])
        case .channelAffine:
            // Keras's Normalization: (x − mean) / max(√variance, 1e-7).
            let scale = tensors[1].values.map { 1 / max($0.squareRoot(), 1e-7) }
            return .channelAffine(scale: Tensor(shape: [channels], values: scale),
                                  shift: Tensor(shape: [channels], values: zip(tensors[0].values, scale).map { -$0 * $1 }))
        case .dense:
            return .dense(kernel: tensors[0], bias: tensors.count > 1 ? tensors[1] : nil)
        case .pooling, .zeroPadding, .flatten, .activation, .globalPooling, .dropout, .reshape, .merge, .concatenate,
             .localResponseNormalization, .resize:
            preconditionFailure("\(operation.kind) has no weights")
        }
    }
}
