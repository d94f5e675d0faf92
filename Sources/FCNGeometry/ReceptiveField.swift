import FCNDiagnostics
import FCNModel

/// Where one layer's outputs sit in the input image along one axis.
///
/// Coordinates are in input pixels, pixel `i` centred at `i`. Composition follows the paper's
/// rule `f_ks ∘ g_k's' = (f∘g)_(k'+(k−1)s', ss')`: a layer with kernel `k` (dilation
/// included), stride `s` and padding `p` before, on top of geometry (r, j, x₀, P), gives
/// `r' = r + (k−1)·j`, `j' = j·s`, `P' = P + p·j` and `x₀' = x₀ + ((k−1)/2 − p)·j`.
public struct AxisGeometry: Hashable, Sendable {
    /// How many input pixels one output unit sees.
    public var receptiveField: Int
    /// The distance in input pixels between neighbouring output units (the effective stride).
    public var jump: Int
    /// The centre of the first output unit, in input pixels (may be a half-pixel or negative).
    public var start: Double
    /// How far the first unit's field reaches before pixel 0: the padding it has accumulated.
    public var padding: Int
    /// The number of output units along the axis.
    public var length: Int

    /// The geometry of the input itself: each pixel sees itself.
    public static func identity(length: Int) -> AxisGeometry {
        AxisGeometry(receptiveField: 1, jump: 1, start: 0, padding: 0, length: length)
    }

    /// The largest receptive field, jump or padding composition gives: 2^40 pixels. Settings
    /// from a hostile file (strides of 2^20 on many layers) would otherwise overflow `Int`.
    public static let maximumExtent = 1 << 40

    /// The geometry after applying `window` with `paddingBefore` cells of padding, or nil when
    /// the field, jump or padding would exceed `maximumExtent`.
    func composed(with window: AxisWindow, paddingBefore: Int, outputLength: Int) -> AxisGeometry? {
        let kernel = window.effectiveKernel
        func checked(_ base: Int, plus factor: Int, times multiplier: Int) -> Int? {
            let (product, overflow) = factor.multipliedReportingOverflow(by: multiplier)
            guard !overflow, product <= Self.maximumExtent, base <= Self.maximumExtent else { return nil }
            return base + product <= Self.maximumExtent ? base + product : nil
        }
        guard let field = checked(receptiveField, plus: kernel - 1, times: jump),
              let newJump = checked(0, plus: jump, times: window.stride),
              let newPadding = checked(padding, plus: paddingBefore, times: jump)
        else { return nil }
        return AxisGeometry(
            receptiveField: field,
            jump: newJump,
            start: start + (Double(kernel - 1) / 2 - Double(paddingBefore)) * Double(jump),
            padding: newPadding,
            length: outputLength)
    }

    /// The first and last input pixel seen by output unit `index`; may reach outside the image.
    public func span(of index: Int) -> ClosedRange<Int> {
        let first = index * jump - padding
        return first...(first + receptiveField - 1)
    }
}

/// A rectangle of input pixels, inclusive bounds; may reach outside the image into padding.
public struct PixelBox: Hashable, Sendable, CustomStringConvertible {
    public var rows: ClosedRange<Int>
    public var columns: ClosedRange<Int>

    public init(rows: ClosedRange<Int>, columns: ClosedRange<Int>) {
        self.rows = rows
        self.columns = columns
    }

    public var description: String { "rows \(rows.lowerBound)…\(rows.upperBound), columns \(columns.lowerBound)…\(columns.upperBound)" }
}

/// The geometry of one layer of the fully convolutional network at a given input size.
public struct LayerGeometry: Hashable, Sendable {
    /// The window the layer slides, in its own input's cells.
    public var window: SlidingWindow
    /// The padding the layer adds at this input size.
    public var padding: EdgePadding
    public var vertical: AxisGeometry
    public var horizontal: AxisGeometry

    /// The receptive field size (height × width) in input pixels.
    public var receptiveField: Size2D { Size2D(height: vertical.receptiveField, width: horizontal.receptiveField) }
    /// The effective stride in input pixels.
    public var jump: Size2D { Size2D(height: vertical.jump, width: horizontal.jump) }
    /// The output size (rows × columns of units).
    public var outputSize: Size2D { Size2D(height: vertical.length, width: horizontal.length) }
}

/// Why geometry could not be worked out for an input size.
public enum GeometryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The layer's window does not fit in what reaches it: the input is too small.
    case inputTooSmall(layer: String, input: Size2D, reaching: Size2D, window: Size2D)
    /// The layer is not a sliding window (the network has not been converted).
    case notSliding(layer: String, className: String)
    /// A merge's inputs sit at different places in the input: its cells would combine
    /// different crops. `starts` gives each input's name and first-cell centre (row, column);
    /// `alignedSizes` the nearest input sizes at which they align.
    case misalignedMerge(layer: String, input: Size2D, starts: [(String, Double, Double)], jumps: [Size2D], alignedSizes: [Size2D])
    /// The layer's receptive field, jump or padding exceeds `AxisGeometry.maximumExtent` pixels
    /// (settings no real network has).
    case fieldTooLarge(layer: String)

    public var description: String {
        switch self {
        case .inputTooSmall(let layer, let input, let reaching, let window):
            return "an input of \(input) is too small: layer \(QuotedName.quoted(layer)) receives \(reaching) but its window is \(window)"
        case .fieldTooLarge(let layer):
            return "layer \(QuotedName.quoted(layer)) would see more than \(AxisGeometry.maximumExtent) pixels (its strides, kernels or "
                + "padding are out of any sensible range)"
        case .notSliding(let layer, let className):
            return "layer \(QuotedName.quoted(layer)) (\(className)) is not a sliding window; convert the network first"
        case .misalignedMerge(let layer, let input, let starts, let jumps, let alignedSizes):
            let offsets = zip(starts, jumps).map { start, jump in
                "\(QuotedName.quoted(start.0)) starts at (\(start.1), \(start.2)) px with stride \(jump)"
            }.joined(separator: ", ")
            let sizes = alignedSizes.isEmpty ? "" : "; sizes that align: " + alignedSizes.map(\.description).joined(separator: ", ")
            return "at an input of \(input), merge layer \(QuotedName.quoted(layer)) combines inputs at different offsets (\(offsets))\(sizes)"
        }
    }

    public static func == (lhs: GeometryError, rhs: GeometryError) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// Receptive field, jump, start and padding of every layer of a fully convolutional network,
/// for one input size.
///
/// Along a path the paper's composition rule applies layer by layer; where paths merge, their
/// inputs must share jump and start (else the merge combines different crops and the network
/// is refused at that size), and the merge sees the largest receptive field among them.
public struct NetworkGeometry: Sendable {
    /// The input size the geometry is for.
    public let inputSize: Size2D
    /// One entry per layer, in the network's order.
    public let layers: [LayerGeometry]

    /// Works out the geometry of `network`, a fully convolutional network, for an input of
    /// `inputSize` (default: the size the network was built for).
    ///
    /// - Throws: `GeometryError` when some window does not fit, a layer is not a window, or a
    ///   merge's inputs are not aligned.
    public init(network: Network, inputSize: Size2D? = nil) throws(GeometryError) {
        let size = inputSize ?? network.inputShape.spatial
        self.inputSize = size
        layers = try Self.layers(of: network, inputSize: size, searchAlignedSizes: true)
    }

    private static func layers(of network: Network, inputSize size: Size2D, searchAlignedSizes: Bool) throws(GeometryError) -> [LayerGeometry] {
        let identity = (AxisGeometry.identity(length: size.height), AxisGeometry.identity(length: size.width))
        var layers: [LayerGeometry] = []
        for (index, layer) in network.layers.enumerated() {
            guard let window = layer.slidingWindow else { throw .notSliding(layer: layer.name, className: layer.sourceClass) }
            let received = network.sources[index].map { source -> (vertical: AxisGeometry, horizontal: AxisGeometry) in
                switch source {
                case .input: return identity
                case .layer(let producer): return (layers[producer].vertical, layers[producer].horizontal)
                }
            }
            var (vertical, horizontal) = received[0]
            if received.count > 1 {
                let aligned = received.allSatisfy { $0.vertical.isAligned(with: vertical) && $0.horizontal.isAligned(with: horizontal) }
                guard aligned else {
                    let names = layer.inputs
                    throw .misalignedMerge(
                        layer: layer.name, input: size,
                        starts: zip(names, received).map { ($0, $1.vertical.start, $1.horizontal.start) },
                        jumps: received.map { Size2D(height: $0.vertical.jump, width: $0.horizontal.jump) },
                        alignedSizes: searchAlignedSizes ? alignedSizes(of: network, near: size) : [])
                }
                vertical = received.map(\.vertical).max { $0.receptiveField < $1.receptiveField }!
                horizontal = received.map(\.horizontal).max { $0.receptiveField < $1.receptiveField }!
                vertical.padding = received.map(\.vertical.padding).max()!
                horizontal.padding = received.map(\.horizontal.padding).max()!
            }
            let reaching = Size2D(height: vertical.length, width: horizontal.length)
            guard let output = window.outputSize(input: reaching) else {
                throw .inputTooSmall(layer: layer.name, input: size, reaching: reaching, window: window.kernel)
            }
            let padding = window.edgePadding(input: reaching)
            guard let composedVertical = vertical.composed(with: window.vertical, paddingBefore: padding.top, outputLength: output.height),
                  let composedHorizontal = horizontal.composed(with: window.horizontal, paddingBefore: padding.left, outputLength: output.width)
            else { throw .fieldTooLarge(layer: layer.name) }
            vertical = composedVertical
            horizontal = composedHorizontal
            layers.append(LayerGeometry(window: window, padding: padding, vertical: vertical, horizontal: horizontal))
        }
        return layers
    }

    /// Up to four input sizes near `size` at which every merge of `network` is aligned, nearest first.
    static func alignedSizes(of network: Network, near size: Size2D) -> [Size2D] {
        var found: [Size2D] = []
        for distance in 1...32 {
            for (dy, dx) in [(0, distance), (distance, 0), (distance, distance), (-distance, -distance), (0, -distance), (-distance, 0)] {
                let candidate = Size2D(height: size.height + dy, width: size.width + dx)
                guard candidate.height > 0, candidate.width > 0, !found.contains(candidate),
                      (try? layers(of: network, inputSize: candidate, searchAlignedSizes: false)) != nil else { continue }
                found.append(candidate)
                if found.count == 4 { return found }
            }
        }
        return found
    }

    /// The output grid of the whole network (rows × columns of class-score cells).
    public var outputGrid: Size2D { layers.last?.outputSize ?? inputSize }

    /// The geometry of the network's output.
    public var output: LayerGeometry? { layers.last }

    /// The input pixels behind output cell (`row`, `column`) of the network.
    public func box(row: Int, column: Int) -> PixelBox? {
        guard let last = layers.last else { return nil }
        return PixelBox(rows: last.vertical.span(of: row), columns: last.horizontal.span(of: column))
    }

    /// True when no layer pads at this input size: every cell then sees only real pixels,
    /// and equals the classifier run on the crop behind it.
    public var neverPads: Bool { layers.allSatisfy { $0.padding.isZero } }
}

extension AxisGeometry {
    /// Whether two values' cells sit at the same places: same jump and start.
    func isAligned(with other: AxisGeometry) -> Bool { jump == other.jump && start == other.start && length == other.length }
}
