import FCNDiagnostics
import FCNModel

/// How many output cells a dense map has per cell of the network's own grid, along each axis
/// (the paper's §3.2: the output stride becomes jump / F).
public struct Density: Hashable, Sendable, CustomStringConvertible {
    /// F along the rows and along the columns.
    public var rows: Int
    public var columns: Int

    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    public init(square factor: Int) { self.init(rows: factor, columns: factor) }

    /// The network's own grid.
    public static let single = Density(square: 1)

    /// Parses `F` or `FhxFw` (also `Fh×Fw`, `Fh,Fw`), each between 1 and 1024.
    public init?(text: String) {
        guard let size = Size2D(text: text), (1...1024).contains(size.height), (1...1024).contains(size.width) else { return nil }
        self.init(rows: size.height, columns: size.width)
    }

    public var isSingle: Bool { rows == 1 && columns == 1 }

    public var description: String { rows == columns ? "\(rows)" : "\(rows)x\(columns)" }
}

/// Why a dense map cannot be made.
public enum DensityError: Error, Hashable, Sendable, CustomStringConvertible {
    /// F does not divide the network's jump along an axis; `divisors` are the values that do.
    case notDividing(axis: String, factor: Int, jump: Int, divisors: [Int])
    /// The network is not fully convolutional, or its geometry fails at one of the sizes the
    /// dense map needs (the input itself, or it with its first rows or columns removed).
    case geometry(GeometryError, removed: Size2D)
    /// The network, on the input with its first `removed` pixels taken away, gives a grid that
    /// does not continue the grid of the whole input (its length jumps by more than one cell).
    case irregularGrid(axis: String, lengths: [Int])
    /// A class activation map (global pooling dropped) has no exact dense form to check.
    case classActivationMap
    /// Filter rarefaction cannot rewrite the network (a branch that would need different factors).
    case notRarefiable(layer: String, reason: String)
    /// The input has a shape the dense map cannot take (a vector, or the wrong channels).
    case input(String)
    /// Shift-and-stitch, the reference, gives no regular grid at this size: TensorFlow's `same`
    /// padding of a strided layer pads differently on a shifted input, which moves its cells.
    case shiftedRunMoves(axis: String, removed: Int, start: Double, expected: Double)

    public var description: String {
        switch self {
        case .notDividing(let axis, let factor, let jump, let divisors):
            return "density \(factor) does not divide the network's stride of \(jump) px along the \(axis); "
                + "densities that do: \(divisors.map(String.init).joined(separator: ", "))"
        case .geometry(let error, let removed):
            guard removed != Size2D(square: 0) else { return "\(error)" }
            return "with its first \(removed.height) rows and \(removed.width) columns removed, \(error)"
        case .irregularGrid(let axis, let lengths):
            return "the shifted runs give grids of \(lengths.map(String.init).joined(separator: ", ")) cells along the \(axis), "
                + "which do not interlace into one grid; choose another input size"
        case .classActivationMap:
            return "--density is not available with --gap cam: a class activation map drops the pooling, so it has no exact dense form; "
                + "use --gap window"
        case .notRarefiable(let layer, let reason):
            return "filter rarefaction cannot rewrite layer \(QuotedName.quoted(layer)): \(reason)"
        case .input(let reason):
            return reason
        case .shiftedRunMoves(let axis, let removed, let start, let expected):
            return "shift-and-stitch gives no regular grid at this size: with \(removed) px removed along the \(axis), the first cell "
                + "sits at \(start) px instead of \(expected) px (a strided layer with 'same' padding pads that input differently, "
                + "which moves its cells); the rarefied grid (fcn run, heatmap) is still regular"
        }
    }
}

/// The dense output grid of a fully convolutional network at density F, for one input size.
///
/// **Definition.** With `s = jump / F` per axis, dense cell `(F·i + a, F·j + b)` (0 ≤ a < Fh,
/// 0 ≤ b < Fw) is cell `(i, j)` of the network run on the input with its first `a·s` rows and
/// `b·s` columns removed. If `n_a` is the number of rows the network gives on the input with
/// `a·s` rows removed, the dense grid has `n_0 + n_1 + … + n_(F−1)` rows (and likewise columns);
/// the `n_a` never grow with `a` and differ by at most one, so the interlaced rows fill
/// `0 ..< Σ n_a` without gaps. Dense cells are `s` px apart and start where the network's own
/// grid starts, with the same receptive field. For networks that never pad this is the
/// classifier on the crop at `(row, column) · s`; then `Σ n_a = ⌊(L − field) / s⌋ + 1`.
public struct DenseGrid: Sendable {
    public let density: Density
    public let inputSize: Size2D
    /// The network's geometry on the whole input (density 1).
    public let base: NetworkGeometry
    /// The dense grid along each axis: stride jump / F, the base grid's start, field and padding.
    public let vertical: AxisGeometry
    public let horizontal: AxisGeometry
    /// `n_a` and `n_b`: the grid lengths of the runs with a·s rows, b·s columns removed.
    public let rowLengths: [Int]
    public let columnLengths: [Int]
    /// The first cell's centre in each shifted run, in the whole input's pixels: `a·s` after the
    /// base grid's start for every shift `a`, except where `same` padding moves a run.
    public let rowStarts: [Double]
    public let columnStarts: [Double]

    /// The dense grid of `network` (fully convolutional) on an input of `inputSize`.
    ///
    /// - Throws: `DensityError.notDividing` when F does not divide the jump along an axis,
    ///   `.geometry` when the network is not fully convolutional or does not fit a shifted input,
    ///   `.irregularGrid` when the shifted runs do not interlace.
    public init(network: Network, inputSize: Size2D, density: Density) throws(DensityError) {
        let base = try Self.checked(network: network, inputSize: inputSize, density: density)
        let last = base.output!
        self.density = density
        self.inputSize = inputSize
        self.base = base
        let step = Size2D(height: last.vertical.jump / density.rows, width: last.horizontal.jump / density.columns)
        var (rowLengths, rowStarts, columnLengths, columnStarts) = ([Int](), [Double](), [Int](), [Double]())
        for shift in 0..<max(density.rows, density.columns) {
            let removed = Size2D(height: shift < density.rows ? shift * step.height : 0, width: shift < density.columns ? shift * step.width : 0)
            let size = Size2D(height: inputSize.height - removed.height, width: inputSize.width - removed.width)
            guard size.height > 0, size.width > 0 else {
                throw .geometry(.inputTooSmall(layer: network.layers[0].name, input: size, reaching: size, window: last.receptiveField),
                                removed: removed)
            }
            let shifted: LayerGeometry
            do { shifted = try NetworkGeometry(network: network, inputSize: size).output! } catch {
                throw .geometry(error, removed: removed)
            }
            if shift < density.rows {
                rowLengths.append(shifted.vertical.length)
                rowStarts.append(shifted.vertical.start + Double(removed.height))
            }
            if shift < density.columns {
                columnLengths.append(shifted.horizontal.length)
                columnStarts.append(shifted.horizontal.start + Double(removed.width))
            }
        }
        for (axis, lengths) in [("rows", rowLengths), ("columns", columnLengths)] {
            let ordered = zip(lengths, lengths.dropFirst()).allSatisfy { $0 >= $1 }
            guard ordered, lengths[0] - lengths[lengths.count - 1] <= 1 else { throw .irregularGrid(axis: axis, lengths: lengths) }
        }
        (self.rowLengths, self.rowStarts, self.columnLengths, self.columnStarts) = (rowLengths, rowStarts, columnLengths, columnStarts)
        func dense(_ axis: AxisGeometry, step: Int, length: Int) -> AxisGeometry {
            AxisGeometry(receptiveField: axis.receptiveField, jump: step, start: axis.start, padding: axis.padding, length: length)
        }
        vertical = dense(last.vertical, step: step.height, length: rowLengths.reduce(0, +))
        horizontal = dense(last.horizontal, step: step.width, length: columnLengths.reduce(0, +))
    }

    /// Checks that `network` can give a dense map at `density` at all: it is fully
    /// convolutional, takes feature maps, and F divides its jump along each axis (checked at the
    /// size it was built for).
    public static func check(network: Network, density: Density) throws(DensityError) {
        _ = try checked(network: network, inputSize: network.inputShape.spatial, density: density)
    }

    /// The network's geometry on `inputSize`, once the density is known to fit it.
    private static func checked(network: Network, inputSize: Size2D, density: Density) throws(DensityError) -> NetworkGeometry {
        guard density.rows >= 1, density.columns >= 1 else { throw .input("a density must be at least 1 along each axis") }
        guard network.inputShape.isFeatureMap, !network.layers.isEmpty else {
            throw .input("a dense map needs a network over images or sequences with at least one layer")
        }
        let base: NetworkGeometry
        do { base = try NetworkGeometry(network: network, inputSize: inputSize) } catch {
            throw .geometry(error, removed: Size2D(square: 0))
        }
        let last = base.output!
        for (axis, factor, jump) in [("rows", density.rows, last.vertical.jump), ("columns", density.columns, last.horizontal.jump)]
        where jump % factor != 0 {
            throw .notDividing(axis: axis, factor: factor, jump: jump, divisors: (1...jump).filter { jump % $0 == 0 })
        }
        return base
    }

    /// Rows × columns of the dense grid.
    public var size: Size2D { Size2D(height: vertical.length, width: horizontal.length) }
    /// The distance between neighbouring dense cells in input pixels: jump / F.
    public var stride: Size2D { Size2D(height: vertical.jump, width: horizontal.jump) }
    /// The receptive field of every cell, as at density 1.
    public var receptiveField: Size2D { Size2D(height: vertical.receptiveField, width: horizontal.receptiveField) }

    /// The pixels removed from the top and left for the shifted run that gives dense rows
    /// `a, a + F, …` and columns `b, b + F, …`.
    public func removed(a: Int, b: Int) -> Size2D { Size2D(height: a * stride.height, width: b * stride.width) }

    /// The input pixels behind dense cell (`row`, `column`); may reach outside the image.
    public func box(row: Int, column: Int) -> PixelBox {
        PixelBox(rows: vertical.span(of: row), columns: horizontal.span(of: column))
    }

    /// Whether dense cell (`row`, `column`) sees no padding in shift-and-stitch's run for it: its
    /// box lies inside that run's input, the image without its first `a·s` rows and `b·s`
    /// columns (`a = row mod Fh`, `b = column mod Fw`). Such a cell sees real pixels in every
    /// layer of both methods, so the rarefied network and shift-and-stitch agree on it exactly.
    /// Elsewhere the run pads with zeros where the rarefied network (which pads only around the
    /// whole image) sees image: in the first rows and columns of every phase, and at the edges.
    public func isInterior(row: Int, column: Int) -> Bool {
        let box = box(row: row, column: column)
        let removed = removed(a: row % density.rows, b: column % density.columns)
        return box.rows.lowerBound >= removed.height && box.columns.lowerBound >= removed.width
            && box.rows.upperBound < inputSize.height && box.columns.upperBound < inputSize.width
    }

    /// The first shift whose run does not start where dense row (column) `a` should, `a·s` after
    /// the base grid's start, if any: there shift-and-stitch gives no regular grid.
    public var movedShift: DensityError? {
        for (axis, starts, step) in [("rows", rowStarts, stride.height), ("columns", columnStarts, stride.width)] {
            for (shift, start) in starts.enumerated() where start != starts[0] + Double(shift * step) {
                return .shiftedRunMoves(axis: axis, removed: shift * step, start: start, expected: starts[0] + Double(shift * step))
            }
        }
        return nil
    }
}
