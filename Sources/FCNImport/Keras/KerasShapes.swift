import FCNModel

/// Shape conventions of Keras configs, and the limits FCNKit puts on sizes.
enum KerasShapes {
    /// The largest size FCNKit accepts for any one dimension in a config.
    static let maximumDimension = 1 << 20
    /// The largest number of values FCNKit accepts in one tensor (8 GiB of float32).
    static let maximumElements = 1 << 31

    /// Throws unless `value` is a sensible size: positive and at most `maximumDimension`.
    static func checkSize(_ value: Int, what: String) throws(ImportError) {
        guard value >= 1, value <= maximumDimension else {
            throw .absurdShape(what: what, value: "\(value)", limit: "1 to \(maximumDimension)")
        }
    }

    /// The data format a layer config states (`data_format` or Keras 1's `dim_ordering`), if any.
    static func dataFormat(of config: ConfigValue) -> DataFormat? {
        switch config["data_format"]?.string ?? config["dim_ordering"]?.string {
        case "channels_first", "th": return .channelsFirst
        case "channels_last", "tf": return .channelsLast
        default: return nil
        }
    }

    /// An FCNKit shape from Keras dimensions (no batch axis) in `format`.
    ///
    /// Rank 1 is a vector; rank 2 is a one-channel map (as MNIST models take 28×28); rank 3 is
    /// (height, width, channels) or (channels, height, width).
    static func activationShape(_ dimensions: [Int], format: DataFormat, what: String) throws(ImportError) -> ActivationShape {
        for dimension in dimensions { try checkSize(dimension, what: what) }
        let total = dimensions.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
        guard total <= maximumElements else {
            throw .absurdShape(what: what, value: dimensions.map(String.init).joined(separator: "×"),
                               limit: "at most \(maximumElements) values")
        }
        switch dimensions.count {
        case 1:
            return .vector(length: dimensions[0])
        case 2:
            return .featureMap(height: dimensions[0], width: dimensions[1], channels: 1)
        case 3:
            return format == .channelsLast
                ? .featureMap(height: dimensions[0], width: dimensions[1], channels: dimensions[2])
                : .featureMap(height: dimensions[1], width: dimensions[2], channels: dimensions[0])
        default:
            throw .absurdShape(what: what, value: "rank \(dimensions.count)", limit: "rank 1 to 3 without the batch axis")
        }
    }
}
