import CKernels
import FCNModel

/// Convolution read straight from the input, for thin patch matrices: few input channels (a
/// network's first layers), small kernels, 1×1 convolutions with few filters. There im2col +
/// GEMM spends its time packing narrow matrices; this kernel (C, one per instruction-set level:
/// AVX2 keeps 6 positions × 16 filters of sums in registers, AVX-512 12 × 32) reads each kernel
/// row's patches where they lie in the input. The filters are packed in the level's panels once,
/// when the executor is built.
enum DirectConvolutionKernel {
    /// A (kh·kw·in, out) kernel packed in panels for one level's kernel.
    struct PackedFilters {
        let values: AlignedFloats
        let filters: Int
        /// The level the filters were packed for, whose kernel runs them.
        let platform: Platform
    }

    /// Whether a convolution takes this path: the level has the kernel, no dilation, and a kernel
    /// small enough for the patch of a position to stay in the first-level cache.
    static func applies(to convolution: Convolution, inputChannels: Int, platform: Platform) -> Bool {
        let size = convolution.kernelSize
        return platform.directConvolution != nil && convolution.dilation == Size2D(square: 1)
            && size.height <= Int(FCN_DIRECT_MAX_KERNEL_ROWS) && size.height * size.width * inputChannels <= Int(FCN_DIRECT_MAX_DEPTH)
    }

    /// Packs a (kh, kw, in, out) kernel, given as its (kh·kw·in, out) matrix, for `platform`'s kernel.
    static func pack(kernel: [Float], depth: Int, filters: Int, platform: Platform) -> PackedFilters {
        let width = platform.directConvolution!.panelWidth
        return PackedFilters(values: AlignedFloats(packing: kernel, depth: depth, columns: filters, width: width,
                                                   alignment: platform.alignment),
                             filters: filters, platform: platform)
    }

    /// Computes the convolution of `input` into `output` with bias and activation, the output
    /// rows shared among `workers`.
    static func run(
        _ convolution: Convolution, filters: PackedFilters, bias: [Float]?,
        input: UnsafePointer<Float>, inputSize: MapSize,
        output: UnsafeMutablePointer<Float>, outputSize: MapSize, padding: EdgePadding, workers: Int
    ) {
        var shape = fcn_convolution_shape(
            input_height: Int32(inputSize.height), input_width: Int32(inputSize.width), channels: Int32(inputSize.channels),
            kernel_height: Int32(convolution.kernelSize.height), kernel_width: Int32(convolution.kernelSize.width),
            stride_y: Int32(convolution.strides.height), stride_x: Int32(convolution.strides.width),
            pad_top: Int32(padding.top), pad_left: Int32(padding.left),
            output_width: Int32(outputSize.width), filters: Int32(filters.filters))
        let (width, channels) = (outputSize.width, filters.filters)
        let (convolve, packed) = (filters.platform.directConvolution!.function, UnsafePointer(filters.values.base))
        withUnsafePointer(to: &shape) { shape in
            Parallel.split(outputSize.height, workers: workers) { _, rows in
                for row in rows {
                    // Bias and activation while the row is still in cache.
                    convolve(shape, input, packed, output, Int32(row), 1)
                    Epilogue.apply(bias: bias, activation: convolution.activation, to: output + row * width * channels,
                                   positions: width, channels: channels)
                }
            }
        }
    }
}
