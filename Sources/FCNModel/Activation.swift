/// An element-wise (or, for softmax, per-position) nonlinearity.
public enum Activation: Hashable, Sendable, Codable, CustomStringConvertible {
    case linear
    /// `max(x, threshold)`-style ReLU: `x` for `x ≥ threshold`, `negativeSlope · (x − threshold)`
    /// below it, clipped at `maxValue` when given. Covers relu, relu6 and leaky relu.
    case relu(maxValue: Float?, negativeSlope: Float, threshold: Float)
    /// `x` for `x > 0`, `alpha · (eˣ − 1)` otherwise.
    case elu(alpha: Float)
    /// Scaled ELU with the fixed constants of Klambauer et al.
    case selu
    case tanh
    /// `1 / (1 + e⁻ˣ)`.
    case sigmoid
    /// Keras 1 and 2's piecewise-linear sigmoid, `clip(0.2 · x + 0.5, 0, 1)`.
    case hardSigmoid
    /// Keras 3's hard sigmoid, `relu6(x + 3) / 6`.
    case hardSigmoidSixths
    /// `x · relu6(x + 3) / 6` (Keras 3's hard_silu / hard_swish).
    case hardSwish
    /// `x · Φ(x)` with the normal CDF Φ; with `approximate`, the tanh form
    /// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
    case gelu(approximate: Bool)
    /// `ln(1 + eˣ)`.
    case softplus
    /// `x / (1 + |x|)`.
    case softsign
    /// `x · sigmoid(x)`, also called SiLU.
    case swish
    /// Softmax over the channels at each position.
    case softmax

    /// Plain ReLU.
    public static let plainReLU = Activation.relu(maxValue: nil, negativeSlope: 0, threshold: 0)

    public var description: String {
        switch self {
        case .linear: return "linear"
        case .relu(let maxValue, let slope, let threshold):
            var text = slope == 0 ? "relu" : "leaky_relu(\(slope))"
            if let maxValue { text = maxValue == 6 && slope == 0 ? "relu6" : text + " max \(maxValue)" }
            if threshold != 0 { text += " threshold \(threshold)" }
            return text
        case .elu(let alpha): return alpha == 1 ? "elu" : "elu(\(alpha))"
        case .selu: return "selu"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .hardSigmoid: return "hard_sigmoid"
        case .hardSigmoidSixths: return "hard_sigmoid (relu6(x+3)/6)"
        case .hardSwish: return "hard_swish"
        case .gelu(let approximate): return approximate ? "gelu (tanh)" : "gelu"
        case .softplus: return "softplus"
        case .softsign: return "softsign"
        case .swish: return "swish"
        case .softmax: return "softmax"
        }
    }
}
