/// A chain of layers from one input to one output, free of any file format.
///
/// Shapes are not stored: `outputShapes(input:)` infers them for any input size, which is
/// what lets a converted network run on inputs larger than the one it was trained on.
public struct Network: Hashable, Sendable {
    /// The network's name in the source file.
    public var name: String
    /// The input the network was built for, such as 28×28×1.
    public var inputShape: ActivationShape
    /// How the network's input and output tensors are laid out in files.
    public var dataFormat: DataFormat
    /// The layers, first to last; the input is not a layer.
    public var layers: [Layer]
    /// False when the source declares a one-channel input without a channel axis, as Keras
    /// models on 28×28 inputs do; tensors for it are then (H, W) or (N, H, W).
    public var inputHasChannelAxis: Bool

    public init(name: String, inputShape: ActivationShape, dataFormat: DataFormat, layers: [Layer], inputHasChannelAxis: Bool = true) {
        self.name = name
        self.inputShape = inputShape
        self.dataFormat = dataFormat
        self.layers = layers
        self.inputHasChannelAxis = inputHasChannelAxis
    }

    /// The input shape with its spatial size replaced by `size`.
    public func inputShape(resizedTo size: Size2D) -> ActivationShape {
        .featureMap(height: size.height, width: size.width, channels: inputShape.channels)
    }

    /// The output shape of every layer, in order, for an input of `input`.
    ///
    /// - Throws: `ShapeError` naming the first layer that cannot take what it receives.
    public func outputShapes(input: ActivationShape? = nil) throws(ShapeError) -> [ActivationShape] {
        // A Dense layer takes exactly the vector length it was built for.
        let hasDense = layers.contains { if case .dense = $0.operation { true } else { false } }
        let builtFor = !hasDense || input == nil || input == inputShape ? nil : try inputShapes()
        var current = input ?? inputShape
        var shapes: [ActivationShape] = []
        shapes.reserveCapacity(layers.count)
        for (index, layer) in layers.enumerated() {
            if case .dense = layer.operation, let expected = builtFor?[index], expected.elementCount != current.elementCount {
                throw ShapeError(
                    layer: layer.name, input: current,
                    reason: "Dense takes exactly \(expected.elementCount) values, which the classifier's own input "
                        + "size \(inputShape.spatial) gives; convert the network (fcn convert) to run it on other sizes")
            }
            current = try layer.outputShape(input: current)
            shapes.append(current)
        }
        return shapes
    }

    /// The shape each layer receives: the network input, then each layer's output but the last.
    public func inputShapes(input: ActivationShape? = nil) throws(ShapeError) -> [ActivationShape] {
        let outputs = try outputShapes(input: input)
        return [input ?? inputShape] + outputs.dropLast()
    }
}

/// Why a layer cannot take the shape it receives.
public struct ShapeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The layer's name.
    public var layer: String
    /// The shape it received.
    public var input: ActivationShape
    /// What is wrong, in words.
    public var reason: String

    public init(layer: String, input: ActivationShape, reason: String) {
        self.layer = layer
        self.input = input
        self.reason = reason
    }

    public var description: String { "layer '\(layer)' receives \(input): \(reason)" }
}

extension Layer {
    /// What this layer gives for `input`.
    public func outputShape(input: ActivationShape) throws(ShapeError) -> ActivationShape {
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

        switch operation {
        case .convolution(let convolution):
            return try slide(convolution.windows, convolution.padding, channels: convolution.filters)
        case .pooling(let pooling):
            return try slide(pooling.windows, pooling.padding, channels: try featureMap().channels)
        case .zeroPadding(let edges):
            let map = try featureMap()
            return .featureMap(height: map.height + edges.top + edges.bottom,
                               width: map.width + edges.left + edges.right, channels: map.channels)
        case .dense(let dense):
            guard case .vector = input else {
                throw fail("Dense on a feature map is only supported after Flatten or global pooling")
            }
            return .vector(length: dense.units)
        case .flatten:
            return .vector(length: input.elementCount)
        case .globalPooling:
            return .vector(length: try featureMap().channels)
        case .activation, .batchNormalization, .dropout:
            return input
        case .reshape(let target):
            guard target.elementCount == input.elementCount else {
                throw fail("cannot reshape \(input.elementCount) values to \(target)")
            }
            return target
        }
    }
}
