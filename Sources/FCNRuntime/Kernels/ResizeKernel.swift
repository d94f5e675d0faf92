import FCNModel

/// Keras's `Resizing` layer with the TensorFlow backend: `tf.image.resize(antialias=False)`,
/// half-pixel centres, optionally after Keras 3's centre crop to the target aspect ratio.
enum ResizeKernel {
    /// Resizes input (H, W, C) to output (Ho, Wo, C).
    ///
    /// Per axis, with `scale = in / out` in Float as TensorFlow computes it:
    /// - bilinear: `src = (dst + 0.5) · scale − 0.5`, the two neighbours `max(floor(src), 0)` and
    ///   `min(ceil(src), in − 1)`, weighted by `src − floor(src)`;
    /// - nearest: `src = min(floor((dst + 0.5) · scale), in − 1)`.
    ///
    /// With `cropToAspectRatio` the input is first cropped to Keras 3's centred box:
    /// `cropH = clamp(trunc(Float(W · Ho) / Wo), 1, H)`, `cropW = clamp(trunc(Float(H · Wo) / Ho), 1, W)`,
    /// starting at `trunc(Float(H − cropH) / 2)` and `trunc(Float(W − cropW) / 2)`.
    ///
    /// - Parameters:
    ///   - input: (H, W, C).
    ///   - output: (Ho, Wo, C), the same C; must not share `input`'s memory.
    ///   - workers: threads to share the output rows among.
    static func resize(
        _ interpolation: ResizeInterpolation, cropToAspectRatio: Bool = false,
        input: UnsafePointer<Float>, inputSize: MapSize, output: UnsafeMutablePointer<Float>, outputSize: MapSize, workers: Int = 1
    ) {
        precondition(inputSize.channels == outputSize.channels, "Resize keeps the channels")
        precondition(inputSize.height > 0 && inputSize.width > 0, "Resize needs a non-empty input")
        let box = cropToAspectRatio ? cropBox(input: inputSize, target: outputSize) : (top: 0, left: 0, height: inputSize.height, width: inputSize.width)
        let channels = inputSize.channels
        let rows = samples(interpolation, input: box.height, output: outputSize.height)
        let columns = samples(interpolation, input: box.width, output: outputSize.width)
        Parallel.split(outputSize.height, workers: workers, minimumShare: max(1, 16384 / max(outputSize.width * channels, 1))) { _, share in
            for outputY in share {
                let row = rows[outputY]
                let upper = input + ((box.top + row.lower) * inputSize.width + box.left) * channels  // (W, C) from the box's left
                let lower = input + ((box.top + row.upper) * inputSize.width + box.left) * channels
                let target = output + outputY * outputSize.width * channels
                for outputX in 0..<outputSize.width {
                    let column = columns[outputX]
                    let cell = target + outputX * channels
                    switch interpolation {
                    case .nearest:
                        cell.update(from: upper + column.lower * channels, count: channels)
                    case .bilinear:
                        let (topLeft, topRight) = (upper + column.lower * channels, upper + column.upper * channels)
                        let (bottomLeft, bottomRight) = (lower + column.lower * channels, lower + column.upper * channels)
                        let (xWeight, yWeight) = (column.weight, row.weight)
                        for channel in 0..<channels {
                            let top = topLeft[channel] + (topRight[channel] - topLeft[channel]) * xWeight
                            let bottom = bottomLeft[channel] + (bottomRight[channel] - bottomLeft[channel]) * xWeight
                            cell[channel] = top + (bottom - top) * yWeight
                        }
                    }
                }
            }
        }
    }

    /// Keras 3's `crop_to_aspect_ratio` box (TensorFlow backend) within an input of `input`.
    static func cropBox(input: MapSize, target: MapSize) -> (top: Int, left: Int, height: Int, width: Int) {
        let height = max(min(input.height, Int(Float(input.width * target.height) / Float(target.width))), 1)
        let width = max(min(input.width, Int(Float(input.height * target.width) / Float(target.height))), 1)
        let top = Int(Float(input.height - height) / 2)
        let left = Int(Float(input.width - width) / 2)
        return (top, left, height, width)
    }

    /// For each output index on one axis: the source indices and the weight of `upper`
    /// (nearest: `lower` only).
    private static func samples(_ interpolation: ResizeInterpolation, input: Int, output: Int) -> [(lower: Int, upper: Int, weight: Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { index in
            switch interpolation {
            case .nearest:
                let source = min(Int((Float(index) + 0.5) * scale), input - 1)
                return (source, source, 0)
            case .bilinear:
                let source = (Float(index) + 0.5) * scale - 0.5
                let floor = source.rounded(.down)
                let lower = max(Int(floor), 0)
                let upper = min(Int(source.rounded(.up)), input - 1)
                return (lower, upper, source - floor)
            }
        }
    }
}
