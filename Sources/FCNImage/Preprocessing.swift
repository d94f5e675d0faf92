import FCNModel
import FCNRuntime

/// How pixel values become network inputs, the way the model was trained: optional channel
/// swap to BGR, then `(value · scale − mean) / std` per channel.
public struct Preprocessing: Sendable, Equatable, Encodable {
    /// Named presets; see docs/heatmaps.md.
    public enum Preset: String, Sendable, CaseIterable {
        /// 0–255 as stored.
        case raw
        /// Divided by 255: [0, 1].
        case unit
        /// Keras's "caffe" mode: BGR, minus the ImageNet means (103.939, 116.779, 123.68), no scaling.
        case caffe
        /// Keras's "tf" mode: [−1, 1].
        case tf
        /// Keras's "torch" mode: [0, 1], minus ImageNet means (0.485, 0.456, 0.406), over stds (0.229, 0.224, 0.225).
        case torch
    }

    public var preset: String
    public var scale: Float
    public var mean: [Float]
    public var std: [Float]
    public var bgr: Bool

    public init(preset: Preset) {
        self.preset = preset.rawValue
        switch preset {
        case .raw: (scale, mean, std, bgr) = (1, [0], [1], false)
        case .unit: (scale, mean, std, bgr) = (1 / 255, [0], [1], false)
        case .caffe: (scale, mean, std, bgr) = (1, [103.939, 116.779, 123.68], [1], true)
        case .tf: (scale, mean, std, bgr) = (1 / 127.5, [1], [1], false)
        case .torch: (scale, mean, std, bgr) = (1 / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], false)
        }
    }

    /// The network input for `image`: converted to `channels` (gray by luma, or gray repeated
    /// to RGB), then normalised.
    ///
    /// - Precondition: `channels` is 1 or 3.
    public func input(from image: PixelImage, channels: Int) -> MapImage {
        precondition(channels == 1 || channels == 3, "images give 1 or 3 channels")
        let means = (0..<channels).map { mean[$0 % mean.count] }
        let stds = (0..<channels).map { std[$0 % std.count] }
        let count = image.size.height * image.size.width
        var values = [Float](repeating: 0, count: count * channels)
        for index in 0..<count {
            let first = index * image.channels
            let red = Float(image.pixels[first])
            let (green, blue) = image.channels == 3 ? (Float(image.pixels[first + 1]), Float(image.pixels[first + 2])) : (red, red)
            let target = index * channels
            if channels == 1 {
                values[target] = ((0.299 * red + 0.587 * green + 0.114 * blue) * scale - means[0]) / stds[0]
            } else {
                let (firstColour, lastColour) = bgr ? (blue, red) : (red, blue)
                values[target] = (firstColour * scale - means[0]) / stds[0]
                values[target + 1] = (green * scale - means[1]) / stds[1]
                values[target + 2] = (lastColour * scale - means[2]) / stds[2]
            }
        }
        return MapImage(size: image.size, channels: channels, values: values)
    }
}

extension PixelImage {
    /// The image scaled (bilinearly) so that its shorter side is `shorterSide` pixels.
    public func resized(shorterSide: Int) -> PixelImage {
        resized(by: Double(shorterSide) / Double(min(size.height, size.width)))
    }

    /// The image scaled (bilinearly) so that its longer side is `longerSide` pixels.
    public func resized(longerSide: Int) -> PixelImage {
        resized(by: Double(longerSide) / Double(max(size.height, size.width)))
    }

    /// The size of the image scaled by `factor`, each side rounded and at least 1.
    public func size(scaledBy factor: Double) -> Size2D {
        Size2D(height: max(1, Int((Double(size.height) * factor).rounded())),
               width: max(1, Int((Double(size.width) * factor).rounded())))
    }

    /// The image scaled by `factor` (bilinearly; the same image when the size stays).
    public func resized(by factor: Double) -> PixelImage {
        let target = size(scaledBy: factor)
        if target == size { return self }
        var pixels = [UInt8](repeating: 0, count: target.height * target.width * channels)
        for y in 0..<target.height {
            let sourceY = min(max((Double(y) + 0.5) / factor - 0.5, 0), Double(size.height - 1))
            let (y0, fy) = (Int(sourceY), sourceY - Double(Int(sourceY)))
            let y1 = min(y0 + 1, size.height - 1)
            for x in 0..<target.width {
                let sourceX = min(max((Double(x) + 0.5) / factor - 0.5, 0), Double(size.width - 1))
                let (x0, fx) = (Int(sourceX), sourceX - Double(Int(sourceX)))
                let x1 = min(x0 + 1, size.width - 1)
                for channel in 0..<channels {
                    func at(_ row: Int, _ column: Int) -> Double { Double(self.pixels[(row * size.width + column) * channels + channel]) }
                    let top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx
                    let bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx
                    pixels[(y * target.width + x) * channels + channel] = UInt8((top * (1 - fy) + bottom * fy).rounded())
                }
            }
        }
        return PixelImage(size: target, channels: channels, pixels: pixels)
    }
}
