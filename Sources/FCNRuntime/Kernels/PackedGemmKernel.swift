import CKernels
import FCNModel

/// Products with few rows and large weights — dense layers and the convolutions they become in
/// a fully convolutional net (e.g. AlexNet's fc6: 64 rows, depth 9216, 4096 columns) — by the
/// platform's packed GEMM: the (depth, columns) weights are packed once, when the executor is
/// built, in panels of the level's width (32 for AVX-512), and each run streams them past the
/// rows held in registers and cache. The workers share the panels, so each reads only its part
/// of the weights. For convolutions the patch matrix is built in bands of output rows, as on the
/// im2col path.
enum PackedGemmKernel {
    /// A (depth, columns) weight matrix packed in panels for one level's kernel.
    struct PackedWeights {
        let values: AlignedFloats
        let depth: Int
        let columns: Int
        /// The level the weights were packed for, whose kernel runs them.
        let platform: Platform
    }

    /// Weights with at least this many values (4 MiB) take the packed GEMM: below it a layer's
    /// weights stay in cache and OpenBLAS's GEMM is as fast.
    static let minimumWeights = 1 << 20

    /// Whether a layer with a (depth, columns) weight matrix takes this path on `platform`.
    static func applies(depth: Int, columns: Int, platform: Platform) -> Bool {
        platform.packedGemm != nil && depth * columns >= minimumWeights
    }

    /// Packs the row-major (depth, columns) `weights` for `platform`'s kernel.
    static func pack(_ weights: [Float], depth: Int, columns: Int, platform: Platform) -> PackedWeights {
        let gemm = platform.packedGemm!
        let count = fcn_packed_count(Int32(depth), Int32(columns), Int32(gemm.panelWidth))
        let values = AlignedFloats(count: count, alignment: platform.alignment) { packed in
            gemm.pack(weights, Int32(depth), Int32(columns), packed)
        }
        return PackedWeights(values: values, depth: depth, columns: columns, platform: platform)
    }

    /// output (rows, columns) = a (rows, depth; rows `aStride` floats apart) · weights, the panels
    /// shared among `workers`.
    static func multiply(rows: Int, a: UnsafePointer<Float>, aStride: Int, weights: PackedWeights,
                         output: UnsafeMutablePointer<Float>, workers: Int) {
        multiply(rows: rows, a: a, aStride: aStride, packed: weights.values.base, depth: weights.depth, columns: weights.columns,
                 platform: weights.platform, output: output, workers: workers)
    }

    /// output (rows, columns) = a (rows, depth; rows `aStride` floats apart) · b, where `packed` is
    /// the (depth, columns) matrix b packed by `platform`'s pack_gemm, the panels shared among `workers`.
    static func multiply(rows: Int, a: UnsafePointer<Float>, aStride: Int, packed: UnsafePointer<Float>, depth: Int, columns: Int,
                         platform: Platform, output: UnsafeMutablePointer<Float>, workers: Int) {
        let gemm = platform.packedGemm!
        var product = fcn_gemm(rows: Int32(rows), depth: Int32(depth), columns: Int32(columns),
                               a: a, a_stride: aStride, packed: packed, c: output, c_stride: columns)
        withUnsafePointer(to: &product) { product in
            Parallel.split((columns + gemm.panelWidth - 1) / gemm.panelWidth, workers: workers) { _, panels in
                gemm.function(product, Int32(panels.lowerBound), Int32(panels.count))
            }
        }
    }

    /// The scratch, in floats, a convolution on this path needs for an output of `outputSize`:
    /// its patch matrix, or a band of output rows of it within `budget` (at least one row);
    /// none when the input already is the patch matrix.
    static func scratchNeeded(_ convolution: Convolution, depth: Int, outputSize: Size2D, padding: EdgePadding, budget: Int) -> Int {
        guard !ConvolutionKernel.isPointwise(convolution, padding: padding) else { return 0 }
        let row = outputSize.width * depth
        return row * max(1, min(outputSize.height, budget / row))
    }

    /// Computes the convolution of `input` into `output` with bias and activation, a band of
    /// output rows at a time: the band's patches gathered by all workers, then its product.
    static func run(
        _ convolution: Convolution, weights: PackedWeights, bias: [Float]?,
        input: UnsafePointer<Float>, inputSize: MapSize,
        output: UnsafeMutablePointer<Float>, outputSize: MapSize, padding: EdgePadding,
        scratch: UnsafeMutablePointer<Float>, scratchCount: Int, workers: Int
    ) {
        let (depth, filters, width) = (weights.depth, weights.columns, outputSize.width)
        if ConvolutionKernel.isPointwise(convolution, padding: padding) {
            multiply(rows: outputSize.height * width, a: input, aStride: depth, weights: weights, output: output, workers: workers)
            Epilogue.apply(bias: bias, activation: convolution.activation, to: output, positions: outputSize.height * width,
                           channels: filters, workers: workers)
            return
        }
        let rowsPerBand = max(1, scratchCount / (width * depth))
        for first in stride(from: 0, to: outputSize.height, by: rowsPerBand) {
            let band = first..<min(outputSize.height, first + rowsPerBand)
            Parallel.split(band.count, workers: workers) { _, rows in
                ConvolutionKernel.gatherPatches(convolution, input: input, inputSize: inputSize, outputWidth: width,
                                                rows: (first + rows.lowerBound)..<(first + rows.upperBound), padding: padding,
                                                into: scratch + rows.lowerBound * width * depth)
            }
            let target = output + first * width * filters
            multiply(rows: band.count * width, a: scratch, aStride: depth, weights: weights, output: target, workers: workers)
            Epilogue.apply(bias: bias, activation: convolution.activation, to: target, positions: band.count * width,
                           channels: filters, workers: workers)
        }
    }
}
