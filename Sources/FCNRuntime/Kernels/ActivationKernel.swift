import FCNModel
import Foundation

/// Element-wise activations and the per-position softmax over channels, in place.
enum ActivationKernel {
    static func apply(_ activation: Activation, to values: UnsafeMutablePointer<Float>, positions: Int, channels: Int) {
        let count = positions * channels
        switch activation {
        case .linear:
            return
        case .softmax:
            for position in 0..<positions { softmax(values + position * channels, count: channels) }
        case .relu(let maxValue, let slope, let threshold):
            let ceiling = maxValue ?? .infinity
            for index in 0..<count {
                let x = values[index]
                values[index] = x >= threshold ? min(x, ceiling) : slope * (x - threshold)
            }
        case .gelu(let approximate):
            ExtendedActivation.apply(approximate ? .geluTanh : .geluExact, to: values, count: count)
        case .hardSwish:
            ExtendedActivation.apply(.hardSwish, to: values, count: count)
        case .hardSigmoidSixths:
            ExtendedActivation.apply(.hardSigmoid, to: values, count: count)
        case .swish:
            ExtendedActivation.apply(.swish, to: values, count: count)
        case .elu, .selu, .tanh, .sigmoid, .hardSigmoid, .softplus, .softsign:
            let function = scalarFunction(activation)
            for index in 0..<count { values[index] = function(values[index]) }
        }
    }

    /// The function of an element-wise activation.
    static func scalarFunction(_ activation: Activation) -> (Float) -> Float {
        switch activation {
        case .linear, .softmax: return { $0 }
        case .relu(let maxValue, let slope, let threshold):
            let ceiling = maxValue ?? .infinity
            return { $0 >= threshold ? min($0, ceiling) : slope * ($0 - threshold) }
        case .elu(let alpha): return { $0 > 0 ? $0 : alpha * (expf($0) - 1) }
        case .selu:
            let (alpha, scale): (Float, Float) = (1.6732632423543772, 1.0507009873554805)
            return { scale * ($0 > 0 ? $0 : alpha * (expf($0) - 1)) }
        case .tanh: return { tanhf($0) }
        case .sigmoid: return { 1 / (1 + expf(-$0)) }
        case .hardSigmoid: return { min(max(0.2 * $0 + 0.5, 0), 1) }
        case .hardSigmoidSixths: return ExtendedActivation.hardSigmoid
        case .hardSwish: return ExtendedActivation.hardSwish
        case .gelu(false): return ExtendedActivation.geluExact
        case .gelu(true): return ExtendedActivation.geluTanh
        case .softplus: return { $0 > 20 ? $0 : log1pf(expf($0)) }
        case .softsign: return { $0 / (1 + abs($0)) }
        case .swish: return ExtendedActivation.swish
        }
    }

    /// Softmax of `count` values in place, shifted by their maximum for stability.
    static func softmax(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for index in 0..<count { largest = max(largest, values[index]) }
        var sum: Float = 0
        for index in 0..<count {
            values[index] = expf(values[index] - largest)
            sum += values[index]
        }
        for index in 0..<count { values[index] /= sum }
    }
}
