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

    /// The geometry after applying `window` with `paddingBefore` cells of padding.
    func composed(with window: AxisWindow, paddingBefore: Int, outputLength: Int) -> AxisGeometry {
        let kernel = window.effectiveKernel
        return AxisGeometry(
            receptiveField: receptiveField + (kernel - 1) * jump,
            jump: jump * window.stride,
            start: start + (Double(kernel - 1) / 2 - Double(paddingBefore)) * Double(jump),
            padding: padding + paddingBefore * jump,
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

    public var description: String {
        switch self {
        case .inputTooSmall(let layer, let input, let reaching, let window):
            return "an input of \(input) is too small: layer '\(layer)' receives \(reaching) but its window is \(window)"
        }
    }
}

/// Receptive field, jump, start and padding of every layer of a network's fully
/// convolutional form, for one input size.
public struct NetworkGeometry: Sendable {
    /// The input size the geometry is for.
    public let inputSize: Size2D
    /// One entry per layer that can be convolutionalized, in order, stopping at the first
    /// that cannot.
    public let layers: [LayerGeometry]
    /// Whether every layer of the network is covered (it converts in full).
    public let isComplete: Bool

    /// Works out the geometry of `network` for an input of `inputSize` (default: the size the
    /// network was built for).
    ///
    /// - Throws: `GeometryError.inputTooSmall` when some window does not fit.
    public init(network: Network, inputSize: Size2D? = nil) throws(GeometryError) {
        let size = inputSize ?? network.inputShape.spatial
        self.inputSize = size
        var vertical = AxisGeometry.identity(length: size.height)
        var horizontal = AxisGeometry.identity(length: size.width)
        var layers: [LayerGeometry] = []
        let roles = network.convolutionalization()
        for (layer, role) in zip(network.layers, roles) {
            guard let window = role.window else { break }
            let reaching = Size2D(height: vertical.length, width: horizontal.length)
            guard let output = window.outputSize(input: reaching) else {
                throw .inputTooSmall(layer: layer.name, input: size, reaching: reaching, window: window.kernel)
            }
            let padding = window.edgePadding(input: reaching)
            vertical = vertical.composed(with: window.vertical, paddingBefore: padding.top, outputLength: output.height)
            horizontal = horizontal.composed(with: window.horizontal, paddingBefore: padding.left, outputLength: output.width)
            layers.append(LayerGeometry(window: window, padding: padding, vertical: vertical, horizontal: horizontal))
        }
        self.layers = layers
        self.isComplete = layers.count == network.layers.count
    }

    /// The output grid of the whole network (rows × columns of class-score cells), or nil
    /// when the network does not convert in full.
    public var outputGrid: Size2D? { isComplete ? layers.last?.outputSize ?? inputSize : nil }

    /// The input pixels behind output cell (`row`, `column`) of the last covered layer.
    public func box(row: Int, column: Int) -> PixelBox? {
        guard let last = layers.last else { return nil }
        return PixelBox(rows: last.vertical.span(of: row), columns: last.horizontal.span(of: column))
    }

    /// True when no layer pads at this input size: every cell then sees only real pixels,
    /// and equals the classifier run on the crop behind it.
    public var neverPads: Bool { layers.allSatisfy { $0.padding.isZero } }
}
