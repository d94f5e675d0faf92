extension Layer {
    /// The number of learned values the layer has when its first input is `input`, counted the
    /// way Keras counts them (batch normalisation's moving statistics included); `Int.max` when
    /// the settings of a hostile file imply more than an `Int` counts.
    public func parameterCount(input: ActivationShape) -> Int {
        switch operation {
        case .convolution(let convolution):
            return Self.saturatingSum(Self.saturatingProduct([convolution.kernelSize.height, convolution.kernelSize.width,
                                                              input.channels / max(convolution.groups, 1), convolution.filters]),
                                      convolution.useBias ? convolution.filters : 0)
        case .dense(let dense):
            let inputs = input.isFeatureMap ? input.channels : input.elementCount
            return Self.saturatingSum(Self.saturatingProduct([inputs, dense.units]), dense.useBias ? dense.units : 0)
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

    private static func saturatingProduct(_ factors: [Int]) -> Int {
        factors.reduce(1) { product, factor in
            let (result, overflow) = product.multipliedReportingOverflow(by: factor)
            return overflow ? Int.max : result
        }
    }

    private static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : result
    }
}
