#include "levels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

/// The most output positions a tile of any level has (AVX-512's 12).
enum { MAX_TILE_POSITIONS = 12 };

/// A border tile's patches are gathered on the stack.
enum { GATHER_LIMIT = MAX_TILE_POSITIONS * FCN_DIRECT_MAX_DEPTH };

/// For the tile's `positions` positions at the image border, one kernel row of their patches
/// copied with zeros where the window is outside the input; `count` positions, the rest zero.
static void gather_row(const float *input_row, int input_width, int channels, int kernel_width, int first_x,
                       int stride_x, int positions, int count, float *target) {
    int run = kernel_width * channels;
    for (int position = 0; position < positions; position++) {
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

/// One tile of a level: the sums over `segments` kernel rows of patches · filters for the level's
/// positions and one panel of filters, written as `count` positions × `width` filters at
/// `target`, positions `target_stride` apart. Segment s holds the positions' patches for one
/// kernel row, `stride` apart, `run` values each, and `filters[s]` the panel's rows for them.
typedef void (*multiply_tile_function)(int segments, const float *const *patches, const float *const *filters, int stride,
                                       int run, float *target, int target_stride, int count, int width);

/// The level-independent part: for each output row, the kernel rows that meet the input, and
/// for each tile of `positions` outputs the patches in place (or gathered at the border), then
/// one `multiply` per panel of `panel_width` filters.
static inline __attribute__((always_inline)) void convolve(const fcn_convolution_shape *shape, const float *input,
                                                           const float *packed, float *output, int first_row, int row_count,
                                                           int positions, int panel_width, multiply_tile_function multiply) {
    const int channels = shape->channels, kernel_width = shape->kernel_width;
    const int run = kernel_width * channels;  // one kernel row of a patch
    const int depth = shape->kernel_height * run;
    const int panels = (shape->filters + panel_width - 1) / panel_width;
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
        for (int x = 0; x < shape->output_width; x += positions) {
            int count = shape->output_width - x < positions ? shape->output_width - x : positions;
            int first_x = x * shape->stride_x - shape->pad_left;
            int last_x = first_x + (count - 1) * shape->stride_x + kernel_width - 1;
            int inside = count == positions && first_x >= 0 && last_x < shape->input_width;
            for (int segment = 0; segment < segments; segment++) {
                int input_y = y * shape->stride_y - shape->pad_top + kernel_rows[segment];
                const float *input_row = input + (size_t)input_y * shape->input_width * channels;
                if (inside) {
                    patches[segment] = input_row + (size_t)first_x * channels;
                } else {
                    float *target = gathered + (size_t)segment * positions * run;
                    gather_row(input_row, shape->input_width, channels, kernel_width, first_x, shape->stride_x, positions,
                               count, target);
                    patches[segment] = target;
                }
            }
            int stride = inside ? shape->stride_x * channels : run;
            for (int panel = 0; panel < panels; panel++) {
                const float *panel_filters = packed + (size_t)panel * depth * panel_width;
                for (int segment = 0; segment < segments; segment++) {
                    filters[segment] = panel_filters + (size_t)kernel_rows[segment] * run * panel_width;
                }
                int width = shape->filters - panel * panel_width;
                float *target = output + ((size_t)y * shape->output_width + x) * shape->filters + panel * panel_width;
                multiply(segments, patches, filters, stride, run, target, shape->filters, count,
                         width < panel_width ? width : panel_width);
            }
        }
    }
}

// MARK: - AVX2: 6 positions × 16 filters

/// 12 accumulators, two rows of filters and one broadcast input in the 16 ymm registers.
enum { AVX2_POSITIONS = 6, AVX2_PANEL = 16 };

/// Position i's step: its broadcast input times both halves of the filter row.
#define AVX2_STEP(i)                                                    \
    value = _mm256_broadcast_ss(row##i + k);                            \
    sums[i][0] = _mm256_fmadd_ps(value, left, sums[i][0]);              \
    sums[i][1] = _mm256_fmadd_ps(value, right, sums[i][1]);

FCN_TARGET_AVX2 __attribute__((noinline))
static void multiply_tile_avx2(int segments, const float *const *patches, const float *const *filters, int stride, int run,
                               float *target, int target_stride, int count, int width) {
    __m256 sums[AVX2_POSITIONS][2];
    for (int i = 0; i < AVX2_POSITIONS; i++) sums[i][0] = sums[i][1] = _mm256_setzero_ps();
    for (int segment = 0; segment < segments; segment++) {
        const float *row0 = patches[segment], *row1 = row0 + stride, *row2 = row1 + stride;
        const float *row3 = row2 + stride, *row4 = row3 + stride, *row5 = row4 + stride;
        const float *b = filters[segment];
        // Written out position by position: as a loop over them, clang keeps the sums on the stack.
        for (int k = 0; k < run; k++, b += AVX2_PANEL) {
            __m256 left = _mm256_loadu_ps(b), right = _mm256_loadu_ps(b + 8), value;
            AVX2_STEP(0) AVX2_STEP(1) AVX2_STEP(2) AVX2_STEP(3) AVX2_STEP(4) AVX2_STEP(5)
        }
    }
    float tile[AVX2_PANEL];
    for (int i = 0; i < count; i++) {
        float *position = target + (size_t)i * target_stride;
        if (width == AVX2_PANEL) {
            _mm256_storeu_ps(position, sums[i][0]);
            _mm256_storeu_ps(position + 8, sums[i][1]);
        } else {
            _mm256_storeu_ps(tile, sums[i][0]);
            _mm256_storeu_ps(tile + 8, sums[i][1]);
            memcpy(position, tile, sizeof(float) * width);
        }
    }
}

void fcn_direct_convolution_avx2(const fcn_convolution_shape *shape, const float *input, const float *packed,
                                 float *output, int first_row, int row_count) {
    convolve(shape, input, packed, output, first_row, row_count, AVX2_POSITIONS, AVX2_PANEL, multiply_tile_avx2);
}

// MARK: - AVX-512: 12 positions × 32 filters

/// 24 accumulators, two rows of filters and one broadcast input in the 32 zmm registers: per
/// step 2 loads and 12 broadcasts feed 24 FMAs, so the FMA units, not the loads, set the pace.
enum { AVX512_POSITIONS = 12, AVX512_PANEL = 32 };

#define AVX512_STEP(i)                                                  \
    value = _mm512_set1_ps(row##i[k]);                                  \
    sums[i][0] = _mm512_fmadd_ps(value, left, sums[i][0]);              \
    sums[i][1] = _mm512_fmadd_ps(value, right, sums[i][1]);

FCN_TARGET_AVX512 __attribute__((noinline))
static void multiply_tile_avx512(int segments, const float *const *patches, const float *const *filters, int stride,
                                 int run, float *target, int target_stride, int count, int width) {
    __m512 sums[AVX512_POSITIONS][2];
    for (int i = 0; i < AVX512_POSITIONS; i++) sums[i][0] = sums[i][1] = _mm512_setzero_ps();
    for (int segment = 0; segment < segments; segment++) {
        const float *row0 = patches[segment], *row1 = row0 + stride, *row2 = row1 + stride, *row3 = row2 + stride;
        const float *row4 = row3 + stride, *row5 = row4 + stride, *row6 = row5 + stride, *row7 = row6 + stride;
        const float *row8 = row7 + stride, *row9 = row8 + stride, *row10 = row9 + stride, *row11 = row10 + stride;
        const float *b = filters[segment];
        for (int k = 0; k < run; k++, b += AVX512_PANEL) {
            __m512 left = _mm512_loadu_ps(b), right = _mm512_loadu_ps(b + 16), value;
            AVX512_STEP(0) AVX512_STEP(1) AVX512_STEP(2) AVX512_STEP(3) AVX512_STEP(4) AVX512_STEP(5)
            AVX512_STEP(6) AVX512_STEP(7) AVX512_STEP(8) AVX512_STEP(9) AVX512_STEP(10) AVX512_STEP(11)
        }
    }
    // Masks for the two halves of a partial panel.
    const __mmask16 low = width >= 16 ? 0xffff : (__mmask16)((1u << width) - 1);
    const __mmask16 high = width <= 16 ? 0 : width >= 32 ? 0xffff : (__mmask16)((1u << (width - 16)) - 1);
    for (int i = 0; i < count; i++) {
        float *position = target + (size_t)i * target_stride;
        _mm512_mask_storeu_ps(position, low, sums[i][0]);
        _mm512_mask_storeu_ps(position + 16, high, sums[i][1]);
    }
}

void fcn_direct_convolution_avx512(const fcn_convolution_shape *shape, const float *input, const float *packed,
                                   float *output, int first_row, int row_count) {
    convolve(shape, input, packed, output, first_row, row_count, AVX512_POSITIONS, AVX512_PANEL, multiply_tile_avx512);
}

#endif
