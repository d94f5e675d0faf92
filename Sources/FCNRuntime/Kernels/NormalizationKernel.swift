import Foundation

/// Normalizations over the channels of HWC maps, one position at a time: Keras's
/// `LayerNormalization` (axis −1), Caffe's `LRN` across channels, and a per-channel affine map
/// (folded BatchNormalization, Caffe's `Scale`).
enum NormalizationKernel {
    /// Layer normalization over the C channels of each of `positions` cells:
    /// `y = (x − mean) / sqrt(var + epsilon) · gamma + beta`, with the population variance
    /// (Keras's `LayerNormalization(axis=-1)`).
    ///
    /// - Parameters:
    ///   - input: (positions, C).
    ///   - output: (positions, C); may be `input` itself.
    ///   - gamma: (C), or nil for 1 (`scale=False`).
    ///   - beta: (C), or nil for 0 (`center=False`).
    ///   - workers: threads to share the positions among.
    static func layerNormalization(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, positions: Int, channels: Int,
        gamma: [Float]?, beta: [Float]?, epsilon: Float, workers: Int = 1
    ) {
        precondition(gamma.map { $0.count == channels } ?? true && beta.map { $0.count == channels } ?? true,
                     "gamma and beta must be (C)")
        Parallel.split(positions, workers: workers, minimumShare: max(1, 16384 / max(channels, 1))) { _, share in
            for position in share {
                let source = input + position * channels
                let target = output + position * channels
                var sum: Float = 0
                for channel in 0..<channels { sum += source[channel] }
                let mean = sum / Float(channels)
                var squares: Float = 0
                for channel in 0..<channels {
                    let centred = source[channel] - mean
                    squares += centred * centred
                }
                let inverse = 1 / (squares / Float(channels) + epsilon).squareRoot()
                for channel in 0..<channels {
                    var value = (source[channel] - mean) * inverse
                    if let gamma { value *= gamma[channel] }
                    if let beta { value += beta[channel] }
                    target[channel] = value
                }
            }
        }
    }

    /// Caffe's local response normalization across channels (`norm_region: ACROSS_CHANNELS`):
    /// `y_c = x_c / (k + alpha / n · Σ x_c'²)^beta`, the sum over the n channels
    /// c − (n − 1)/2 … c + n/2 (Caffe's `pre_pad`), clipped at the ends.
    ///
    /// - Parameters:
    ///   - input: (positions, C).
    ///   - output: (positions, C); must not share `input`'s memory.
    ///   - size: n, the window (Caffe's `local_size`).
    ///   - alpha, beta, k: Caffe's `alpha`, `beta`, `k`.
    ///   - workers: threads to share the positions among.
    static func localResponseNormalization(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, positions: Int, channels: Int,
        size: Int, alpha: Float, beta: Float, k: Float, workers: Int = 1
    ) {
        precondition(size >= 1, "LRN window must be at least 1")
        let before = (size - 1) / 2
        let scale = alpha / Float(size)
        Parallel.split(positions, workers: workers, minimumShare: max(1, 4096 / max(channels, 1))) { _, share in
            for position in share {
                let source = input + position * channels
                let target = output + position * channels
                for channel in 0..<channels {
                    var sum: Float = 0
                    for other in max(0, channel - before)..<min(channels, channel - before + size) {
                        sum += source[other] * source[other]
                    }
                    target[channel] = source[channel] * powf(k + scale * sum, -beta)
                }
            }
        }
    }

    /// `y = x · scale_c + shift_c` over (positions, C).
    ///
    /// - Parameters:
    ///   - input: (positions, C).
    ///   - output: (positions, C); may be `input` itself.
    ///   - scale: (C); shift: (C).
    ///   - workers: threads to share the positions among.
    static func affine(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, positions: Int, channels: Int,
        scale: [Float], shift: [Float], workers: Int = 1
    ) {
        precondition(scale.count == channels && shift.count == channels, "scale and shift must be (C)")
        scale.withUnsafeBufferPointer { scale in
            shift.withUnsafeBufferPointer { shift in
                let (scale, shift) = (scale.baseAddress!, shift.baseAddress!)
                Parallel.split(positions, workers: workers, minimumShare: max(1, 16384 / max(channels, 1))) { _, share in
                    for position in share {
                        let source = input + position * channels
                        let target = output + position * channels
                        for channel in 0..<channels { target[channel] = source[channel] * scale[channel] + shift[channel] }
                    }
                }
            }
        }
    }
}
