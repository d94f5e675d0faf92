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

/// How one layer takes part in the fully convolutional network.
public enum Convolutionalization: Hashable, Sendable {
    /// The layer slides over any input size as this window.
    case slides(SlidingWindow)
    /// The layer cannot be made convolutional; the reason says why.
    case refused(String)

    /// The window, or nil when refused.
    public var window: SlidingWindow? {
        if case .slides(let window) = self { return window }
        return nil
    }
}

extension Network {
    /// Each layer's role in the fully convolutional form of this network, in order.
    ///
    /// Once a layer is refused, every later layer is refused too, since what reaches it no
    /// longer has a spatial layout.
    public func convolutionalization() -> [Convolutionalization] {
        guard let inputs = try? inputShapes() else {
            return layers.map { _ in .refused("the network's shapes do not fit together") }
        }
        var roles: [Convolutionalization] = []
        // The spatial size of the map a Flatten flattened, while only pointwise layers follow it.
        var flattenedSize: Size2D?
        var refusal: String?
        for (layer, input) in zip(layers, inputs) {
            if let refusal {
                roles.append(.refused("follows '\(refusal)', which cannot be made convolutional"))
                continue
            }
            let role = Self.role(of: layer, input: input, flattenedSize: &flattenedSize)
            if case .refused = role { refusal = layer.name }
            roles.append(role)
        }
        return roles
    }

    private static func role(of layer: Layer, input: ActivationShape, flattenedSize: inout Size2D?) -> Convolutionalization {
        switch layer.operation {
        case .convolution, .pooling, .zeroPadding:
            let sliding = layer.operation.slidingWindows!
            return .slides(SlidingWindow(vertical: sliding.vertical, horizontal: sliding.horizontal, padding: sliding.padding))
        case .flatten:
            guard case .featureMap = input else { return .slides(.pointwise) }
            flattenedSize = input.spatial
            return .slides(.pointwise)
        case .dense:
            if let size = flattenedSize {
                flattenedSize = nil
                return .slides(.covering(size))
            }
            if case .vector = input { return .slides(.pointwise) }
            return .refused("Dense applied to a feature map without Flatten")
        case .globalPooling:
            return .slides(.covering(input.spatial))
        case .activation, .batchNormalization, .dropout:
            return .slides(.pointwise)
        case .reshape(let target):
            if target.spatial == input.spatial, flattenedSize == nil { return .slides(.pointwise) }
            return .refused("Reshape from \(input) to \(target) moves values between positions")
        }
    }
}
