import COpenBLAS
import FCNModel

/// 3×3, stride-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray,
/// "Fast Algorithms for Convolutional Neural Networks", 2016).
///
/// Each 4×4 block of outputs comes from a 6×6 block of inputs: `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`.
/// Across channels the element-wise products become 36 matrix products
/// `M_k (tiles, out) = V_k (tiles, in) · U_k (in, out)`, which is where the time goes: 36
/// multiply-adds per 16 outputs instead of 9·16, a 4× cut in arithmetic. The kernel
/// transform U is made once when the executor is built. Tiles are processed in bands so the
/// transformed data stays within a fixed budget whatever the image size.
enum WinogradKernel {
    /// The transformed kernel: 36 matrices of (inputChannels, filters), k = 6·row + column.
    struct TransformedWeights {
        let values: [Float]  // (36, in, out)
        let inputChannels: Int
        let filters: Int
    }

    /// Whether a convolution takes this path: 3×3, stride 1, no dilation, and enough channels
    /// for the matrix products to pay for the transforms.
    static func applies(to convolution: Convolution, inputChannels: Int) -> Bool {
        convolution.kernelSize == Size2D(square: 3) && convolution.strides == Size2D(square: 1)
            && convolution.dilation == Size2D(square: 1) && inputChannels >= 8 && convolution.filters >= 8
    }

    /// G (6×3), the kernel transform.
    private static let g: [[Float]] = [
        [1.0 / 4, 0, 0],
        [-1.0 / 6, -1.0 / 6, -1.0 / 6],
        [-1.0 / 6, 1.0 / 6, -1.0 / 6],
        [1.0 / 24, 1.0 / 12, 1.0 / 6],
        [1.0 / 24, -1.0 / 12, 1.0 / 6],
        [0, 0, 1],
    ]

    /// U = G g Gᵀ for every (in, out) pair of a (3, 3, in, out) kernel.
    static func transform(kernel: [Float], inputChannels: Int, filters: Int) -> TransformedWeights {
        let pairs = inputChannels * filters
        let flatG = g.flatMap { $0 }  // (6, 3)
        let values = [Float](unsafeUninitializedCapacity: 36 * pairs) { result, count in
            kernel.withUnsafeBufferPointer { kernel in
                // Per pair, all pairs at once (pairs are contiguous in both layouts):
                // t = G g (6×3), then U = t Gᵀ (6×6).
                var t = [Float](repeating: 0, count: 18 * pairs)
                for row in 0..<6 {
                    for kx in 0..<3 {
                        let target = row * 3 + kx
                        for pair in 0..<pairs {
                            var sum: Float = 0
                            for ky in 0..<3 { sum += flatG[row * 3 + ky] * kernel[(ky * 3 + kx) * pairs + pair] }
                            t[target * pairs + pair] = sum
                        }
                    }
                }
                for row in 0..<6 {
                    for column in 0..<6 {
                        let base = (row * 6 + column) * pairs
                        let (g0, g1, g2) = (flatG[column * 3], flatG[column * 3 + 1], flatG[column * 3 + 2])
                        for pair in 0..<pairs {
                            result[base + pair] = t[(row * 3) * pairs + pair] * g0 + t[(row * 3 + 1) * pairs + pair] * g1
                                + t[(row * 3 + 2) * pairs + pair] * g2
                        }
                    }
                }
            }
            count = 36 * pairs
        }
        return TransformedWeights(values: values, inputChannels: inputChannels, filters: filters)
    }

    /// The floats of scratch one band of `tileRows` tile rows needs for `outputWidth` outputs
    /// with `workers` threads.
    static func scratchNeeded(tileRows: Int, outputWidth: Int, inputChannels: Int, filters: Int, workers: Int) -> Int {
        let tiles = tileRows * ((outputWidth + 3) / 4)
        return 36 * tiles * (inputChannels + filters) + workers * (36 * inputChannels + 24 * filters)
    }

    static func run(
        _ convolution: Convolution, weights: TransformedWeights, bias: [Float]?,
        input: UnsafePointer<Float>, inputSize: MapSize,
        output: UnsafeMutablePointer<Float>, outputSize: MapSize, padding: EdgePadding,
        scratch: UnsafeMutablePointer<Float>, scratchCount: Int, workers: Int
    ) {
        let (channels, filters) = (weights.inputChannels, weights.filters)
        let tilesAcross = (outputSize.width + 3) / 4
        let tileRowsTotal = (outputSize.height + 3) / 4
        let perTileRow = scratchNeeded(tileRows: 1, outputWidth: outputSize.width, inputChannels: channels, filters: filters,
                                       workers: workers)
        let perWorker = 36 * channels + 24 * filters
        let fixed = workers * perWorker
        let bandRows = max(1, min(tileRowsTotal, (scratchCount - fixed) / max(1, perTileRow - fixed)))
        weights.values.withUnsafeBufferPointer { transformed in
            var firstTileRow = 0
            while firstTileRow < tileRowsTotal {
                let rows = min(bandRows, tileRowsTotal - firstTileRow)
                let tiles = rows * tilesAcross
                let transformedInput = scratch  // (36, tiles, in)
                let products = scratch + 36 * tiles * channels  // (36, tiles, out)
                // Per worker: one 6×6 input block (36, in), then (4, 6, out) for the output transform.
                let workerScratch = products + 36 * tiles * filters
                let firstRow = firstTileRow
                Parallel.split(tiles, workers: workers, minimumShare: 8) { worker, range in
                    let patch = workerScratch + worker * perWorker
                    for tile in range {
                        let tileY = firstRow + tile / tilesAcross
                        let tileX = tile % tilesAcross
                        gather(input: input, inputSize: inputSize, top: tileY * 4 - padding.top, left: tileX * 4 - padding.left, into: patch)
                        transformInput(patch, channels: channels, into: transformedInput + tile * channels, stride: tiles * channels)
                    }
                }
                Parallel.split(36, workers: workers) { _, elements in
                    for k in elements {
                        ConvolutionKernel.multiply(rows: tiles, depth: channels, filters: filters,
                                                   patches: transformedInput + k * tiles * channels,
                                                   weights: transformed.baseAddress! + k * channels * filters,
                                                   output: products + k * tiles * filters)
                    }
                }
                Parallel.split(tiles, workers: workers, minimumShare: 8) { worker, range in
                    let partial = workerScratch + worker * perWorker + 36 * channels
                    for tile in range {
                        let tileY = firstRow + tile / tilesAcross
                        let tileX = tile % tilesAcross
                        transformOutput(products + tile * filters, stride: tiles * filters, filters: filters, partial: partial,
                                        output: output, outputSize: outputSize, top: tileY * 4, left: tileX * 4)
                    }
                }
                firstTileRow += rows
            }
        }
        Epilogue.apply(bias: bias, activation: convolution.activation, to: output,
                       positions: outputSize.height * outputSize.width, channels: filters)
    }

    /// Copies the 6×6 block at (`top`, `left`) of the input, zeros outside it, as (36, in).
    private static func gather(input: UnsafePointer<Float>, inputSize: MapSize, top: Int, left: Int,
                               into patch: UnsafeMutablePointer<Float>) {
        let channels = inputSize.channels
        for row in 0..<6 {
            let y = top + row
            let target = patch + row * 6 * channels
            guard y >= 0, y < inputSize.height else {
                target.update(repeating: 0, count: 6 * channels)
                continue
            }
            let source = input + y * inputSize.width * channels
            if left >= 0, left + 6 <= inputSize.width {
                target.update(from: source + left * channels, count: 6 * channels)
                continue
            }
            for column in 0..<6 {
                let x = left + column
                if x >= 0, x < inputSize.width {
                    (target + column * channels).update(from: source + x * channels, count: channels)
                } else {
                    (target + column * channels).update(repeating: 0, count: channels)
                }
            }
        }
    }

    /// V = Bᵀ d B for every channel; writes element k of each to `target + k · stride`.
    private static func transformInput(_ d: UnsafeMutablePointer<Float>, channels: Int,
                                       into target: UnsafeMutablePointer<Float>, stride: Int) {
        // Bᵀ rows: [4 0 −5 0 1 0] [0 −4 −4 1 1 0] [0 4 −4 −1 1 0] [0 −2 −1 2 1 0] [0 2 −1 −2 1 0] [0 4 0 −5 0 1]
        // First along columns (in place, per row), then along rows into the target.
        for row in 0..<6 {
            let r = d + row * 6 * channels
            for c in 0..<channels {
                let (x0, x1, x2, x3, x4, x5) = (r[c], r[channels + c], r[2 * channels + c], r[3 * channels + c],
                                                r[4 * channels + c], r[5 * channels + c])
                r[c] = 4 * x0 - 5 * x2 + x4
                r[channels + c] = -4 * x1 - 4 * x2 + x3 + x4
                r[2 * channels + c] = 4 * x1 - 4 * x2 - x3 + x4
                r[3 * channels + c] = -2 * x1 - x2 + 2 * x3 + x4
                r[4 * channels + c] = 2 * x1 - x2 - 2 * x3 + x4
                r[5 * channels + c] = 4 * x1 - 5 * x3 + x5
            }
        }
        let rowStride = 6 * channels
        for column in 0..<6 {
            let base = d + column * channels
            for c in 0..<channels {
                let (x0, x1, x2, x3, x4, x5) = (base[c], base[rowStride + c], base[2 * rowStride + c], base[3 * rowStride + c],
                                                base[4 * rowStride + c], base[5 * rowStride + c])
                target[(0 * 6 + column) * stride + c] = 4 * x0 - 5 * x2 + x4
                target[(1 * 6 + column) * stride + c] = -4 * x1 - 4 * x2 + x3 + x4
                target[(2 * 6 + column) * stride + c] = 4 * x1 - 4 * x2 - x3 + x4
                target[(3 * 6 + column) * stride + c] = -2 * x1 - x2 + 2 * x3 + x4
                target[(4 * 6 + column) * stride + c] = 2 * x1 - x2 - 2 * x3 + x4
                target[(5 * 6 + column) * stride + c] = 4 * x1 - 5 * x3 + x5
            }
        }
    }

    /// Y = Aᵀ m A for every filter, written where the 4×4 block lies inside the output;
    /// `partial` holds (4, 6, filters) floats.
    private static func transformOutput(_ m: UnsafeMutablePointer<Float>, stride: Int, filters: Int, partial: UnsafeMutablePointer<Float>,
                                        output: UnsafeMutablePointer<Float>, outputSize: MapSize, top: Int, left: Int) {
        // Aᵀ rows: [1 1 1 1 1 0] [0 1 −1 2 −2 0] [0 1 1 4 4 0] [0 1 −1 8 −8 1]; first down the rows.
        for column in 0..<6 {
            let (r0, r1, r2) = (m + column * stride, m + (6 + column) * stride, m + (12 + column) * stride)
            let (r3, r4, r5) = (m + (18 + column) * stride, m + (24 + column) * stride, m + (30 + column) * stride)
            let (p0, p1) = (partial + column * filters, partial + (6 + column) * filters)
            let (p2, p3) = (partial + (12 + column) * filters, partial + (18 + column) * filters)
            for f in 0..<filters {
                let (x1, x2, x3, x4) = (r1[f], r2[f], r3[f], r4[f])
                p0[f] = r0[f] + x1 + x2 + x3 + x4
                p1[f] = x1 - x2 + 2 * (x3 - x4)
                p2[f] = x1 + x2 + 4 * (x3 + x4)
                p3[f] = x1 - x2 + 8 * (x3 - x4) + r5[f]
            }
        }
        // Then across the columns, straight into the output.
        let rows = min(4, outputSize.height - top)
        let columns = min(4, outputSize.width - left)
        for row in 0..<rows {
            let p = partial + row * 6 * filters
            let target = output + ((top + row) * outputSize.width + left) * filters
            for f in 0..<filters {
                let (x0, x1, x2, x3, x4, x5) = (p[f], p[filters + f], p[2 * filters + f], p[3 * filters + f], p[4 * filters + f], p[5 * filters + f])
                target[f] = x0 + x1 + x2 + x3 + x4
                if columns > 1 { target[filters + f] = x1 - x2 + 2 * (x3 - x4) }
                if columns > 2 { target[2 * filters + f] = x1 + x2 + 4 * (x3 + x4) }
                if columns > 3 { target[3 * filters + f] = x1 - x2 + 8 * (x3 - x4) + x5 }
            }
        }
    }
}
