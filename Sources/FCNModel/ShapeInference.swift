extension Layer {
    /// What this layer gives for `inputs`, the shapes of the values it reads.
    ///
    /// Every shape it returns holds at most `ActivationShape.maximumElementCount` values, so
    /// `elementCount` on it cannot overflow, whatever sizes a file's settings declare.
    ///
    /// - Throws: `ShapeError` when the layer cannot take them, or gives more values than that.
    public func outputShape(inputs: [ActivationShape]) throws(ShapeError) -> ActivationShape {
        for input in inputs where !input.isWithinLimit {
            throw ShapeError(layer: name, input: input, reason: "the input holds more than \(ActivationShape.maximumElementCount) values")
        }
        let output = try computedShape(inputs: inputs)
        guard output.isWithinLimit else {
            throw ShapeError(layer: name, input: inputs[0],
                             reason: "its output \(output) would hold more than \(ActivationShape.maximumElementCount) values")
        }
        return output
    }

    /// `outputShape(inputs:)` before its limit is checked; `inputs` are within the limit.
    private func computedShape(inputs: [ActivationShape]) throws(ShapeError) -> ActivationShape {
        let input = inputs[0]
        func fail(_ reason: String) -> ShapeError { ShapeError(layer: name, input: input, reason: reason) }
        func featureMap() throws(ShapeError) -> (height: Int, width: Int, channels: Int) {
            guard case .featureMap(let height, let width, let channels) = input else {
                throw fail("\(sourceClass) needs a feature map, not a vector")
            }
            return (height, width, channels)
        }
        func slide(_ windows: (vertical: AxisWindow, horizontal: AxisWindow), _ padding: PaddingMode,
                   channels: Int) throws(ShapeError) -> ActivationShape {
            let map = try featureMap()
            guard let height = windows.vertical.outputLength(inputLength: map.height, mode: padding.vertical),
                  let width = windows.horizontal.outputLength(inputLength: map.width, mode: padding.horizontal)
            else {
                let window = Size2D(height: windows.vertical.effectiveKernel, width: windows.horizontal.effectiveKernel)
                throw fail("its \(window) window does not fit; the input is too small")
            }
            return .featureMap(height: height, width: width, channels: channels)
        }
        func requireOneInput() throws(ShapeError) {
            guard inputs.count == 1 else { throw fail("\(sourceClass) takes one input, not \(inputs.count)") }
        }

        switch operation {
        case .merge(let kind):
            return try mergedShape(kind, inputs: inputs, fail: fail)
        case .concatenate:
            guard inputs.count >= 2 else { throw fail("Concatenate needs at least two inputs") }
            let spatial = input.spatial
            guard inputs.allSatisfy({ $0.isFeatureMap == input.isFeatureMap && $0.spatial == spatial }) else {
                throw fail("Concatenate joins channels of inputs of one size, not \(inputs.map(\.description).joined(separator: " and "))")
            }
            let channels = inputs.reduce(0) { $0 + $1.channels }
            return input.isFeatureMap ? .featureMap(height: spatial.height, width: spatial.width, channels: channels)
                                      : .vector(length: channels)
        case .convolution, .pooling, .zeroPadding, .dense, .flatten, .globalPooling, .activation, .batchNormalization,
             .dropout, .reshape, .layerNormalization, .channelAffine, .parametricReLU, .localResponseNormalization, .resize:
            try requireOneInput()
        }

        switch operation {
        case .convolution(let convolution):
            let channels = try featureMap().channels
            guard convolution.groups >= 1, channels % convolution.groups == 0, convolution.filters % convolution.groups == 0 else {
                throw fail("\(convolution.groups) groups do not divide \(channels) input channels and \(convolution.filters) filters")
            }
            return try slide(convolution.windows, convolution.padding, channels: convolution.filters)
        case .pooling(let pooling):
            return try slide(pooling.windows, pooling.padding, channels: try featureMap().channels)
        case .zeroPadding(let edges):
            let map = try featureMap()
            return .featureMap(height: map.height + edges.top + edges.bottom,
                               width: map.width + edges.left + edges.right, channels: map.channels)
        case .dense(let dense):
            // Keras applies a Dense to the last axis: on a feature map, at every position.
            if case .featureMap(let height, let width, _) = input {
                return .featureMap(height: height, width: width, channels: dense.units)
            }
            return .vector(length: dense.units)
        case .flatten:
            return .vector(length: input.elementCount)
        case .globalPooling:
            return .vector(length: try featureMap().channels)
        case .activation, .batchNormalization, .dropout, .layerNormalization, .channelAffine, .parametricReLU,
             .localResponseNormalization:
            return input
        case .resize(let resize):
            return .featureMap(height: resize.size.height, width: resize.size.width, channels: try featureMap().channels)
        case .reshape(let target):
            guard target.isWithinLimit, target.elementCount == input.elementCount else {
                throw fail("cannot reshape \(input.elementCount) values to \(target)")
            }
            return target
        case .merge, .concatenate:
            preconditionFailure("handled above")
        }
    }

    /// The shape of an element-wise merge: every input the same shape, except that a 1×1 map or a
    /// vector of the same channels may stand for a whole map (squeeze-and-excitation scaling).
    private func mergedShape(_ kind: MergeKind, inputs: [ActivationShape],
                             fail: (String) -> ShapeError) throws(ShapeError) -> ActivationShape {
        guard inputs.count >= 2 else { throw fail("\(sourceClass) needs at least two inputs") }
        if kind == .subtract, inputs.count != 2 { throw fail("Subtract takes exactly two inputs, not \(inputs.count)") }
        let full = inputs.first { $0.isFeatureMap && $0.spatial != Size2D(square: 1) } ?? inputs[0]
        for shape in inputs where shape != full {
            let broadcasts = shape.channels == full.channels && shape.spatial == Size2D(square: 1)
            guard broadcasts else {
                throw fail("\(sourceClass) merges inputs of one shape, not \(inputs.map(\.description).joined(separator: " and "))")
            }
        }
        return full
    }
}
