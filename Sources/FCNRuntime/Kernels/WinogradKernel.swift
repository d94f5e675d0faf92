import CKernels
import FCNModel

/// Stride-1 convolution by Winograd's minimal filtering F(m×m, r×r) with 6×6 input blocks
/// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): F(4×4, 3×3),
/// F(3×3, 4×4) and F(2×2, 5×5), all on the points 0, ±1, ±2, ∞.
///
/// Each m×m block of outputs comes from a 6×6 block of inputs: `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`.
/// Across channels the element-wise products become 36 matrix products
/// `M_k (tiles, out) = V_k (tiles, in) · U_k (in, out)`, which is where the time goes: 36
/// multiply-adds per m² outputs instead of r²·m² (4× fewer for 3×3 and 4×4, 2.8× for 5×5).
/// Bᵀ depends only on the points; G (6×r) and Aᵀ (m×6) follow from them. The kernel transform
/// U is made once when the executor is built. Tiles are processed a set at a time, so the
/// transformed data stays within a fixed budget whatever the image size: private chunks per
/// worker for narrow layers, bands shared by all workers for wide ones (see `chunkTiles`).
enum WinogradKernel {
    /// The transformed kernel: 36 matrices of (inputChannels, filters), k = 6·row + column, each
    /// packed for the platform's packed GEMM when the level has one and the layer is wide enough
    /// (see `packsProducts`), else row-major for OpenBLAS.
    struct TransformedWeights {
        /// Matrix k at `matrices.base + k · matrixStride`.
        let matrices: AlignedFloats
        let matrixStride: Int
        let isPacked: Bool
        let inputChannels: Int
        let filters: Int
        /// The kernel size r and the output block m = 7 − r.
        let kernel: Int
        /// The level whose transforms made the weights and transform the layer's inputs and outputs.
        let platform: Platform
        var outputBlock: Int { 7 - kernel }
    }

    /// Whether a convolution takes this path: square r×r with r from 3 to 5, stride 1, no
    /// dilation, and enough channels for the matrix products to pay for the transforms (more
    /// for 5×5, whose blocks give only 4 outputs).
    static func applies(to convolution: Convolution, inputChannels: Int) -> Bool {
        let size = convolution.kernelSize
        guard size.height == size.width, (3...5).contains(size.height), convolution.strides == Size2D(square: 1),
              convolution.dilation == Size2D(square: 1)
        else { return false }
        return size.height == 5 ? inputChannels >= 64 && convolution.filters >= 64 : inputChannels >= 8 && convolution.filters >= 8
    }

    /// The finite points and their normalisers; the sixth point is ∞.
    private static let points: [Float] = [0, 1, -1, 2, -2]
    private static let normalisers: [Float] = [4, -6, -6, 24, 24]

    /// G (6×r), the kernel transform: row i is (1, p, p², …)/nᵢ for point p, then (0, …, 0, 1).
    static func kernelTransform(_ r: Int) -> [[Float]] {
        zip(points, normalisers).map { point, normaliser in
            (0..<r).map { power in (0..<power).reduce(Float(1)) { product, _ in product * point } / normaliser }
        } + [(0..<r).map { $0 == r - 1 ? 1 : 0 }]
    }

    /// Aᵀ (m×6), the output transform: row j is (p⁰ʲ…) over the points, 1 at ∞ in the last row.
    static func outputTransform(_ m: Int) -> [[Float]] {
        (0..<m).map { power in
            points.map { point in (0..<power).reduce(Float(1)) { product, _ in product * point } } + [power == m - 1 ? 1 : 0]
        }
    }

    /// Whether a layer's 36 products take the platform's packed GEMM: at least a panel of filters
    /// and 64 input channels. With fewer channels each tile of the product is too short to pay for
    /// loading and storing its sums (measured: LeNet's 50-channel ip1 runs faster on OpenBLAS).
    static func packsProducts(inputChannels: Int, filters: Int, platform: Platform) -> Bool {
        guard let gemm = platform.packedGemm else { return false }
        return filters >= gemm.panelWidth && inputChannels >= 64
    }

    /// U = G g Gᵀ for every (in, out) pair of an (r, r, in, out) kernel, by `platform`'s
    /// transforms, packed for its packed GEMM where `packsProducts`.
    static func transform(kernel: [Float], size r: Int, inputChannels: Int, filters: Int, platform: Platform) -> TransformedWeights {
        let pairs = inputChannels * filters
        var scratch = [Float](repeating: 0, count: 6 * r * pairs)
        let plain = AlignedFloats(count: 36 * pairs, alignment: platform.alignment) { result in
            platform.winogradKernel(kernel, Int32(r), pairs, kernelTransform(r).flatMap { $0 }, &scratch, result)
        }
        guard let gemm = platform.packedGemm, packsProducts(inputChannels: inputChannels, filters: filters, platform: platform) else {
            return TransformedWeights(matrices: plain, matrixStride: pairs, isPacked: false, inputChannels: inputChannels,
                                      filters: filters, kernel: r, platform: platform)
        }
        let stride = fcn_packed_count(Int32(inputChannels), Int32(filters), Int32(gemm.panelWidth))
        let packed = AlignedFloats(count: 36 * stride, alignment: platform.alignment) { packed in
            for k in 0..<36 { gemm.pack(plain.base + k * pairs, Int32(inputChannels), Int32(filters), packed + k * stride) }
        }
        return TransformedWeights(matrices: packed, matrixStride: stride, isPacked: true, inputChannels: inputChannels,
                                  filters: filters, kernel: r, platform: platform)
    }

    /// Layers whose transformed kernel has at most this many (in, out) pairs (36 matrices, 2.4 MB
    /// at most) run in private chunks: each worker takes a few tiles at a time through all three
    /// stages alone, so its transformed inputs and products stay in its own cache. Larger kernels
    /// would be read again for every chunk; their layers run in bands shared by all workers.
    static let privateChunkPairs = 128 * 128

    /// Tiles per private chunk, nil when the layer runs in shared bands: about 1 MiB of
    /// transformed inputs and products (36 · tiles · (in + out) floats).
    static func chunkTiles(inputChannels: Int, filters: Int) -> Int? {
        guard inputChannels * filters <= privateChunkPairs else { return nil }
        return max(8, (1 << 18) / (36 * (inputChannels + filters)))
    }

    /// Per worker: one 6×6 input block and its half-transformed form (2 × (36, in)), then
    /// (m, 6, out) for the output transform.
    /// Rounded to whole cache lines, so that workers never share one.
    private static func blockScratch(inputChannels: Int, filters: Int) -> Int {
        (72 * inputChannels + 24 * filters).rounded(upToMultipleOf: ExecutionPlan.cacheLineFloats)
    }

    /// The floats of scratch a layer with `outputSize` needs with `workers` threads: private
    /// chunks for every worker, or a band of tile rows within `budget` floats (at least one).
    static func scratchNeeded(outputSize: Size2D, block: Int, inputChannels: Int, filters: Int, workers: Int, budget: Int) -> Int {
        let fixed = workers * blockScratch(inputChannels: inputChannels, filters: filters)
        if let chunk = chunkTiles(inputChannels: inputChannels, filters: filters) {
            return workers * 36 * chunk * (inputChannels + filters) + fixed
        }
        let tilesAcross = (outputSize.width + block - 1) / block
        let tileRows = (outputSize.height + block - 1) / block
        let perTileRow = 36 * tilesAcross * (inputChannels + filters)
        return fixed + perTileRow * max(1, min(tileRows, (budget - fixed) / perTileRow))
    }

    static func run(
        _ convolution: Convolution, weights: TransformedWeights, bias: [Float]?,
        input: UnsafePointer<Float>, inputSize: MapSize,
        output: UnsafeMutablePointer<Float>, outputSize: MapSize, padding: EdgePadding,
        scratch: UnsafeMutablePointer<Float>, scratchCount: Int, workers: Int
    ) {
        let (channels, filters, block) = (weights.inputChannels, weights.filters, weights.outputBlock)
        let tilesAcross = (outputSize.width + block - 1) / block
        let tileCount = tilesAcross * ((outputSize.height + block - 1) / block)
        let perWorker = blockScratch(inputChannels: channels, filters: filters)
        let blocks = scratch  // per worker, then the tiles' data
        let stages = Stages(convolution: convolution, weights: weights, bias: bias, input: input, inputSize: inputSize, output: output,
                            outputSize: outputSize, padding: padding, tilesAcross: tilesAcross, outputRows: outputTransform(block).flatMap { $0 })
        let transformed = UnsafePointer(weights.matrices.base)
        if let chunk = chunkTiles(inputChannels: channels, filters: filters) {
            let chunkData = scratch + workers * perWorker
            let chunkCount = (tileCount + chunk - 1) / chunk
            Parallel.split(chunkCount, workers: workers, piecesPerWorker: chunkCount) { worker, chunks in
                let block = blocks + worker * perWorker
                let data = chunkData + worker * 36 * chunk * (channels + filters)
                for index in chunks {
                    let tiles = (index * chunk)..<min(tileCount, (index + 1) * chunk)
                    stages.transformInputs(tiles, of: tiles, block: block, into: data)
                    stages.multiply(elements: 0..<36, tileCount: tiles.count, transformed: transformed, data: data)
                    stages.transformOutputs(tiles, of: tiles, block: block, data: data)
                }
            }
            return
        }
        let bandData = scratch + workers * perWorker
        let perTileRow = 36 * tilesAcross * (channels + filters)
        let bandTiles = tilesAcross * max(1, (scratchCount - workers * perWorker) / perTileRow)
        var first = 0
        while first < tileCount {
            let band = first..<min(tileCount, first + bandTiles)
            Parallel.split(band.count, workers: workers, minimumShare: 8) { worker, range in
                let tiles = (band.lowerBound + range.lowerBound)..<(band.lowerBound + range.upperBound)
                stages.transformInputs(tiles, of: band, block: blocks + worker * perWorker, into: bandData)
            }
            Parallel.split(36, workers: workers) { _, elements in
                stages.multiply(elements: elements, tileCount: band.count, transformed: transformed, data: bandData)
            }
            Parallel.split(band.count, workers: workers, minimumShare: 8) { worker, range in
                let tiles = (band.lowerBound + range.lowerBound)..<(band.lowerBound + range.upperBound)
                stages.transformOutputs(tiles, of: band, block: blocks + worker * perWorker, data: bandData)
            }
            first = band.upperBound
        }
    }

    /// A layer's three stages for any set of tiles (numbered row by row over the
    /// output), whose data — transformed inputs (36, tiles, in), then products (36, tiles, out) —
    /// lies at `data` for the tiles of a band or chunk.
    private struct Stages {
        let convolution: Convolution
        let weights: TransformedWeights
        let bias: [Float]?
        let input: UnsafePointer<Float>
        let inputSize: MapSize
        let output: UnsafeMutablePointer<Float>
        let outputSize: MapSize
        let padding: EdgePadding
        let tilesAcross: Int
        /// Aᵀ (m×6), row-major.
        let outputRows: [Float]

        /// Gathers and transforms `tiles` of `band` into the band's transformed inputs.
        func transformInputs(_ tiles: Range<Int>, of band: Range<Int>, block: UnsafeMutablePointer<Float>,
                             into data: UnsafeMutablePointer<Float>) {
            let (channels, size) = (weights.inputChannels, weights.outputBlock)
            for tile in tiles {
                gather(input: input, inputSize: inputSize, top: (tile / tilesAcross) * size - padding.top,
                       left: (tile % tilesAcross) * size - padding.left, into: block)
                weights.platform.winogradInput(block, Int32(channels), block + 36 * channels, data + (tile - band.lowerBound) * channels,
                                   band.count * channels)
            }
        }

        /// The products of `elements` for a band or chunk of `tileCount` tiles.
        func multiply(elements: Range<Int>, tileCount: Int, transformed: UnsafePointer<Float>, data: UnsafeMutablePointer<Float>) {
            let (channels, filters) = (weights.inputChannels, weights.filters)
            let products = data + 36 * tileCount * channels
            for k in elements {
                let (inputs, matrix, target) = (data + k * tileCount * channels, transformed + k * weights.matrixStride,
                                                products + k * tileCount * filters)
                if weights.isPacked {
                    PackedGemmKernel.multiply(rows: tileCount, a: inputs, aStride: channels, packed: matrix, depth: channels,
                                              columns: filters, platform: weights.platform, output: target, workers: 1)
                } else {
                    ConvolutionKernel.multiply(rows: tileCount, depth: channels, filters: filters, patches: inputs, weights: matrix,
                                               output: target)
                }
            }
        }

        /// Transforms the products of `tiles` of `band` into the output, with bias and activation.
        func transformOutputs(_ tiles: Range<Int>, of band: Range<Int>, block: UnsafeMutablePointer<Float>,
                              data: UnsafeMutablePointer<Float>) {
            let (channels, filters, size) = (weights.inputChannels, weights.filters, weights.outputBlock)
            let products = data + 36 * band.count * channels
            let partial = block + 72 * channels
            for tile in tiles {
                let (top, left) = ((tile / tilesAcross) * size, (tile % tilesAcross) * size)
                let (rows, columns) = (min(size, outputSize.height - top), min(size, outputSize.width - left))
                let corner = output + (top * outputSize.width + left) * filters
                weights.platform.winogradOutput(products + (tile - band.lowerBound) * filters, band.count * filters, Int32(filters), outputRows,
                                    Int32(size), partial, corner, outputSize.width * filters, Int32(rows), Int32(columns))
                for row in 0..<rows {
                    Epilogue.apply(bias: bias, activation: convolution.activation, to: corner + row * outputSize.width * filters,
                                   positions: columns, channels: filters)
                }
            }
        }
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
}
