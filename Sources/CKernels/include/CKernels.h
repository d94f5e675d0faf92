#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>

/// The runtime's innermost loops in C, where each function can be compiled for its own
/// instruction set: the direct convolution, the packed GEMM and Winograd's transforms. Which
/// ones run is decided once, by the platform table (fcn_platform), never at a call site.

// MARK: - Packed panels

/// Packs the row-major (depth × columns) matrix `matrix` into panels of `width` columns: panel p
/// holds columns [width·p, width·p + width), depth rows of `width` floats each, zeros past the
/// last column: the direct convolution's filters, with the width their platform gives.
void fcn_pack_panels(const float *matrix, int depth, int columns, int width, float *packed);

/// The number of floats fcn_pack_panels writes (and a level's pack_gemm).
size_t fcn_packed_count(int depth, int columns, int width);

// MARK: - Direct convolution

/// Direct convolution of HWC feature maps, for convolutions whose patch matrix is thin (few
/// input channels, as in a network's first layers) and on which a general matrix product wastes
/// most of its time packing. The kernel reads the input where it lies: for one kernel row, the
/// patches of consecutive output positions are overlapping runs of one input row. The filters
/// are packed once, when the network is prepared, into panels of the platform's
/// direct_panel_width filters, depth in (ky, kx, channel) order.

/// The largest kernel the direct convolution takes: at most FCN_DIRECT_MAX_KERNEL_ROWS rows,
/// and at most FCN_DIRECT_MAX_DEPTH values (kernel_height × kernel_width × channels) per patch.
#define FCN_DIRECT_MAX_KERNEL_ROWS 16
#define FCN_DIRECT_MAX_DEPTH 2048

/// The shape of one direct convolution: input (height, width, channels) in HWC order, a
/// kernel_height × kernel_width window moved by the strides, the input padded with zeros by
/// pad_top rows and pad_left columns before the first window (windows may also reach past
/// the bottom and right edges: zeros there too), and an output (…, output_width, filters).
typedef struct {
    int input_height, input_width, channels;
    int kernel_height, kernel_width, stride_y, stride_x, pad_top, pad_left;
    int output_width, filters;
} fcn_convolution_shape;

/// Writes output rows [first_row, first_row + row_count) (HWC, without bias or activation) from
/// filters packed in the platform's panels. The kernel must be within FCN_DIRECT_MAX_KERNEL_ROWS
/// and FCN_DIRECT_MAX_DEPTH.
typedef void (*fcn_direct_convolution_function)(const fcn_convolution_shape *shape, const float *input,
                                                const float *packed, float *output, int first_row, int row_count);

// MARK: - Packed GEMM

/// One product c (rows × columns) = a (rows × depth) · b (depth × columns), row-major a and c
/// with the given row strides (in floats), b packed by the platform's pack_gemm. For products
/// with few rows and large right-hand matrices (dense layers and the convolutions they become),
/// whose weights are packed once and streamed.
typedef struct {
    int rows, depth, columns;
    const float *a;
    size_t a_stride;
    const float *packed;
    float *c;
    size_t c_stride;
} fcn_gemm;

/// Computes the columns of panels [first_panel, first_panel + panel_count) of `product`; workers
/// given disjoint panel ranges write disjoint columns.
typedef void (*fcn_packed_gemm_function)(const fcn_gemm *product, int first_panel, int panel_count);

/// Packs the row-major (depth × columns) matrix for the level's packed GEMM: panels of
/// gemm_panel_width columns (zeros past the last) in the kernel's own order,
/// fcn_packed_count(depth, columns, gemm_panel_width) floats.
typedef void (*fcn_pack_gemm_function)(const float *matrix, int depth, int columns, float *packed);

// MARK: - Winograd transforms

/// U = G g Gᵀ for every (in, out) pair of an (r, r, in, out) kernel `kernel`, where `transform` is
/// G (6 × r, row-major) and `pairs` = in · out; writes (36, in, out) to `result`. `scratch`
/// holds 6 × r × pairs floats.
typedef void (*fcn_winograd_kernel_function)(const float *kernel, int r, size_t pairs, const float *transform,
                                             float *scratch, float *result);

/// V = Bᵀ d B for one 6×6 block `d` of `channels` channels, (36, channels) in row-major
/// position order, for the points 0, ±1, ±2, ∞; element k of every channel's V goes to
/// `target + k · stride`. `scratch` holds 36 × channels floats.
typedef void (*fcn_winograd_input_function)(const float *d, int channels, float *scratch, float *target, size_t stride);

/// Y = Aᵀ m A for `filters` filters, where `transform` is Aᵀ (block × 6, row-major) and element k
/// of m is at `m + k · stride`; writes the top-left `rows` × `columns` of the block × block
/// result to `output`, position (row, column) at `output + row · output_row_stride + column · filters`.
/// `scratch` holds block × 6 × filters floats.
typedef void (*fcn_winograd_output_function)(const float *m, size_t stride, int filters, const float *transform, int block,
                                             float *scratch, float *output, size_t output_row_stride, int rows, int columns);

// MARK: - Platform

/// The instruction-set levels the kernels are compiled for, lowest first. AVX2 means AVX2 with
/// FMA; AVX-512 means its F, BW, VL and DQ subsets (with FMA), with the OS saving zmm state.
typedef enum { FCN_ISA_BASELINE = 0, FCN_ISA_AVX2 = 1, FCN_ISA_AVX512 = 2 } fcn_isa;

/// Every kernel of one level and the layout constants that go with them, like ONNX Runtime
/// MLAS's MLAS_PLATFORM. A NULL kernel means the level has none: the runtime then takes its
/// general path (im2col + OpenBLAS).
typedef struct {
    fcn_isa isa;
    /// "baseline", "avx2" or "avx512", as profiles and FCN_MAX_ISA spell it.
    const char *name;
    /// The alignment, in bytes, of workspace buffers, packed weights and per-worker scratch.
    size_t alignment;
    /// Filters per packed panel of the direct convolution (0 when it has none).
    int direct_panel_width;
    fcn_direct_convolution_function direct_convolution;
    /// Columns per packed panel of the packed GEMM (0 when it has none).
    int gemm_panel_width;
    fcn_packed_gemm_function packed_gemm;
    fcn_pack_gemm_function pack_gemm;
    fcn_winograd_kernel_function winograd_kernel;
    fcn_winograd_input_function winograd_input;
    fcn_winograd_output_function winograd_output;
} fcn_platform;

/// The highest level this CPU and its OS run, from CPUID and XCR0, found on first use.
fcn_isa fcn_detected_isa(void);

/// The table of `isa`, or of fcn_detected_isa() when `isa` is above it.
const fcn_platform *fcn_platform_table(fcn_isa isa);

#endif
