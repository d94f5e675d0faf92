#include "CKernels.h"

#include <string.h>

// Each function is compiled twice, for AVX2 with FMA and for the baseline, and the loader picks
// one for this CPU. The loops run over channels or filters, which are contiguous, so the
// compiler vectorizes them for either target.
#if defined(__x86_64__) && defined(__linux__)
#define FCN_VECTORIZED __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FCN_VECTORIZED
#endif

FCN_VECTORIZED
void fcn_winograd_input(const float *d, int channels, float *scratch, float *target, size_t stride) {
    // Bᵀ rows: [4 0 −5 0 1 0] [0 −4 −4 1 1 0] [0 4 −4 −1 1 0] [0 −2 −1 2 1 0] [0 2 −1 −2 1 0] [0 4 0 −5 0 1]
    // First along each block row into scratch, then down each column into the target.
    const size_t c6 = 6 * (size_t)channels;
    for (int row = 0; row < 6; row++) {
        const float *restrict x0 = d + row * c6, *restrict x1 = x0 + channels, *restrict x2 = x1 + channels;
        const float *restrict x3 = x2 + channels, *restrict x4 = x3 + channels, *restrict x5 = x4 + channels;
        float *restrict t0 = scratch + row * c6, *restrict t1 = t0 + channels, *restrict t2 = t1 + channels;
        float *restrict t3 = t2 + channels, *restrict t4 = t3 + channels, *restrict t5 = t4 + channels;
        for (int c = 0; c < channels; c++) {
            t0[c] = 4 * x0[c] - 5 * x2[c] + x4[c];
            t1[c] = -4 * x1[c] - 4 * x2[c] + x3[c] + x4[c];
            t2[c] = 4 * x1[c] - 4 * x2[c] - x3[c] + x4[c];
            t3[c] = -2 * x1[c] - x2[c] + 2 * x3[c] + x4[c];
            t4[c] = 2 * x1[c] - x2[c] - 2 * x3[c] + x4[c];
            t5[c] = 4 * x1[c] - 5 * x3[c] + x5[c];
        }
    }
    for (int column = 0; column < 6; column++) {
        const float *restrict x0 = scratch + column * (size_t)channels, *restrict x1 = x0 + c6, *restrict x2 = x1 + c6;
        const float *restrict x3 = x2 + c6, *restrict x4 = x3 + c6, *restrict x5 = x4 + c6;
        float *restrict v0 = target + column * stride, *restrict v1 = v0 + 6 * stride, *restrict v2 = v1 + 6 * stride;
        float *restrict v3 = v2 + 6 * stride, *restrict v4 = v3 + 6 * stride, *restrict v5 = v4 + 6 * stride;
        for (int c = 0; c < channels; c++) {
            v0[c] = 4 * x0[c] - 5 * x2[c] + x4[c];
            v1[c] = -4 * x1[c] - 4 * x2[c] + x3[c] + x4[c];
            v2[c] = 4 * x1[c] - 4 * x2[c] - x3[c] + x4[c];
            v3[c] = -2 * x1[c] - x2[c] + 2 * x3[c] + x4[c];
            v4[c] = 2 * x1[c] - x2[c] - 2 * x3[c] + x4[c];
            v5[c] = 4 * x1[c] - 5 * x3[c] + x5[c];
        }
    }
}

/// target (+)= Σᵢ coefficients[i] · sources[i · source_step], over `count` floats, skipping zero
/// coefficients.
static inline void combine(float *restrict target, const float *coefficients, const float *sources, size_t source_step,
                           int count) {
    memset(target, 0, sizeof(float) * count);
    for (int i = 0; i < 6; i++) {
        float a = coefficients[i];
        if (a == 0) continue;
        const float *restrict source = sources + i * source_step;
        for (int f = 0; f < count; f++) target[f] += a * source[f];
    }
}

FCN_VECTORIZED
void fcn_winograd_kernel(const float *kernel, int r, size_t pairs, const float *transform, float *scratch, float *result) {
    // t = G g (6 × r per pair), then U = t Gᵀ (6 × 6 per pair); pairs are contiguous in both.
    for (int row = 0; row < 6; row++) {
        for (int kx = 0; kx < r; kx++) {
            float *restrict target = scratch + (row * r + kx) * pairs;
            memset(target, 0, sizeof(float) * pairs);
            for (int ky = 0; ky < r; ky++) {
                float a = transform[row * r + ky];
                if (a == 0) continue;
                const float *restrict source = kernel + (ky * r + kx) * pairs;
                for (size_t pair = 0; pair < pairs; pair++) target[pair] += a * source[pair];
            }
        }
    }
    for (int row = 0; row < 6; row++) {
        for (int column = 0; column < 6; column++) {
            float *restrict target = result + (row * 6 + column) * pairs;
            memset(target, 0, sizeof(float) * pairs);
            for (int kx = 0; kx < r; kx++) {
                float a = transform[column * r + kx];
                if (a == 0) continue;
                const float *restrict source = scratch + (row * r + kx) * pairs;
                for (size_t pair = 0; pair < pairs; pair++) target[pair] += a * source[pair];
            }
        }
    }
}

FCN_VECTORIZED
void fcn_winograd_output(const float *m, size_t stride, int filters, const float *transform, int block, float *scratch,
                         float *output, size_t output_row_stride, int rows, int columns) {
    // First down the rows: scratch[j][column] = Σᵢ Aᵀ[j][i] · m[i][column].
    for (int column = 0; column < 6; column++) {
        for (int j = 0; j < block; j++) {
            combine(scratch + (j * 6 + column) * (size_t)filters, transform + j * 6, m + column * stride, 6 * stride, filters);
        }
    }
    // Then across the columns, straight into the output.
    for (int row = 0; row < rows; row++) {
        for (int column = 0; column < columns; column++) {
            combine(output + row * output_row_stride + column * (size_t)filters, transform + column * 6,
                    scratch + row * 6 * (size_t)filters, filters, filters);
        }
    }
}
