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
