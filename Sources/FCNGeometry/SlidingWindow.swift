import FCNModel

/// A layer seen as a sliding window over its input, the way the fully convolutional form of
/// the network computes it (Long, Shelhamer & Darrell, §3.1, Figure 2).
///
/// Convolutions and pooling are windows already; pointwise layers are 1×1 windows; a Dense
/// layer after Flatten is a window as large as the feature map that Flatten flattened (at the
/// training input size), later Dense layers are 1×1; global pooling is a window over the whole
/// training-size map.
public struct SlidingWindow: Hashable, Sendable {
    public var vertical: AxisWindow
    public var horizontal: AxisWindow
    public var padding: PaddingMode

    public init(vertical: AxisWindow, horizontal: AxisWindow, padding: PaddingMode) {
        self.vertical = vertical
        self.horizontal = horizontal
        self.padding = padding
    }

    /// A 1×1, stride-1, unpadded window: what pointwise layers are.
    public static let pointwise = SlidingWindow(
        vertical: AxisWindow(kernel: 1, stride: 1), horizontal: AxisWindow(kernel: 1, stride: 1), padding: .valid)

    /// A stride-1, unpadded window of `size`, as a Dense after Flatten becomes.
    public static func covering(_ size: Size2D) -> SlidingWindow {
        SlidingWindow(vertical: AxisWindow(kernel: size.height, stride: 1),
                      horizontal: AxisWindow(kernel: size.width, stride: 1), padding: .valid)
    }

    /// The kernel size in input cells, dilation included.
    public var kernel: Size2D { Size2D(height: vertical.effectiveKernel, width: horizontal.effectiveKernel) }
    /// The stride.
    public var stride: Size2D { Size2D(height: vertical.stride, width: horizontal.stride) }

    /// The output size for an input of `size`, or nil when the window does not fit.
    public func outputSize(input size: Size2D) -> Size2D? {
        guard let height = vertical.outputLength(inputLength: size.height, mode: padding.vertical),
              let width = horizontal.outputLength(inputLength: size.width, mode: padding.horizontal)
        else { return nil }
        return Size2D(height: height, width: width)
    }

    /// The padding on each side for an input of `size`.
    public func edgePadding(input size: Size2D) -> EdgePadding {
        padding.edges(windows: (vertical, horizontal), input: size)
    }
}

extension Layer {
    /// The window the layer slides in a fully convolutional network: its own for convolutions,
    /// pooling and zero padding, 1×1 for pointwise layers and merges; nil for layers that have
    /// no place in one (Dense, Flatten, global pooling, reshapes, resizing), which
    /// `FullyConvolutionalForm` converts or removes first.
    public var slidingWindow: SlidingWindow? {
        switch operation {
        case .convolution, .pooling, .zeroPadding:
            let sliding = operation.slidingWindows!
            return SlidingWindow(vertical: sliding.vertical, horizontal: sliding.horizontal, padding: sliding.padding)
        case .activation, .batchNormalization, .dropout, .layerNormalization, .channelAffine, .parametricReLU,
             .localResponseNormalization, .merge, .concatenate:
            return .pointwise
        case .dense, .flatten, .globalPooling, .reshape, .resize:
            return nil
        }
    }
}
