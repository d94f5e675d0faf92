extension Layer {
    /// The number of learned values the layer has when its first input is `input`, counted the
    /// way Keras counts them (batch normalisation's moving statistics included).
    public func parameterCount(input: ActivationShape) -> Int {
        switch operation {
        case .convolution(let convolution):
            let kernel = convolution.kernelSize.height * convolution.kernelSize.width * (input.channels / max(convolution.groups, 1))
                * convolution.filters
            return kernel + (convolution.useBias ? convolution.filters : 0)
        case .dense(let dense):
            let inputs = input.isFeatureMap ? input.channels : input.elementCount
            return inputs * dense.units + (dense.useBias ? dense.units : 0)
        case .batchNormalization(let normalization):
            return input.channels * (2 + (normalization.scale ? 1 : 0) + (normalization.center ? 1 : 0))
        case .layerNormalization(let normalization):
            return input.channels * ((normalization.scale ? 1 : 0) + (normalization.center ? 1 : 0))
        case .parametricReLU:
            return input.channels
        case .channelAffine, .pooling, .zeroPadding, .flatten, .activation, .globalPooling, .dropout, .reshape, .merge,
             .concatenate, .localResponseNormalization, .resize:
            return 0
        }
    }
}
