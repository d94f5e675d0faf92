import FCNModel

/// How a tensor file's shape maps onto a network's input: batch or not, and the spatial size.
///
/// channels_last models take (H, W, C) or (N, H, W, C); channels_first and Caffe models take
/// (C, H, W) or (N, C, H, W); models declared without a channel axis (Keras on 28×28 inputs)
/// take (H, W) or (N, H, W). A one-channel model also takes (H, W), NumPy's shape of a gray
/// image (`addedChannelAxis`).
struct TensorLayout {
    let batch: Int
    let hasBatchAxis: Bool
    let size: Size2D
    let addedChannelAxis: Bool

    init(inputShape shape: [Int], network: Network) throws(ExecutionError) {
        let channels = network.inputShape.channels
        let format = network.dataFormat
        let expected = format == .channelsLast ? "(H, W, \(channels)) or (N, H, W, \(channels))"
                                               : "(\(channels), H, W) or (N, \(channels), H, W)"
        func fail() -> ExecutionError { .inputShape(found: shape, expected: expected) }
        guard case .featureMap = network.inputShape else {
            let length = network.inputShape.elementCount
            guard shape.last == length, (1...2).contains(shape.count) else {
                throw .inputShape(found: shape, expected: "(\(length)) or (N, \(length))")
            }
            (batch, hasBatchAxis, size, addedChannelAxis) = (shape.count == 2 ? shape[0] : 1, shape.count == 2, Size2D(square: 1), false)
            return
        }
        var dimensions = shape
        if network.isSequence {
            // (length, channels) or (N, length, channels): a 1 × length map.
            guard (2...3).contains(dimensions.count) else {
                throw .inputShape(found: shape, expected: format == .channelsLast ? "(L, \(channels)) or (N, L, \(channels))"
                                                                                  : "(\(channels), L) or (N, \(channels), L)")
            }
            dimensions.insert(1, at: dimensions.count - (format == .channelsLast ? 2 : 1))
        } else if !network.inputHasChannelAxis {
            // Declared without a channel axis: (H, W) or (N, H, W).
            guard (2...3).contains(dimensions.count) else {
                throw .inputShape(found: shape, expected: "(H, W) or (N, H, W)")
            }
            dimensions.append(1)
        }
        addedChannelAxis = !network.isSequence && network.inputHasChannelAxis && channels == 1 && dimensions.count == 2
        if addedChannelAxis { dimensions.insert(1, at: format == .channelsLast ? 2 : 0) }
        guard dimensions.count == 3 || dimensions.count == 4 else { throw fail() }
        hasBatchAxis = dimensions.count == 4
        batch = hasBatchAxis ? dimensions[0] : 1
        let sample = Array(dimensions.suffix(3))
        let (height, width, found) = format == .channelsLast ? (sample[0], sample[1], sample[2]) : (sample[1], sample[2], sample[0])
        guard found == channels, height > 0, width > 0, batch > 0 else { throw fail() }
        size = Size2D(height: height, width: width)
    }

    /// The shape of the result for `output`, in `format`, with a batch axis when the input had one.
    func outputShape(_ output: ActivationShape, format: DataFormat, isSequence: Bool = false) -> [Int] {
        var dimensions = output.dimensions(in: format)
        if isSequence, output.isFeatureMap { dimensions.remove(at: format == .channelsLast ? 0 : 1) }
        return hasBatchAxis ? [batch] + dimensions : dimensions
    }
}
