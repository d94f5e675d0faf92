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
        let translator = KerasLayerTranslator(dataFormat: dataFormat)
        var layers: [Layer] = []
        for layer in architecture.layers { layers.append(try translator.translate(layer)) }
        let declared = architecture.inputDimensions
        let input: ActivationShape
        if declared.count == 3, let channels = declared[dataFormat == .channelsLast ? 2 : 0], declared.contains(where: { $0 == nil }) {
            try KerasShapes.checkSize(channels, what: "the input channels")
            let open = Network(name: architecture.modelName, inputShape: .featureMap(height: 1, width: 1, channels: channels),
                               dataFormat: dataFormat, layers: layers)
            guard let size = recordedInput ?? Self.smallestInput(of: open) else {
                throw .absurdShape(what: "the smallest input this network accepts", value: "more than \(Self.largestSearchedInput) pixels a side",
                                   limit: "\(Self.largestSearchedInput)")
            }
            input = open.inputShape(resizedTo: size)
        } else {
            guard declared.allSatisfy({ $0 != nil }) else {
                throw .unsupportedSetting(layer: "input", className: "InputLayer", setting: "an input shape with open sizes other than height and width is not supported")
            }
            input = try KerasShapes.activationShape(declared.map { $0! }, format: dataFormat, what: "the input shape")
        }
        let network = Network(name: architecture.modelName, inputShape: input, dataFormat: dataFormat, layers: layers,
                              inputHasChannelAxis: declared.count != 2)
        do {
            _ = try network.outputShapes()
        } catch {
            throw .shape(error)
        }
        return network
    }

    /// The largest side `smallestInput` tries.
    static let largestSearchedInput = 4096

    /// The smallest square input `network` accepts, or nil if none up to `largestSearchedInput`.
    private static func smallestInput(of network: Network) -> Size2D? {
        (1...largestSearchedInput).lazy.map { Size2D(square: $0) }.first { size in
            (try? network.outputShapes(input: network.inputShape(resizedTo: size))) != nil
        }
    }

    /// Reads every layer's weights from `source`, checking each stored shape against the
    /// shape the architecture implies.
    func weights(of network: Network, from source: KerasWeightSource) throws(ImportError) -> [String: LayerWeights] {
        let inputs: [ActivationShape]
        do { inputs = try network.inputShapes() } catch { throw .shape(error) }
        var result: [String: LayerWeights] = [:]
        for ((layer, config), input) in zip(zip(network.layers, architecture.layers), inputs) {
            let expected = expectedShapes(of: layer.operation, input: input)
            guard !expected.isEmpty else { continue }
            let stored = try source.datasets(for: config)
            guard stored.count == expected.count else {
                throw .missingWeights(
                    layer: layer.name, path: stored.first?.file.path ?? "",
                    reason: "the architecture implies \(expected.count) weights (\(expected.map(\.role).joined(separator: ", "))) "
                        + "but the file has \(stored.count)")
            }
            var tensors: [Tensor] = []
            for (dataset, want) in zip(stored, expected) {
                tensors.append(try read(dataset, as: want, layer: layer))
            }
            result[layer.name] = assemble(layer.operation, tensors: tensors, channels: input.channels)
        }
        return result
    }

    /// One weight the architecture implies: its role and canonical shape.
    private struct ExpectedWeight {
        let role: String
        let shape: [Int]
    }

    private func expectedShapes(of operation: LayerOperation, input: ActivationShape) -> [ExpectedWeight] {
        switch operation {
        case .convolution(let convolution):
            let kernel = ExpectedWeight(role: "kernel", shape: [convolution.kernelSize.height, convolution.kernelSize.width,
                                                                 input.channels, convolution.filters])
            return convolution.useBias ? [kernel, ExpectedWeight(role: "bias", shape: [convolution.filters])] : [kernel]
        case .dense(let dense):
            let kernel = ExpectedWeight(role: "kernel", shape: [input.elementCount, dense.units])
            return dense.useBias ? [kernel, ExpectedWeight(role: "bias", shape: [dense.units])] : [kernel]
        case .batchNormalization(let normalization):
            let vector = [input.channels]
            return (normalization.scale ? [ExpectedWeight(role: "gamma", shape: vector)] : [])
                + (normalization.center ? [ExpectedWeight(role: "beta", shape: vector)] : [])
                + [ExpectedWeight(role: "moving_mean", shape: vector), ExpectedWeight(role: "moving_variance", shape: vector)]
        default:
            return []
        }
    }

    /// Reads a dataset and brings it to the canonical layout, or reports the mismatch.
    private func read(_ dataset: H5Dataset, as expected: ExpectedWeight, layer: Layer) throws(ImportError) -> Tensor {
        let values: [Float]
        do { values = try dataset.readFloats() } catch { throw .hdf5(error) }
        let isKernel = expected.role == "kernel" && expected.shape.count == 4
        if isKernel, architecture.generation == .keras1, dataFormat == .channelsFirst {
            // Keras 1 with `th` ordering stores (filters, in, kh, kw).
            let (kh, kw, cin, cout) = (expected.shape[0], expected.shape[1], expected.shape[2], expected.shape[3])
            guard dataset.shape == [cout, cin, kh, kw] else {
                throw .weightShapeMismatch(layer: layer.name, className: layer.sourceClass, weight: "kernel", expected: [cout, cin, kh, kw], found: dataset.shape)
            }
            return WeightLayouts.hwioFromOIHW(values, shape: dataset.shape, flip: flipKernels)
        }
        // A (1, n) or (n, 1) bias, as some writers store it, is still a vector of n.
        let matches = dataset.shape == expected.shape
            || (expected.shape.count == 1 && dataset.shape.reduce(1, *) == expected.shape[0] && dataset.shape.filter { $0 != 1 }.count <= 1)
        guard matches else {
            throw .weightShapeMismatch(layer: layer.name, className: layer.sourceClass, weight: expected.role, expected: expected.shape, found: dataset.shape)
        }
        let tensor = Tensor(shape: expected.shape, values: values)
        return isKernel && flipKernels ? WeightLayouts.flippedHWIO(tensor) : tensor
    }

    private func assemble(_ operation: LayerOperation, tensors: [Tensor], channels: Int) -> LayerWeights {
        switch operation {
        case .convolution:
            return .convolution(kernel: tensors[0], bias: tensors.count > 1 ? tensors[1] : nil)
        case .batchNormalization(let normalization):
            var remaining = tensors[...]
            let gamma = normalization.scale ? remaining.removeFirst() : Tensor(shape: [channels], values: .init(repeating: 1, count: channels))
            let beta = normalization.center ? remaining.removeFirst() : Tensor(shape: [channels], values: .init(repeating: 0, count: channels))
            return .batchNormalization(gamma: gamma, beta: beta, mean: remaining.removeFirst(), variance: remaining.removeFirst())
        default:
            return .dense(kernel: tensors[0], bias: tensors.count > 1 ? tensors[1] : nil)
        }
    }
}
