import FCNModel

/// A layer with its weights in the form the kernels use, made once when an executor is built.
enum PreparedLayer {
    /// weights: (kh·kw·in, out) row-major, which is the canonical (kh, kw, in, out) kernel as is.
    case convolution(Convolution, weights: [Float], bias: [Float]?)
    /// A convolution with a thin patch matrix, its kernel packed for the direct kernel.
    case direct(Convolution, filters: DirectConvolutionKernel.PackedFilters, bias: [Float]?)
    /// A 3×3, 4×4 or 5×5 stride-1 convolution with its kernel in Winograd form.
    case winograd(Convolution, weights: WinogradKernel.TransformedWeights, bias: [Float]?)
    /// A convolution of several channel groups (depthwise when each group is one channel);
    /// weights: (kh, kw, in / groups, out) row-major.
    case grouped(Convolution, weights: [Float], bias: [Float]?)
    /// A dilated stride-1 convolution run phase by phase (`PhasedConvolution`) by `inner`, the
    /// undilated layer on a fast path; weights as in `.convolution`, for inputs too small for phases.
    indirect case phased(Convolution, weights: [Float], bias: [Float]?, inner: PreparedLayer)
    /// A convolution with large weights (a dense layer made convolutional), packed for the packed GEMM.
    case packedConvolution(Convolution, weights: PackedGemmKernel.PackedWeights, bias: [Float]?)
    /// weights: (inputs, units) row-major; on a feature map, applied at every position.
    case dense(Dense, weights: [Float], bias: [Float]?)
    /// A dense layer with large weights, packed for the packed GEMM.
    case packedDense(Dense, weights: PackedGemmKernel.PackedWeights, bias: [Float]?)
    case pooling(Pooling)
    /// Zeros around the map; the amounts are the plan step's padding.
    case zeroPadding
    case flatten(FlattenOrder)
    case activation(Activation)
    /// y = x · scale + shift per channel.
    case affine(scale: [Float], shift: [Float])
    case globalPooling(PoolingKind)
    /// gamma and beta: (channels).
    case layerNormalization(gamma: [Float], beta: [Float], epsilon: Float)
    /// slopes: (channels).
    case parametricReLU(slopes: [Float])
    case localResponseNormalization(LocalResponseNormalization)
    case resize(Resize)
    case merge(MergeKind)
    case concatenate
    /// Dropout and trivial reshapes: nothing to compute.
    case identity

    /// Prepares `layer`, checking that its weights are present and finite; with
    /// `fastConvolutions`, 3×3 to 5×5 stride-1 convolutions take the Winograd path, other
    /// convolutions with small patches the direct one, and convolutions and dense layers with
    /// large weights the packed GEMM, each where `platform` has the kernel. The weights must have
    /// the shapes the layer needs for a first input of `input`.
    init(_ layer: Layer, weights: LayerWeights?, input: ActivationShape, fastConvolutions: Bool, platform: Platform) throws(ExecutionError) {
        try Self.check(weights, of: layer, input: input)
        func finite(_ tensor: Tensor?, _ role: String) throws(ExecutionError) -> [Float]? {
            guard let tensor else { return nil }
            if let index = tensor.values.firstIndex(where: { !$0.isFinite }) {
                throw .badWeights(layer: layer.name, reason: "its \(role) contains NaN or infinity (at flat index \(index))")
            }
            return tensor.values
        }
        switch (layer.operation, weights) {
        case (.convolution(let convolution), .convolution(let kernel, let bias)?):
            let values = try finite(kernel, "kernel")!
            let inputChannels = kernel.shape[2]
            let depth = kernel.shape[0] * kernel.shape[1] * inputChannels
            if convolution.groups > 1 {
                self = .grouped(convolution, weights: values, bias: try finite(bias, "bias"))
            } else if fastConvolutions, convolution.dilation != Size2D(square: 1), convolution.strides == Size2D(square: 1) {
                // Phase by phase, the dilated layer runs on the undilated layer's fast kernel, if it has one.
                var undilated = layer
                undilated.operation = .convolution(Convolution(
                    filters: convolution.filters, kernelSize: convolution.kernelSize, padding: convolution.padding,
                    useBias: convolution.useBias, activation: convolution.activation))
                let inner = try PreparedLayer(undilated, weights: weights, input: input, fastConvolutions: true, platform: platform)
                if case .convolution = inner {
                    self = .convolution(convolution, weights: values, bias: try finite(bias, "bias"))
                } else {
                    self = .phased(convolution, weights: values, bias: try finite(bias, "bias"), inner: inner)
                }
            } else if fastConvolutions, WinogradKernel.applies(to: convolution, inputChannels: inputChannels) {
                self = .winograd(convolution, weights: WinogradKernel.transform(kernel: values, size: convolution.kernelSize.height,
                                                                                inputChannels: inputChannels, filters: convolution.filters,
                                                                                platform: platform),
                                 bias: try finite(bias, "bias"))
            } else if fastConvolutions, DirectConvolutionKernel.applies(to: convolution, inputChannels: inputChannels, platform: platform) {
                self = .direct(convolution, filters: DirectConvolutionKernel.pack(kernel: values, depth: depth, filters: convolution.filters,
                                                                                  platform: platform),
                               bias: try finite(bias, "bias"))
            } else if fastConvolutions, convolution.dilation == Size2D(square: 1),
                      PackedGemmKernel.applies(depth: depth, columns: convolution.filters, platform: platform) {
                self = .packedConvolution(convolution, weights: PackedGemmKernel.pack(values, depth: depth, columns: convolution.filters,
                                                                                      platform: platform),
                                          bias: try finite(bias, "bias"))
            } else {
                self = .convolution(convolution, weights: values, bias: try finite(bias, "bias"))
            }
        case (.dense(let dense), .dense(let kernel, let bias)?):
            let values = try finite(kernel, "kernel")!
            if fastConvolutions, PackedGemmKernel.applies(depth: kernel.shape[0], columns: dense.units, platform: platform) {
                self = .packedDense(dense, weights: PackedGemmKernel.pack(values, depth: kernel.shape[0], columns: dense.units,
                                                                          platform: platform),
                                    bias: try finite(bias, "bias"))
            } else {
                self = .dense(dense, weights: values, bias: try finite(bias, "bias"))
            }
        case (.batchNormalization(let normalization), .batchNormalization(let gamma, let beta, let mean, let variance)?):
            let values = try [gamma, beta, mean, variance].map { tensor throws(ExecutionError) in try finite(tensor, "statistics")! }
            let scale = normalization.channelScale(gamma: values[0], variance: values[3])
            let shift = (0..<scale.count).map { values[1][$0] - values[2][$0] * scale[$0] }
            self = .affine(scale: scale, shift: shift)
        case (.channelAffine, .channelAffine(let scale, let shift)?):
            self = .affine(scale: try finite(scale, "scale")!, shift: try finite(shift, "shift")!)
        case (.layerNormalization(let normalization), .layerNormalization(let gamma, let beta)?):
            self = .layerNormalization(gamma: try finite(gamma, "gamma")!, beta: try finite(beta, "beta")!, epsilon: normalization.epsilon)
        case (.parametricReLU, .slopes(let slopes)?):
            self = .parametricReLU(slopes: try finite(slopes, "slopes")!)
        case (.convolution, _), (.dense, _), (.batchNormalization, _), (.channelAffine, _), (.layerNormalization, _), (.parametricReLU, _):
            throw .badWeights(layer: layer.name, reason: "its weights are missing")
        case (.pooling(let pooling), _): self = .pooling(pooling)
        case (.zeroPadding, _): self = .zeroPadding
        case (.flatten(let order), _): self = .flatten(order)
        case (.activation(let activation), _): self = .activation(activation)
        case (.globalPooling(let kind), _): self = .globalPooling(kind)
        case (.localResponseNormalization(let normalization), _): self = .localResponseNormalization(normalization)
        case (.resize(let resize), _): self = .resize(resize)
        case (.merge(let kind), _): self = .merge(kind)
        case (.concatenate, _): self = .concatenate
        case (.dropout, _), (.reshape, _): self = .identity
        }
    }

    /// Checks that `weights` have the shapes `layer` needs when its first input is `input`, so that
    /// no kernel reads past a buffer whatever a caller passes.
    private static func check(_ weights: LayerWeights?, of layer: Layer, input: ActivationShape) throws(ExecutionError) {
        func expect(_ tensor: Tensor?, _ shape: [Int], _ role: String) throws(ExecutionError) {
            guard let tensor, tensor.shape != shape else { return }
            throw .badWeights(layer: layer.name, reason: "its \(role) has shape \(tensor.shape) but the layer needs \(shape) for an input of \(input)")
        }
        let channels = input.channels
        switch (layer.operation, weights) {
        case (.convolution(let convolution), .convolution(let kernel, let bias)?):
            try expect(kernel, [convolution.kernelSize.height, convolution.kernelSize.width, channels / max(convolution.groups, 1),
                                convolution.filters], "kernel")
            try expect(bias, [convolution.filters], "bias")
        case (.dense(let dense), .dense(let kernel, let bias)?):
            try expect(kernel, [input.isFeatureMap ? channels : input.elementCount, dense.units], "kernel")
            try expect(bias, [dense.units], "bias")
        case (.batchNormalization, .batchNormalization(let gamma, let beta, let mean, let variance)?):
            for (tensor, role) in [(gamma, "gamma"), (beta, "beta"), (mean, "mean"), (variance, "variance")] {
                try expect(tensor, [channels], role)
            }
        case (.layerNormalization, .layerNormalization(let first, let second)?), (.channelAffine, .channelAffine(let first, let second)?):
            try expect(first, [channels], "scale")
            try expect(second, [channels], "shift")
        case (.parametricReLU, .slopes(let slopes)?):
            try expect(slopes, [channels], "slopes")
        case (_, nil), (.convolution, _), (.dense, _), (.batchNormalization, _), (.layerNormalization, _), (.channelAffine, _),
             (.parametricReLU, _), (.pooling, _), (.zeroPadding, _), (.flatten, _), (.activation, _), (.globalPooling, _),
             (.dropout, _), (.reshape, _), (.merge, _), (.concatenate, _), (.localResponseNormalization, _), (.resize, _):
            return
        }
    }

    /// The scratch, in floats, the layer's kernel needs for `step` with `workers` threads: a part
    /// shared by all of them (Winograd's tiles) and a part for each (im2col's patch bands).
    func scratchNeeded(for step: ExecutionPlan.Step, workers: Int) -> (shared: Int, perWorker: Int) {
        let output = step.output.spatial
        switch self {
        case .convolution(let convolution, _, _):
            let depth = convolution.kernelSize.height * convolution.kernelSize.width * step.input.channels
            let band = max(ExecutionPlan.patchBudget / workers, output.width * depth)
            return (0, min(output.height * output.width * depth, band))
        case .winograd(_, let weights, _):
            return (WinogradKernel.scratchNeeded(outputSize: output, block: weights.outputBlock, inputChannels: weights.inputChannels,
                                                 filters: weights.filters, workers: workers, budget: ExecutionPlan.patchBudget), 0)
        case .phased(let convolution, let weights, let bias, let inner):
            let general = PreparedLayer.convolution(convolution, weights: weights, bias: bias).scratchNeeded(for: step, workers: workers)
            guard let phases = PhasedConvolution(dilation: convolution.dilation, kernel: convolution.kernelSize, input: step.input.mapSize,
                                                 output: step.output.mapSize, padding: step.padding),
                  let first = phases.phases.first
            else { return general }
            let need = inner.scratchNeeded(for: phases.step(of: first), workers: workers)
            let innerShare = need.shared + need.perWorker.rounded(upToMultipleOf: ExecutionPlan.cacheLineFloats) * workers
            return (phases.inputFloats + phases.outputFloats + innerShare, general.perWorker)
        case .packedConvolution(let convolution, let weights, _):
            return (PackedGemmKernel.scratchNeeded(convolution, depth: weights.depth, outputSize: output, padding: step.padding,
                                                   budget: ExecutionPlan.patchBudget), 0)
        case .direct, .grouped, .dense, .packedDense, .pooling, .zeroPadding, .flatten, .activation, .affine, .globalPooling,
             .layerNormalization, .parametricReLU, .localResponseNormalization, .resize, .merge, .concatenate, .identity:
            return (0, 0)
        }
    }

    /// The kernel the layer runs on and the instruction set of its own code, for profiles and
    /// tests, e.g. "direct avx512", "gemm-packed avx512", "winograd F(4x4,3x3) avx512 gemm-packed"
    /// (the level of its transforms, then the kernel of its 36 products), "im2col+gemm openblas".
    var path: String {
        switch self {
        case .convolution: "im2col+gemm openblas"
        case .direct(_, let filters, _): "direct \(filters.platform.instructionSet)"
        case .winograd(_, let weights, _):
            "winograd F(\(weights.outputBlock)x\(weights.outputBlock),\(weights.kernel)x\(weights.kernel)) \(weights.platform.instructionSet) "
                + (weights.isPacked ? "gemm-packed" : "openblas")
        case .packedConvolution(_, let weights, _), .packedDense(_, let weights, _): "gemm-packed \(weights.platform.instructionSet)"
        case .grouped(let convolution, _, _): "grouped (\(convolution.groups) groups)"
        case .phased(let convolution, _, _, let inner): "phased \(convolution.dilation) \(inner.path)"
        case .dense: "gemv openblas"
        case .pooling, .globalPooling: "pooling"
        case .zeroPadding: "copy"
        case .flatten: "transpose"
        case .activation, .affine, .parametricReLU, .merge: "elementwise"
        case .layerNormalization, .localResponseNormalization: "normalization"
        case .resize: "resize"
        case .concatenate: "copy"
        case .identity: "none"
        }
    }
}
