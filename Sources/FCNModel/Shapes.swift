/// A height and a width, in that order.
public struct Size2D: Hashable, Sendable, Codable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    /// The same value on both axes.
    public init(square: Int) { self.init(height: square, width: square) }

    public var description: String { "\(height)×\(width)" }

    /// Parses `HxW` (also `H×W` or `H,W`), or a single number for a square; nil unless both
    /// are positive.
    public init?(text: String) {
        let parts = text.split(whereSeparator: { "x×X,".contains($0) }).map { Int($0.filter { !$0.isWhitespace }) }
        guard (1...2).contains(parts.count), let height = parts[0], let width = parts[parts.count - 1], height > 0, width > 0
        else { return nil }
        self.init(height: height, width: width)
    }
}

/// The shape of the data that flows between layers, free of any memory layout.
public enum ActivationShape: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A stack of `channels` maps of `height × width`.
    case featureMap(height: Int, width: Int, channels: Int)
    /// A flat vector, as after Flatten or Dense.
    case vector(length: Int)

    /// The most values a shape from shape inference may hold: 2^40, far beyond any memory, and
    /// far from overflowing `Int` in products of a few such sizes.
    public static let maximumElementCount = 1 << 40

    /// Whether every dimension is positive and the number of values is at most
    /// `maximumElementCount`, computed without overflowing.
    public var isWithinLimit: Bool {
        let dimensions: [Int]
        switch self {
        case .featureMap(let height, let width, let channels): dimensions = [height, width, channels]
        case .vector(let length): dimensions = [length]
        }
        var count = 1
        for dimension in dimensions {
            guard dimension >= 1 else { return false }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= Self.maximumElementCount else { return false }
            count = product
        }
        return true
    }

    /// The number of values (for shapes within `maximumElementCount`, as inference gives).
    public var elementCount: Int {
        switch self {
        case .featureMap(let height, let width, let channels): return height * width * channels
        case .vector(let length): return length
        }
    }

    /// The channel count of a feature map, or the length of a vector.
    public var channels: Int {
        switch self {
        case .featureMap(_, _, let channels): return channels
        case .vector(let length): return length
        }
    }

    /// True for a feature map, false for a vector.
    public var isFeatureMap: Bool {
        if case .featureMap = self { return true }
        return false
    }

    /// The spatial size; a vector counts as 1×1.
    public var spatial: Size2D {
        switch self {
        case .featureMap(let height, let width, _): return Size2D(height: height, width: width)
        case .vector: return Size2D(square: 1)
        }
    }

    /// The dimensions in the order a framework using `format` writes them, without a batch axis.
    public func dimensions(in format: DataFormat) -> [Int] {
        switch self {
        case .featureMap(let height, let width, let channels):
            return format == .channelsLast ? [height, width, channels] : [channels, height, width]
        case .vector(let length):
            return [length]
        }
    }

    public var description: String {
        switch self {
        case .featureMap(let height, let width, let channels): return "\(height)×\(width)×\(channels)"
        case .vector(let length): return "\(length)"
        }
    }
}

/// Where the channel axis sits in the tensors a model takes and gives.
public enum DataFormat: String, Hashable, Sendable, Codable {
    /// (height, width, channels): TensorFlow and most Keras models.
    case channelsLast = "channels_last"
    /// (channels, height, width): Theano-era Keras and Caffe.
    case channelsFirst = "channels_first"
}

/// The order in which Flatten lays a feature map out as a vector.
public enum FlattenOrder: String, Hashable, Sendable, Codable {
    /// Row by row, all channels of a pixel together: channels_last Keras.
    case heightWidthChannels = "hwc"
    /// Channel by channel, each a row-major map: channels_first Keras and Caffe.
    case channelsHeightWidth = "chw"
}
