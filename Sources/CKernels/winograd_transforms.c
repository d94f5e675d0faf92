#include "levels.h"

#include <string.h>

// Each transform is written once, always inlined into one entry point per level (see the end of
// the file), and the platform table picks the entry point. The loops run over channels or
// filters, which are contiguous, so the compiler vectorizes them for each level's registers.
#define FCN_INLINE static inline __attribute__((always_inline))

/// t = Bᵀ x along one axis, for `count` channels: xᵢ is at `source + i · source_step`, tᵢ goes to
/// `target + i · target_step`.
/// Bᵀ rows: [4 0 −5 0 1 0] [0 −4 −4 1 1 0] [0 4 −4 −1 1 0] [0 −2 −1 2 1 0] [0 2 −1 −2 1 0] [0 4 0 −5 0 1]
FCN_INLINE void apply_input_transform(const float *restrict source, size_t source_step, float *restrict target,
                                         size_t target_step, int count) {
    const float *x0 = source, *x1 = x0 + source_step, *x2 = x1 + source_step;
    const float *x3 = x2 + source_step, *x4 = x3 + source_step, *x5 = x4 + source_step;
    float *t0 = target, *t1 = t0 + target_step, *t2 = t1 + target_step;
    float *t3 = t2 + target_step, *t4 = t3 + target_step, *t5 = t4 + target_step;
    for (int c = 0; c < count; c++) {
        t0[c] = 4 * x0[c] - 5 * x2[c] + x4[c];
        t1[c] = -4 * x1[c] - 4 * x2[c] + x3[c] + x4[c];
        t2[c] = 4 * x1[c] - 4 * x2[c] - x3[c] + x4[c];
        t3[c] = -2 * x1[c] - x2[c] + 2 * x3[c] + x4[c];
        t4[c] = 2 * x1[c] - x2[c] - 2 * x3[c] + x4[c];
        t5[c] = 4 * x1[c] - 5 * x3[c] + x5[c];
    }
}

FCN_INLINE void winograd_input(const float *d, int channels, float *scratch, float *target, size_t stride) {
    // First along each block row into scratch, then down each column into the target.
    const size_t c6 = 6 * (size_t)channels;
    for (int row = 0; row < 6; row++) {
        apply_input_transform(d + row * c6, channels, scratch + row * c6, channels, channels);
    }
    for (int column = 0; column < 6; column++) {
        apply_input_transform(scratch + column * (size_t)channels, c6, target + column * stride, 6 * stride, channels);
    }
}

/// target = Σᵢ coefficients[i] · sources[i · source_step] for i < terms, over `count` floats,
/// skipping zero coefficients.
FCN_INLINE void combine(float *restrict target, const float *coefficients, int terms, const float *sources,
                           size_t source_step, size_t count) {
    memset(target, 0, sizeof(float) * count);
    for (int i = 0; i < terms; i++) {
        float a = coefficients[i];
        if (a == 0) continue;
        const float *restrict source = sources + i * source_step;
        for (size_t f = 0; f < count; f++) target[f] += a * source[f];
    }
}

FCN_INLINE void winograd_kernel(const float *kernel, int r, size_t pairs, const float *transform, float *scratch, float *result) {
    // t = G g (6 × r per pair), then U = t Gᵀ (6 × 6 per pair); pairs are contiguous in both.
    for (int row = 0; row < 6; row++) {
        for (int kx = 0; kx < r; kx++) {
            combine(scratch + (row * r + kx) * pairs, transform + row * r, r, kernel + kx * pairs, r * pairs, pairs);
        }
    }
    for (int row = 0; row < 6; row++) {
        for (int column = 0; column < 6; column++) {
            combine(result + (row * 6 + column) * pairs, transform + column * r, r, scratch + row * r * pairs, pairs, pairs);
        }
    }
}

FCN_INLINE void winograd_output(const float *m, size_t stride, int filters, const float *transform, int block, float *scratch,
                         float *output, size_t output_row_stride, int rows, int columns) {
    // First down the rows: scratch[j][column] = Σᵢ Aᵀ[j][i] · m[i][column].
    for (int column = 0; column < 6; column++) {
        for (int j = 0; j < block; j++) {
            combine(scratch + (j * 6 + column) * (size_t)filters, transform + j * 6, 6, m + column * stride, 6 * stride, filters);
        }
    }
    // Then across the columns, straight into the output.
    for (int row = 0; row < rows; row++) {
        for (int column = 0; column < columns; column++) {
            combine(output + row * output_row_stride + column * (size_t)filters, transform + column * 6, 6,
                    scratch + row * 6 * (size_t)filters, filters, filters);
        }
    }
}

/// The entry points of level LEVEL, compiled with the function attribute TARGET.
#define FCN_DEFINE_WINOGRAD(LEVEL, TARGET)                                                                           \
    TARGET void fcn_winograd_kernel_##LEVEL(const float *kernel, int r, size_t pairs, const float *transform,         \
                                            float *scratch, float *result) {                                          \
        winograd_kernel(kernel, r, pairs, transform, scratch, result);                                                \
    }                                                                                                                 \
    TARGET void fcn_winograd_input_##LEVEL(const float *d, int channels, float *scratch, float *target,              \
                                           size_t stride) {                                                           \
        winograd_input(d, channels, scratch, target, stride);                                                         \
    }                                                                                                                 \
    TARGET void fcn_winograd_output_##LEVEL(const float *m, size_t stride, int filters, const float *transform,      \
                                            int block, float *scratch, float *output, size_t output_row_stride,       \
                                            int rows, int columns) {                                                  \
        winograd_output(m, stride, filters, transform, block, scratch, output, output_row_stride, rows, columns);     \
    }

FCN_DEFINE_WINOGRAD(baseline, )
#if defined(__x86_64__)
FCN_DEFINE_WINOGRAD(avx2, FCN_TARGET_AVX2)
FCN_DEFINE_WINOGRAD(avx512, FCN_TARGET_AVX512)
#endif
