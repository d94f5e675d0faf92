import FCNModel

/// A feature map or image held in HWC order, for cropping, reading cells, and converting to
/// and from the tensors a model takes and gives.
public struct MapImage: Sendable {
    public let size: Size2D
    public let channels: Int
    /// (height, width, channels), channels fastest.
    public let values: [Float]

    public init(size: Size2D, channels: Int, values: [Float]) {
        self.size = size
        self.channels = channels
        self.values = values
    }

    /// Reads a (1, H, W, C) or (1, C, H, W) network output.
    public init(framework tensor: Tensor, format: DataFormat) {
        let dimensions = Array(tensor.shape.suffix(3))
        if format == .channelsLast {
            self.init(size: Size2D(height: dimensions[0], width: dimensions[1]), channels: dimensions[2], values: tensor.values)
        } else {
            let (channels, height, width) = (dimensions[0], dimensions[1], dimensions[2])
            var values = [Float](repeating: 0, count: tensor.values.count)
            for channel in 0..<channels {
                for position in 0..<(height * width) {
                    values[position * channels + channel] = tensor.values[channel * height * width + position]
                }
            }
            self.init(size: Size2D(height: height, width: width), channels: channels, values: values)
        }
    }

    /// The channels of cell (`row`, `column`).
    public func cell(row: Int, column: Int) -> [Float] {
        let start = (row * size.width + column) * channels
        return Array(values[start..<(start + channels)])
    }

    /// The `size` window whose top-left pixel is (`top`, `left`), zeros outside the image.
    public func crop(top: Int, left: Int, size cropSize: Size2D) -> MapImage {
        var result = [Float](repeating: 0, count: cropSize.height * cropSize.width * channels)
        for y in 0..<cropSize.height where (0..<size.height).contains(top + y) {
            for x in 0..<cropSize.width where (0..<size.width).contains(left + x) {
                let source = ((top + y) * size.width + left + x) * channels
                let target = (y * cropSize.width + x) * channels
                result[target..<(target + channels)] = values[source..<(source + channels)]
            }
        }
        return MapImage(size: cropSize, channels: channels, values: result)
    }

    /// The image as a batch-of-one tensor in `format`: (1, H, W, C) or (1, C, H, W).
    public func framework(_ format: DataFormat) -> Tensor {
        guard format == .channelsFirst else {
            return Tensor(shape: [1, size.height, size.width, channels], values: values)
        }
        var transposed = [Float](repeating: 0, count: values.count)
        let positions = size.height * size.width
        for position in 0..<positions {
            for channel in 0..<channels {
                transposed[channel * positions + position] = values[position * channels + channel]
            }
        }
        return Tensor(shape: [1, channels, size.height, size.width], values: transposed)
    }

    /// The image as a batch-of-one input for `network`: in its data format, and without the
    /// channel axis when the network declares none.
    public func tensor(for network: Network) -> Tensor {
        let tensor = framework(network.dataFormat)
        if !network.inputShape.isFeatureMap { return Tensor(shape: [1, channels], values: tensor.values) }
        if network.isSequence {
            return Tensor(shape: network.dataFormat == .channelsLast ? [1, size.width, channels] : [1, channels, size.width], values: tensor.values)
        }
        guard !network.inputHasChannelAxis else { return tensor }
        return Tensor(shape: [1, size.height, size.width], values: tensor.values)
    }
}

extension MapImage {
    /// The samples of `input`, laid out as `Executor.run(_: Tensor)` takes it for `network`, as HWC
    /// maps, and whether it has a batch axis.
    public static func samples(of input: Tensor, for network: Network) throws(ExecutionError) -> (maps: [MapImage], hasBatchAxis: Bool) {
        let layout = try TensorLayout(inputShape: input.shape, network: network)
        guard network.inputShape.isFeatureMap else { throw .inputShape(found: input.shape, expected: "a feature map") }
        let channels = network.inputShape.channels
        let count = layout.size.height * layout.size.width * channels
        let maps = (0..<layout.batch).map { sample in
            let values = Array(input.values[(sample * count)..<((sample + 1) * count)])
            guard network.dataFormat == .channelsFirst else { return MapImage(size: layout.size, channels: channels, values: values) }
            return MapImage(framework: Tensor(shape: [channels, layout.size.height, layout.size.width], values: values), format: .channelsFirst)
        }
        return (maps, layout.hasBatchAxis)
    }

    /// Outputs like those of `Executor.run(_: MapImage)`, all of one shape, as the one tensor
    /// `Executor.run(_: Tensor)` gives for their inputs to `network`.
    public static func tensor(ofOutputs maps: [MapImage], for network: Network, hasBatchAxis: Bool) -> Tensor {
        let first = maps[0]
        let shape = ActivationShape.featureMap(height: first.size.height, width: first.size.width, channels: first.channels)
        var dimensions = shape.dimensions(in: network.dataFormat)
        if network.isSequence { dimensions.remove(at: network.dataFormat == .channelsLast ? 0 : 1) }
        let values = maps.flatMap { $0.framework(network.dataFormat).values }
        return Tensor(shape: hasBatchAxis ? [maps.count] + dimensions : dimensions, values: values)
    }
}
