extension Layer {
    /// The number of learned values the layer has when it receives `input`, counted the way
    /// Keras counts them (batch normalisation's moving statistics included).
    public func parameterCount(input: ActivationShape) -> Int {
        switch operation {
        case .convolution(let convolution):
            let kernel = convolution.kernelSize.height * convolution.kernelSize.width * input.channels * convolution.filters
            return kernel + (convolution.useBias ? convolution.filters : 0)
        case .dense(let dense):
            return input.elementCount * dense.units + (dense.useBias ? dense.units : 0)
        case .batchNormalization(let normalization):
            return input.channels * (2 + (normalization.scale ? 1 : 0) + (normalization.center ? 1 : 0))
        default:
            return 0
        }
    }
}
