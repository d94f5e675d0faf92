#include "CKernels.h"

#include <string.h>

size_t fcn_packed_filters_count(int depth, int filters) {
    size_t panels = (size_t)(filters + FCN_PANEL_WIDTH - 1) / FCN_PANEL_WIDTH;
    return panels * (size_t)depth * FCN_PANEL_WIDTH;
}

void fcn_pack_filters(const float *kernel, int depth, int filters, float *packed) {
    int panels = (filters + FCN_PANEL_WIDTH - 1) / FCN_PANEL_WIDTH;
    for (int panel = 0; panel < panels; panel++) {
        int first = panel * FCN_PANEL_WIDTH;
        int width = filters - first < FCN_PANEL_WIDTH ? filters - first : FCN_PANEL_WIDTH;
        float *target = packed + (size_t)panel * depth * FCN_PANEL_WIDTH;
        for (int k = 0; k < depth; k++) {
            memcpy(target, kernel + (size_t)k * filters + first, sizeof(float) * width);
            memset(target + width, 0, sizeof(float) * (FCN_PANEL_WIDTH - width));
            target += FCN_PANEL_WIDTH;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

int fcn_direct_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/// Output positions per tile: 6 positions × 16 filters keep 12 accumulators, two rows of
/// filters and one broadcast input in the 16 AVX registers.
enum { TILE_POSITIONS = 6 };

/// A border tile's patches are gathered on the stack.
enum { GATHER_LIMIT = TILE_POSITIONS * FCN_DIRECT_MAX_DEPTH };

/// For the tile's positions at the image border, one kernel row of their patches copied with
/// zeros where the window is outside the input; `count` positions, the rest zero.
static void gather_row(const float *input_row, int input_width, int channels, int kernel_width, int first_x,
                       int stride_x, int count, float *target) {
    int run = kernel_width * channels;
    for (int position = 0; position < TILE_POSITIONS; position++) {
        float *patch = target + position * run;
        if (position >= count) {
            memset(patch, 0, sizeof(float) * run);
            continue;
        }
        int x = first_x + position * stride_x;
        for (int kx = 0; kx < kernel_width; kx++, x++) {
            if (x >= 0 && x < input_width) {
                memcpy(patch + kx * channels, input_row + (size_t)x * channels, sizeof(float) * channels);
            } else {
                memset(patch + kx * channels, 0, sizeof(float) * channels);
            }
        }
    }
}

/// One tile: the sums over `segments` kernel rows of patches · filters for TILE_POSITIONS
/// positions and one panel of filters, written as `count` positions × `width` filters. Segment s
/// holds the positions' patches for one kernel row, `stride` apart, `run` values each, and
/// `filters[s]` the panel's rows for them.
__attribute__((target("avx2,fma"), noinline))
static void multiply_tile(int segments, const float *const *patches, const float *const *filters, int stride, int run,
                          float *target, int target_stride, int count, int width) {
    __m256 sums[TILE_POSITIONS][2];
    for (int i = 0; i < TILE_POSITIONS; i++) sums[i][0] = sums[i][1] = _mm256_setzero_ps();
    for (int segment = 0; segment < segments; segment++) {
        const float *row0 = patches[segment], *row1 = row0 + stride, *row2 = row1 + stride;
        const float *row3 = row2 + stride, *row4 = row3 + stride, *row5 = row4 + stride;
        const float *b = filters[segment];
        // Written out row by row: as a loop over the rows, clang keeps the sums on the stack.
        for (int k = 0; k < run; k++, b += FCN_PANEL_WIDTH) {
            __m256 left = _mm256_loadu_ps(b), right = _mm256_loadu_ps(b + 8);
            __m256 value = _mm256_broadcast_ss(row0 + k);
            sums[0][0] = _mm256_fmadd_ps(value, left, sums[0][0]);
            sums[0][1] = _mm256_fmadd_ps(value, right, sums[0][1]);
            value = _mm256_broadcast_ss(row1 + k);
            sums[1][0] = _mm256_fmadd_ps(value, left, sums[1][0]);
            sums[1][1] = _mm256_fmadd_ps(value, right, sums[1][1]);
            value = _mm256_broadcast_ss(row2 + k);
            sums[2][0] = _mm256_fmadd_ps(value, left, sums[2][0]);
            sums[2][1] = _mm256_fmadd_ps(value, right, sums[2][1]);
            value = _mm256_broadcast_ss(row3 + k);
            sums[3][0] = _mm256_fmadd_ps(value, left, sums[3][0]);
            sums[3][1] = _mm256_fmadd_ps(value, right, sums[3][1]);
            value = _mm256_broadcast_ss(row4 + k);
            sums[4][0] = _mm256_fmadd_ps(value, left, sums[4][0]);
            sums[4][1] = _mm256_fmadd_ps(value, right, sums[4][1]);
            value = _mm256_broadcast_ss(row5 + k);
            sums[5][0] = _mm256_fmadd_ps(value, left, sums[5][0]);
            sums[5][1] = _mm256_fmadd_ps(value, right, sums[5][1]);
        }
    }
    if (width == FCN_PANEL_WIDTH) {
        for (int i = 0; i < count; i++) {
            _mm256_storeu_ps(target + (size_t)i * target_stride, sums[i][0]);
            _mm256_storeu_ps(target + (size_t)i * target_stride + 8, sums[i][1]);
        }
    } else {
        float tile[FCN_PANEL_WIDTH];
        for (int i = 0; i < count; i++) {
            _mm256_storeu_ps(tile, sums[i][0]);
            _mm256_storeu_ps(tile + 8, sums[i][1]);
            memcpy(target + (size_t)i * target_stride, tile, sizeof(float) * width);
        }
    }
}

void fcn_direct_convolution(const fcn_convolution_shape *shape, const float *input, const float *packed,
                            float *output, int first_row, int row_count) {
    const int channels = shape->channels, kernel_width = shape->kernel_width;
    const int run = kernel_width * channels;  // one kernel row of a patch
    const int depth = shape->kernel_height * run;
    const int panels = (shape->filters + FCN_PANEL_WIDTH - 1) / FCN_PANEL_WIDTH;
    float gathered[GATHER_LIMIT];
    const float *patches[FCN_DIRECT_MAX_KERNEL_ROWS];
    const float *filters[FCN_DIRECT_MAX_KERNEL_ROWS];
    int kernel_rows[FCN_DIRECT_MAX_KERNEL_ROWS];
    for (int y = first_row; y < first_row + row_count; y++) {
        // The kernel rows whose input row exists (the others meet zero padding).
        int segments = 0;
        for (int ky = 0; ky < shape->kernel_height; ky++) {
            int input_y = y * shape->stride_y - shape->pad_top + ky;
            if (input_y >= 0 && input_y < shape->input_height) kernel_rows[segments++] = ky;
        }
        for (int x = 0; x < shape->output_width; x += TILE_POSITIONS) {
            int count = shape->output_width - x < TILE_POSITIONS ? shape->output_width - x : TILE_POSITIONS;
            int first_x = x * shape->stride_x - shape->pad_left;
            int last_x = first_x + (count - 1) * shape->stride_x + kernel_width - 1;
            int inside = count == TILE_POSITIONS && first_x >= 0 && last_x < shape->input_width;
            for (int segment = 0; segment < segments; segment++) {
                int input_y = y * shape->stride_y - shape->pad_top + kernel_rows[segment];
                const float *input_row = input + (size_t)input_y * shape->input_width * channels;
                if (inside) {
                    patches[segment] = input_row + (size_t)first_x * channels;
                } else {
                    float *target = gathered + (size_t)segment * TILE_POSITIONS * run;
                    gather_row(input_row, shape->input_width, channels, kernel_width, first_x, shape->stride_x, count, target);
                    patches[segment] = target;
                }
            }
            int stride = inside ? shape->stride_x * channels : run;
            for (int panel = 0; panel < panels; panel++) {
                const float *panel_filters = packed + (size_t)panel * depth * FCN_PANEL_WIDTH;
                for (int segment = 0; segment < segments; segment++) {
                    filters[segment] = panel_filters + (size_t)kernel_rows[segment] * run * FCN_PANEL_WIDTH;
                }
                int width = shape->filters - panel * FCN_PANEL_WIDTH;
                float *target = output + ((size_t)y * shape->output_width + x) * shape->filters + panel * FCN_PANEL_WIDTH;
                multiply_tile(segments, patches, filters, stride, run, target, shape->filters, count,
                              width < FCN_PANEL_WIDTH ? width : FCN_PANEL_WIDTH);
            }
        }
    }
}

#else

int fcn_direct_available(void) { return 0; }

void fcn_direct_convolution(const fcn_convolution_shape *shape, const float *input, const float *packed,
                            float *output, int first_row, int row_count) {
    (void)shape; (void)input; (void)packed; (void)output; (void)first_row; (void)row_count;
}

#endif
