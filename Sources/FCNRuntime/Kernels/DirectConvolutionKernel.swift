import CKernels
import FCNModel

/// Convolution read straight from the input, for thin patch matrices: few input channels (a
/// network's first layers), small kernels, 1×1 convolutions with few filters. There im2col +
/// GEMM spends its time packing narrow matrices; this kernel (C, AVX2 and FMA) reads each
/// kernel row's patches where they lie in the input and keeps 6 positions × 16 filters of sums
/// in registers. The filters are packed in panels of 16 once, when the executor is built.
enum DirectConvolutionKernel {
    /// A kernel (kh·kw·in, out) packed in panels of 16 filters.
    struct PackedFilters {
        let values: [Float]
        let filters: Int
    }

    /// Whether this CPU runs the kernel (x86-64 with AVX2 and FMA).
    static let isAvailable = fcn_direct_available() != 0

    /// Whether a convolution takes this path: the CPU runs it, no dilation, and a kernel small
    /// enough for the patch of a position to stay in the first-level cache.
    static func applies(to convolution: Convolution, inputChannels: Int) -> Bool {
        let size = convolution.kernelSize
        return isAvailable && convolution.dilation == Size2D(square: 1) && size.height <= Int(FCN_DIRECT_MAX_KERNEL_ROWS)
            && size.height * size.width * inputChannels <= Int(FCN_DIRECT_MAX_DEPTH)
    }

    /// Packs a (kh, kw, in, out) kernel, given as its (kh·kw·in, out) matrix.
    static func pack(kernel: [Float], depth: Int, filters: Int) -> PackedFilters {
        let values = [Float](unsafeUninitializedCapacity: fcn_packed_filters_count(Int32(depth), Int32(filters))) { packed, count in
            fcn_pack_filters(kernel, Int32(depth), Int32(filters), packed.baseAddress!)
            count = packed.count
        }
        return PackedFilters(values: values, filters: filters)
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
        filters.values.withUnsafeBufferPointer { packed in
            let packed = packed.baseAddress!
            withUnsafePointer(to: &shape) { shape in
                Parallel.split(outputSize.height, workers: workers) { _, rows in
                    for row in rows {
                        // Bias and activation while the row is still in cache.
                        fcn_direct_convolution(shape, input, packed, output, Int32(row), 1)
                        Epilogue.apply(bias: bias, activation: convolution.activation, to: output + row * width * channels,
                                       positions: width, channels: channels)
                    }
                }
            }
        }
    }
}
