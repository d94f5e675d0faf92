/// How a layer pads its input on each side.
public enum PaddingMode: Hashable, Sendable, Codable {
    /// No padding: windows stay inside the input.
    case valid
    /// TensorFlow's `same`: the output has `ceil(input / stride)` cells and the total
    /// padding this needs is split with the smaller half before (top/left), the larger after.
    case same
    /// Fixed amounts, as Caffe's `pad` and Keras's ZeroPadding2D give them.
    case explicit(EdgePadding)
}

/// Padding amounts on the four sides of a feature map.
public struct EdgePadding: Hashable, Sendable, Codable {
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    /// The same amount on every side.
    public init(uniform amount: Int) { self.init(top: amount, bottom: amount, left: amount, right: amount) }

    /// True when no side is padded.
    public var isZero: Bool { top == 0 && bottom == 0 && left == 0 && right == 0 }
}

/// How a window count that does not divide evenly is rounded.
///
/// Both ceil rules keep a last window that hangs over the end; they differ in which of those
/// they drop again: `ceilCaffe` only on a padded axis, `ceilPyTorch` on every axis. With a
/// kernel smaller than the stride and no padding, Caffe keeps a last window that starts past the
/// input (and sees only the edge), PyTorch and ONNX Runtime drop it.
public enum OutputRounding: String, Hashable, Sendable, Codable {
    /// Drop a last, partial window: Keras and TensorFlow.
    case floor
    /// Caffe's pooling: round up, then drop a last window that would start in the trailing
    /// padding, when the axis is padded.
    case ceilCaffe
    /// PyTorch's `ceil_mode` and ONNX's (as ONNX Runtime computes it): round up, then drop a
    /// last window that would start at or after the end of the input plus its leading padding.
    case ceilPyTorch
}

/// The arithmetic of a sliding window along one axis: where it pads and how many
/// outputs it makes. Shared by shape inference, geometry and the runtime.
public struct AxisWindow: Hashable, Sendable, Codable {
    public var kernel: Int
    public var stride: Int
    public var dilation: Int
    public var rounding: OutputRounding

    public init(kernel: Int, stride: Int, dilation: Int = 1, rounding: OutputRounding = .floor) {
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.rounding = rounding
    }

    /// The span of the kernel in input cells once dilated: `(kernel − 1) · dilation + 1`.
    public var effectiveKernel: Int { (kernel - 1) * dilation + 1 }

    /// The padding before and after for an input of `length` cells.
    ///
    /// - Parameter mode: `.valid`, `.same` or explicit amounts; for explicit amounts the
    ///   caller passes the two sides of this axis.
    public func padding(inputLength length: Int, mode: AxisPaddingMode) -> (before: Int, after: Int) {
        switch mode {
        case .valid:
            return (0, 0)
        case .same:
            let outputs = (length + stride - 1) / stride
            let total = max((outputs - 1) * stride + effectiveKernel - length, 0)
            return (total / 2, total - total / 2)
        case .explicit(let before, let after):
            return (before, after)
        }
    }

    /// The number of outputs for an input of `length` cells, or nil when the window does
    /// not fit even once.
    public func outputLength(inputLength length: Int, mode: AxisPaddingMode) -> Int? {
        let (before, after) = padding(inputLength: length, mode: mode)
        let span = length + before + after - effectiveKernel
        guard span >= 0, length > 0 else { return nil }
        switch rounding {
        case .floor:
            return span / stride + 1
        case .ceilCaffe:
            let count = (span + stride - 1) / stride + 1
            return before > 0 && (count - 1) * stride >= length + before ? count - 1 : count
        case .ceilPyTorch:
            let count = (span + stride - 1) / stride + 1
            return (count - 1) * stride >= length + before ? count - 1 : count
        }
    }
}

/// `PaddingMode` seen along one axis.
public enum AxisPaddingMode: Hashable, Sendable, Codable {
    case valid
    case same
    case explicit(before: Int, after: Int)
}

extension PaddingMode {
    /// The padding on each side of an input of `size` for a layer sliding `windows`.
    public func edges(windows: (vertical: AxisWindow, horizontal: AxisWindow), input size: Size2D) -> EdgePadding {
        let rows = windows.vertical.padding(inputLength: size.height, mode: vertical)
        let columns = windows.horizontal.padding(inputLength: size.width, mode: horizontal)
        return EdgePadding(top: rows.before, bottom: rows.after, left: columns.before, right: columns.after)
    }

    /// This padding along the vertical axis.
    public var vertical: AxisPaddingMode {
        switch self {
        case .valid: return .valid
        case .same: return .same
        case .explicit(let edges): return .explicit(before: edges.top, after: edges.bottom)
        }
    }

    /// This padding along the horizontal axis.
    public var horizontal: AxisPaddingMode {
        switch self {
        case .valid: return .valid
        case .same: return .same
        case .explicit(let edges): return .explicit(before: edges.left, after: edges.right)
        }
    }
}
