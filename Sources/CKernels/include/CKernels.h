#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>

/// The runtime's innermost loops in C, where the compiler can use AVX2 and FMA and pick them at
/// run time: the direct convolution and Winograd's transforms.

// MARK: - Direct convolution

/// Direct convolution of HWC feature maps, for convolutions whose patch matrix is thin (few
/// input channels, as in a network's first layers) and on which a general matrix product wastes
/// most of its time packing. The kernel reads the input where it lies: for one kernel row, the
/// patches of consecutive output positions are overlapping runs of one input row. The filters
/// are packed once, when the network is prepared, into panels of FCN_PANEL_WIDTH filters.
/// The kernel needs AVX2 and FMA; elsewhere fcn_direct_available() is 0.

#define FCN_PANEL_WIDTH 16

/// The largest kernel the direct convolution takes: at most FCN_DIRECT_MAX_KERNEL_ROWS rows,
/// and at most FCN_DIRECT_MAX_DEPTH values (kernel_height × kernel_width × channels) per patch.
#define FCN_DIRECT_MAX_KERNEL_ROWS 16
#define FCN_DIRECT_MAX_DEPTH 2048

/// 1 when this CPU can run fcn_direct_convolution, else 0.
int fcn_direct_available(void);

/// The number of floats the packed form of a (depth × filters) kernel matrix takes.
size_t fcn_packed_filters_count(int depth, int filters);

/// Packs the row-major (depth × filters) kernel matrix, depth in (ky, kx, channel) order, into
/// panels: panel p holds filters [16p, 16p + 16), depth after depth, zero past the last filter.
void fcn_pack_filters(const float *kernel, int depth, int filters, float *packed);

/// The shape of one direct convolution: input (height, width, channels) in HWC order, a
/// kernel_height × kernel_width window moved by the strides, the input padded with zeros by
/// pad_top rows and pad_left columns before the first window (windows may also reach past
/// the bottom and right edges: zeros there too), and an output (…, output_width, filters).
typedef struct {
    int input_height, input_width, channels;
    int kernel_height, kernel_width, stride_y, stride_x, pad_top, pad_left;
    int output_width, filters;
} fcn_convolution_shape;

/// Writes output rows [first_row, first_row + row_count) (HWC, without bias or activation). The
/// kernel must be within FCN_DIRECT_MAX_KERNEL_ROWS and FCN_DIRECT_MAX_DEPTH.
void fcn_direct_convolution(const fcn_convolution_shape *shape, const float *input, const float *packed,
                            float *output, int first_row, int row_count);

// MARK: - Winograd transforms

/// U = G g Gᵀ for every (in, out) pair of an (r, r, in, out) kernel `kernel`, where `transform` is
/// G (6 × r, row-major) and `pairs` = in · out; writes (36, in, out) to `result`. `scratch`
/// holds 6 × r × pairs floats.
void fcn_winograd_kernel(const float *kernel, int r, size_t pairs, const float *transform, float *scratch, float *result);

/// V = Bᵀ d B for one 6×6 block `d` of `channels` channels, (36, channels) in row-major
/// position order, for the points 0, ±1, ±2, ∞; element k of every channel's V goes to
/// `target + k · stride`. `scratch` holds 36 × channels floats.
void fcn_winograd_input(const float *d, int channels, float *scratch, float *target, size_t stride);

/// Y = Aᵀ m A for `filters` filters, where `transform` is Aᵀ (block × 6, row-major) and element k
/// of m is at `m + k · stride`; writes the top-left `rows` × `columns` of the block × block
/// result to `output`, position (row, column) at `output + row · output_row_stride + column · filters`.
/// `scratch` holds block × 6 × filters floats.
void fcn_winograd_output(const float *m, size_t stride, int filters, const float *transform, int block, float *scratch,
                         float *output, size_t output_row_stride, int rows, int columns);

#endif
