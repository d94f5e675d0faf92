import FCNModel

/// Re-lays stored weights into FCNKit's canonical layouts.
enum WeightLayouts {
    /// (filters, inputChannels, kernelHeight, kernelWidth) → (kernelHeight, kernelWidth, inputChannels, filters),
    /// flipping both spatial axes when `flip` (Theano stored kernels for true convolution).
    static func hwioFromOIHW(_ values: [Float], shape: [Int], flip: Bool) -> Tensor {
        let (filters, channels, height, width) = (shape[0], shape[1], shape[2], shape[3])
        var result = [Float](repeating: 0, count: values.count)
        for o in 0..<filters {
            for i in 0..<channels {
                for y in 0..<height {
                    for x in 0..<width {
                        let sourceY = flip ? height - 1 - y : y
                        let sourceX = flip ? width - 1 - x : x
                        let source = ((o * channels + i) * height + sourceY) * width + sourceX
                        result[((y * width + x) * channels + i) * filters + o] = values[source]
                    }
                }
            }
        }
        return Tensor(shape: [height, width, channels, filters], values: result)
    }

    /// A (kh, kw, in, out) kernel flipped along both spatial axes.
    static func flippedHWIO(_ kernel: Tensor) -> Tensor {
        let (height, width) = (kernel.shape[0], kernel.shape[1])
        let block = kernel.shape[2] * kernel.shape[3]
        var result = kernel.values
        for y in 0..<height {
            for x in 0..<width {
                let target = (y * width + x) * block
                let source = ((height - 1 - y) * width + (width - 1 - x)) * block
                result[target..<(target + block)] = kernel.values[source..<(source + block)]
            }
        }
        return Tensor(shape: kernel.shape, values: result)
    }

    /// The transpose of a (rows, columns) matrix.
    static func transposed(_ values: [Float], rows: Int, columns: Int) -> Tensor {
        var result = [Float](repeating: 0, count: values.count)
        for row in 0..<rows {
            for column in 0..<columns {
                result[column * rows + row] = values[row * columns + column]
            }
        }
        return Tensor(shape: [columns, rows], values: result)
    }
}
