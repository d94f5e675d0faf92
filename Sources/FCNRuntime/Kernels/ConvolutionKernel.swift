import COpenBLAS
import FCNModel

/// A feature map in FCNKit's runtime layout: (height, width, channels), channels fastest.
struct MapSize: Hashable {
    var height: Int
    var width: Int
    var channels: Int
    var count: Int { height * width * channels }
}

/// Convolution as matrix products (HWC layout):
/// `output (outH·outW, filters) = patches (outH·outW, kh·kw·in) · weights (kh·kw·in, filters)`.
///
/// The patch matrix (im2col) is built a band of output rows at a time in `scratch`, so its
/// size stays bounded whatever the input size. A 1×1, stride-1, unpadded convolution needs no
/// patches: the input already is that matrix. A product with one row goes to GEMV, which
/// OpenBLAS runs faster than an N = 1 GEMM. This is where the time goes.
enum ConvolutionKernel {
    static func run(
        _ convolution: Convolution, weights: [Float], bias: [Float]?,
        input: UnsafePointer<Float>, inputSize: MapSize,
        output: UnsafeMutablePointer<Float>, outputSize: MapSize, padding: EdgePadding,
        scratch: UnsafeMutablePointer<Float>, scratchPerWorker: Int, workers: Int
    ) {
        let depth = convolution.kernelSize.height * convolution.kernelSize.width * inputSize.channels  // K
        let filters = convolution.filters  // N
        let positions = outputSize.height * outputSize.width
        let isPointwise = isPointwise(convolution, padding: padding)
        // Whether the bias and activation were applied band by band, while each was in cache.
        let isFinished = weights.withUnsafeBufferPointer { weights -> Bool in
            let weights = weights.baseAddress!
            if positions == 1 {
                let patches = isPointwise ? UnsafePointer(input) : UnsafePointer(scratch)
                if !isPointwise {
                    gatherPatches(convolution, input: input, inputSize: inputSize, outputWidth: 1, rows: 0..<1, padding: padding, into: scratch)
                }
                multiplyOneRow(depth: depth, filters: filters, patches: patches, weights: weights, output: output, workers: workers)
                return false
            } else if isPointwise {
                multiplyShared(rows: positions, depth: depth, filters: filters, patches: input, weights: weights,
                               output: output, workers: workers)
                return false
            } else if positions < Self.rowsPerWorker * workers, positions * depth <= scratchPerWorker * workers {
                // Few output positions (a Dense turned convolution on a small grid): one patch
                // matrix, the filters shared out, so each worker reads only its part of the kernel.
                gatherPatches(convolution, input: input, inputSize: inputSize, outputWidth: outputSize.width,
                              rows: 0..<outputSize.height, padding: padding, into: scratch)
                multiplyShared(rows: positions, depth: depth, filters: filters, patches: scratch, weights: weights,
                               output: output, workers: workers)
                return false
            } else {
                // Each worker takes a share of the output rows, a band at a time in its own scratch.
                let rowsPerBand = max(1, scratchPerWorker / max(1, outputSize.width * depth))
                Parallel.split(outputSize.height, workers: workers) { worker, share in
                    let patches = scratch + worker * scratchPerWorker
                    var firstRow = share.lowerBound
                    while firstRow < share.upperBound {
                        let rows = min(rowsPerBand, share.upperBound - firstRow)
                        gatherPatches(convolution, input: input, inputSize: inputSize, outputWidth: outputSize.width,
                                      rows: firstRow..<(firstRow + rows), padding: padding, into: patches)
                        let band = output + firstRow * outputSize.width * filters
                        multiply(rows: rows * outputSize.width, depth: depth, filters: filters, patches: patches,
                                 weights: weights, output: band)
                        Epilogue.apply(bias: bias, activation: convolution.activation, to: band,
                                       positions: rows * outputSize.width, channels: filters)
                        firstRow += rows
                    }
                }
                return true
            }
        }
        guard !isFinished else { return }
        Epilogue.apply(bias: bias, activation: convolution.activation, to: output,
                       positions: outputSize.height * outputSize.width, channels: filters, workers: workers)
    }

    /// Whether the input already is the patch matrix: a 1×1, stride-1, unpadded convolution.
    static func isPointwise(_ convolution: Convolution, padding: EdgePadding) -> Bool {
        convolution.kernelSize == Size2D(square: 1) && convolution.strides == Size2D(square: 1) && padding.isZero
    }

    /// output (rows, filters) = patches (rows, depth) · weights (depth, filters), on one thread.
    static func multiply(rows: Int, depth: Int, filters: Int, patches: UnsafePointer<Float>,
                         weights: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        if rows == 1 {
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(depth), Int32(filters), 1, weights, Int32(filters),
                        patches, 1, 0, output, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(filters), Int32(depth),
                        1, patches, Int32(depth), weights, Int32(filters), 0, output, Int32(filters))
        }
    }

    /// Below this many rows per worker, products are shared out by filters, not by rows.
    static let rowsPerWorker = 256

    /// `multiply` shared among the workers: by rows when there are many, else by filters.
    static func multiplyShared(rows: Int, depth: Int, filters: Int, patches: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                               output: UnsafeMutablePointer<Float>, workers: Int) {
        if rows >= rowsPerWorker * workers {
            Parallel.split(rows, workers: workers) { _, share in
                multiply(rows: share.count, depth: depth, filters: filters, patches: patches + share.lowerBound * depth,
                         weights: weights, output: output + share.lowerBound * filters)
            }
        } else {
            // One piece per worker: each piece packs the whole left-hand matrix again.
            Parallel.split(filters, workers: workers, minimumShare: 32, piecesPerWorker: 1) { _, columns in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(columns.count), Int32(depth), 1,
                            patches, Int32(depth), weights + columns.lowerBound, Int32(filters),
                            0, output + columns.lowerBound, Int32(filters))
            }
        }
    }

    /// output (filters) = patches (depth) · weights (depth, filters) as GEMV, the filters shared
    /// among the workers (OpenBLAS runs GEMV faster than a one-row GEMM).
    static func multiplyOneRow(depth: Int, filters: Int, patches: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                               output: UnsafeMutablePointer<Float>, workers: Int) {
        Parallel.split(filters, workers: workers, minimumShare: 64, piecesPerWorker: 1) { _, columns in
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(depth), Int32(columns.count), 1, weights + columns.lowerBound,
                        Int32(filters), patches, 1, 0, output + columns.lowerBound, 1)
        }
    }

    /// Writes one patch row (kh·kw·in values, in the kernel's (ky, kx, c) order) per output
    /// position of `rows`, zeros where the window reaches into padding.
    static func gatherPatches(
        _ convolution: Convolution, input: UnsafePointer<Float>, inputSize: MapSize, outputWidth: Int,
        rows: Range<Int>, padding: EdgePadding, into patches: UnsafeMutablePointer<Float>
    ) {
        let (kernelHeight, kernelWidth) = (convolution.kernelSize.height, convolution.kernelSize.width)
        let (strideY, strideX) = (convolution.strides.height, convolution.strides.width)
        let (dilationY, dilationX) = (convolution.dilation.height, convolution.dilation.width)
        let channels = inputSize.channels
        let depth = kernelHeight * kernelWidth * channels
        var patch = patches
        for outputY in rows {
            for outputX in 0..<outputWidth {
                let originY = outputY * strideY - padding.top
                let originX = outputX * strideX - padding.left
                let lastX = originX + (kernelWidth - 1) * dilationX
                for kernelY in 0..<kernelHeight {
                    let inputY = originY + kernelY * dilationY
                    let target = patch + kernelY * kernelWidth * channels
                    guard inputY >= 0, inputY < inputSize.height else {
                        target.update(repeating: 0, count: kernelWidth * channels)
                        continue
                    }
                    let inputRow = input + inputY * inputSize.width * channels
                    if dilationX == 1, originX >= 0, lastX < inputSize.width {
                        // The whole kernel row is inside: one contiguous copy.
                        target.update(from: inputRow + originX * channels, count: kernelWidth * channels)
                        continue
                    }
                    for kernelX in 0..<kernelWidth {
                        let inputX = originX + kernelX * dilationX
                        let cell = target + kernelX * channels
                        if inputX >= 0, inputX < inputSize.width {
                            cell.update(from: inputRow + inputX * channels, count: channels)
                        } else {
                            cell.update(repeating: 0, count: channels)
                        }
                    }
                }
                patch += depth
            }
        }
    }
}

/// Adds the bias and applies the activation to (positions, channels) values in place, the
/// positions shared among `workers`.
enum Epilogue {
    static func apply(bias: [Float]?, activation: Activation, to values: UnsafeMutablePointer<Float>,
                      positions: Int, channels: Int, workers: Int = 1) {
        guard bias != nil || activation != .linear else { return }
        Parallel.split(positions, workers: workers, minimumShare: 4096 / max(channels, 1) + 1) { _, share in
            let start = values + share.lowerBound * channels
            if let bias {
                bias.withUnsafeBufferPointer { bias in
                    for position in 0..<share.count {
                        let row = start + position * channels
                        for channel in 0..<channels { row[channel] += bias[channel] }
                    }
                }
            }
            ActivationKernel.apply(activation, to: start, positions: share.count, channels: channels)
        }
    }
}
