import FCNGeometry
import FCNModel

/// A fully convolutional network rewritten by filter rarefaction (Long, Shelhamer & Darrell,
/// §3.2; "à trous"): the strided layers nearest the output run at a smaller stride, and every
/// window after them is dilated by the stride taken away below it, so one pass gives the dense
/// grid of `DenseGrid` (possibly with a few more cells at the bottom and right, which
/// `croppedSize` drops).
public struct RarefiedNetwork: Sendable {
    /// The rewritten network; its declared input is the size it was made for.
    public let network: Network
    public let grid: DenseGrid
    /// Per layer, in the network's order: what its stride was divided by (1: unchanged).
    public let strideFactors: [Size2D]
    /// Per layer: what its window's dilation and padding were multiplied by, the product of
    /// the stride factors of the layers before it.
    public let dilationFactors: [Size2D]
    /// The rewritten network's output grid, at least `grid.size`.
    public let outputSize: Size2D

    /// The layers whose stride was reduced, in the network's order.
    public var rarefiedLayers: [String] {
        zip(network.layers, strideFactors).filter { $0.1 != Size2D(square: 1) }.map(\.0.name)
    }
}

/// Filter rarefaction: chooses from the geometry which strided layers to rarefy and rewrites them.
public enum Rarefaction {
    /// Rewrites `network` (fully convolutional) to give its density-`density` grid on an input
    /// of `inputSize` in one pass.
    ///
    /// Walking from the output towards the input, each strided layer gives up as much of the
    /// remaining factor F as its stride holds (`gcd(stride, remaining)`), until F is used up; the
    /// layers after it are dilated by the product of the factors removed before them, so
    /// dilations compose through later strided layers. Every rewritten window keeps the padding
    /// before it (scaled by its dilation factor; TensorFlow's `same` becomes the amounts it has
    /// on the whole input) and rounds down, with padding after chosen so that it gives as many
    /// cells as its F phases (the shifted runs of `DenseGrid`) give together. For networks that
    /// never pad, its cells equal shift-and-stitch's exactly; where a layer pads, cells whose
    /// receptive field reaches past the image may differ (the shifted runs pad each phase, the
    /// rarefied network pads the interlaced map).
    ///
    /// - Throws: `DensityError` from `DenseGrid`, or `.notRarefiable` when branches of a graph
    ///   would need different factors or the rewritten shapes do not fit.
    public static func rarefy(_ network: Network, density: Density, inputSize: Size2D) throws(DensityError) -> RarefiedNetwork {
        let grid = try DenseGrid(network: network, inputSize: inputSize, density: density)
        let base = grid.base
        let layers = network.layers
        // remaining[v]: the part of F that the layers before value v still take (v = 0 the input,
        // i + 1 the output of layer i); it is also the number of phases value v interlaces.
        var remaining = [Size2D?](repeating: nil, count: layers.count + 1)
        remaining[layers.count] = Size2D(height: density.rows, width: density.columns)
        var strideFactors = [Size2D](repeating: Size2D(square: 1), count: layers.count)
        var dilationFactors = strideFactors
        for index in layers.indices.reversed() {
            let out = remaining[index + 1] ?? Size2D(square: 1)
            let stride = base.layers[index].window.stride
            let taken = Size2D(height: gcd(stride.height, out.height), width: gcd(stride.width, out.width))
            let before = Size2D(height: out.height / taken.height, width: out.width / taken.width)
            strideFactors[index] = taken
            dilationFactors[index] = before
            for source in network.sources[index] {
                if let known = remaining[slot(source)], known != before {
                    throw .notRarefiable(layer: layers[index].name,
                                         reason: "its input is read by branches that would need dilations \(known) and \(before)")
                }
                remaining[slot(source)] = before
            }
        }
        guard remaining[0] ?? Size2D(square: 1) == Size2D(square: 1) else {
            throw .notRarefiable(layer: layers[0].name, reason: "the strides before it cannot take the whole density")
        }

        // The geometry of the original network with its first rows or columns removed, by amount.
        var shifted: [Size2D: NetworkGeometry] = [Size2D(square: 0): base]
        func geometry(removed: Size2D) throws(DensityError) -> NetworkGeometry {
            if let known = shifted[removed] { return known }
            let size = Size2D(height: inputSize.height - removed.height, width: inputSize.width - removed.width)
            do {
                let made = try NetworkGeometry(network: network, inputSize: size)
                shifted[removed] = made
                return made
            } catch {
                throw .geometry(error, removed: removed)
            }
        }
        /// How many cells the phases of layer `index`'s output give together along one axis.
        func target(_ index: Int, vertical: Bool) throws(DensityError) -> Int {
            let phases = vertical ? remaining[index + 1]!.height : remaining[index + 1]!.width
            let jump = vertical ? base.layers[index].vertical.jump : base.layers[index].horizontal.jump
            var total = 0
            for phase in 0..<phases {
                let removed = phase * jump / phases
                let layer = try geometry(removed: vertical ? Size2D(height: removed, width: 0) : Size2D(height: 0, width: removed)).layers[index]
                total += vertical ? layer.vertical.length : layer.horizontal.length
            }
            return total
        }

        var lengths = [Size2D](repeating: inputSize, count: layers.count + 1)  // of each value in the rewritten network
        var rewritten: [Layer] = []
        for (index, var layer) in layers.enumerated() {
            let received = lengths[slot(network.sources[index][0])]
            let window = base.layers[index].window
            let (taken, dilation) = (strideFactors[index], dilationFactors[index])
            let isPointwise = window.kernel == Size2D(square: 1) && window.stride == Size2D(square: 1) && base.layers[index].padding.isZero
            guard !isPointwise, taken != Size2D(square: 1) || dilation != Size2D(square: 1) else {
                lengths[index + 1] = window.outputSize(input: received) ?? received
                rewritten.append(layer)
                continue
            }
            let padding = base.layers[index].padding
            /// The rewritten window along one axis and its padding before and after.
            func axis(_ old: AxisWindow, taken: Int, dilation: Int, before: Int, length: Int, target: Int) -> (AxisWindow, Int, Int) {
                let window = AxisWindow(kernel: old.kernel, stride: old.stride / taken, dilation: old.dilation * dilation)
                let before = before * dilation
                let after = max(0, (target - 1) * window.stride + window.effectiveKernel - length - before)
                return (window, before, after)
            }
            let (vertical, top, bottom) = axis(window.vertical, taken: taken.height, dilation: dilation.height, before: padding.top,
                                               length: received.height, target: try target(index, vertical: true))
            let (horizontal, left, right) = axis(window.horizontal, taken: taken.width, dilation: dilation.width, before: padding.left,
                                                 length: received.width, target: try target(index, vertical: false))
            let edges = EdgePadding(top: top, bottom: bottom, left: left, right: right)
            let strides = Size2D(height: vertical.stride, width: horizontal.stride)
            let dilations = Size2D(height: vertical.dilation, width: horizontal.dilation)
            switch layer.operation {
            case .convolution(var convolution):
                (convolution.strides, convolution.dilation, convolution.padding) = (strides, dilations, .explicit(edges))
                layer.operation = .convolution(convolution)
            case .pooling(var pooling):
                (pooling.strides, pooling.dilation, pooling.padding, pooling.rounding) = (strides, dilations, .explicit(edges), .floor)
                layer.operation = .pooling(pooling)
            case .zeroPadding:
                layer.operation = .zeroPadding(edges)
            case .activation, .batchNormalization, .dropout, .layerNormalization, .channelAffine, .parametricReLU,
                 .localResponseNormalization, .merge, .concatenate, .dense, .flatten, .globalPooling, .reshape, .resize:
                throw .notRarefiable(layer: layer.name, reason: "it is not a convolution, pooling or padding but has a window of \(window.kernel)")
            }
            let rewrittenWindow = SlidingWindow(vertical: vertical, horizontal: horizontal, padding: .explicit(edges))
            guard let output = rewrittenWindow.outputSize(input: received) else {
                throw .notRarefiable(layer: layer.name, reason: "its dilated window does not fit the \(received) it receives")
            }
            lengths[index + 1] = output
            rewritten.append(layer)
        }
        let result = Network(name: network.name, inputShape: network.inputShape(resizedTo: inputSize), dataFormat: network.dataFormat,
                             layers: rewritten, inputHasChannelAxis: network.inputHasChannelAxis, isSequence: network.isSequence,
                             inputName: network.inputName)
        let output: ActivationShape
        do { output = try result.outputShape() } catch {
            throw .notRarefiable(layer: error.layer, reason: error.reason)
        }
        guard output.spatial.height >= grid.size.height, output.spatial.width >= grid.size.width else {
            throw .notRarefiable(layer: layers[layers.count - 1].name,
                                 reason: "the rewritten network gives \(output.spatial) cells where the dense grid has \(grid.size)")
        }
        return RarefiedNetwork(network: result, grid: grid, strideFactors: strideFactors, dilationFactors: dilationFactors,
                               outputSize: output.spatial)
    }

    /// The index of a value among the input (0) and the layers' outputs (1…).
    private static func slot(_ source: ValueSource) -> Int {
        switch source {
        case .input: return 0
        case .layer(let index): return index + 1
        }
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
