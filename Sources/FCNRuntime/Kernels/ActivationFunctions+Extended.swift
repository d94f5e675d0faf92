import Foundation

/// Element-wise activations beyond `FCNModel.Activation`: Keras 3's gelu (exact and tanh
/// approximation), hard_swish / hard_silu, hard_sigmoid, swish / silu, and PReLU with one
/// slope per channel.
enum ExtendedActivation: Hashable, Sendable {
    /// `0.5 · x · (1 + erf(x / √2))`: Keras's `gelu(approximate=False)`.
    case geluExact
    /// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`: Keras's `gelu(approximate=True)`.
    case geluTanh
    /// `x · relu6(x + 3) / 6`: Keras 3's `hard_swish` / `hard_silu`.
    case hardSwish
    /// `relu6(x + 3) / 6`: Keras 3's `hard_sigmoid` (Keras 2's, `clip(0.2 · x + 0.5, 0, 1)`,
    /// is `Activation.hardSigmoid`).
    case hardSigmoid
    /// `x · sigmoid(x)`: swish / silu.
    case swish

    /// The function of one value.
    var function: (Float) -> Float {
        switch self {
        case .geluExact: return Self.geluExact
        case .geluTanh: return Self.geluTanh
        case .hardSwish: return Self.hardSwish
        case .hardSigmoid: return Self.hardSigmoid
        case .swish: return Self.swish
        }
    }

    @inline(__always) static func geluExact(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
    @inline(__always) static func geluTanh(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(0.79788456080286536 * (x + 0.044715 * x * x * x)))
    }
    @inline(__always) static func hardSigmoid(_ x: Float) -> Float { min(max(x + 3, 0), 6) / 6 }
    @inline(__always) static func hardSwish(_ x: Float) -> Float { x * (min(max(x + 3, 0), 6) / 6) }
    @inline(__always) static func swish(_ x: Float) -> Float { x / (1 + expf(-x)) }

    /// Applies the activation to `count` values in place, shared among `workers`; the switch is
    /// outside the loops, so the piecewise-linear ones vectorize.
    static func apply(_ activation: ExtendedActivation, to values: UnsafeMutablePointer<Float>, count: Int, workers: Int = 1) {
        Parallel.split(count, workers: workers, minimumShare: 16384) { _, share in
            let start = values + share.lowerBound
            switch activation {
            case .geluExact: for index in 0..<share.count { start[index] = geluExact(start[index]) }
            case .geluTanh: for index in 0..<share.count { start[index] = geluTanh(start[index]) }
            case .hardSwish: for index in 0..<share.count { start[index] = hardSwish(start[index]) }
            case .hardSigmoid: for index in 0..<share.count { start[index] = hardSigmoid(start[index]) }
            case .swish: for index in 0..<share.count { start[index] = swish(start[index]) }
            }
        }
    }

    /// PReLU in place over (positions, C): `y = x > 0 ? x : alpha_c · x`, one slope per channel
    /// (Keras's `PReLU(shared_axes=[1, 2])`, Caffe's `PReLU`; a slope shared by all channels is
    /// C copies of it).
    static func prelu(_ values: UnsafeMutablePointer<Float>, positions: Int, channels: Int, alpha: [Float], workers: Int = 1) {
        precondition(alpha.count == channels, "PReLU alpha must be (C)")
        alpha.withUnsafeBufferPointer { alpha in
            let alpha = alpha.baseAddress!
            Parallel.split(positions, workers: workers, minimumShare: max(1, 16384 / max(channels, 1))) { _, share in
                for position in share {
                    let cell = values + position * channels
                    for channel in 0..<channels {
                        let x = cell[channel]
                        cell[channel] = x > 0 ? x : alpha[channel] * x
                    }
                }
            }
        }
    }
}
