#ifndef CKERNELS_LEVELS_H
#define CKERNELS_LEVELS_H

/// The kernels of each instruction-set level, which only platform.c's tables name. Each is
/// compiled for its level alone (a target attribute per function), so the rest of the target
/// stays baseline code that runs on any x86-64 CPU.

#include "CKernels.h"

#if defined(__x86_64__)
#define FCN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FCN_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

void fcn_direct_convolution_avx2(const fcn_convolution_shape *shape, const float *input, const float *packed,
                                 float *output, int first_row, int row_count);
void fcn_direct_convolution_avx512(const fcn_convolution_shape *shape, const float *input, const float *packed,
                                   float *output, int first_row, int row_count);
void fcn_packed_gemm_avx512(const fcn_gemm *product, int first_panel, int panel_count);
void fcn_pack_gemm_avx512(const float *matrix, int depth, int columns, float *packed);
#endif

/// Winograd's transforms at level LEVEL (baseline, avx2, avx512): see the function types in CKernels.h.
#define FCN_DECLARE_WINOGRAD(LEVEL)                                                                                    \
    void fcn_winograd_kernel_##LEVEL(const float *kernel, int r, size_t pairs, const float *transform, float *scratch,   \
                                     float *result);                                                                     \
    void fcn_winograd_input_##LEVEL(const float *d, int channels, float *scratch, float *target, size_t stride);        \
    void fcn_winograd_output_##LEVEL(const float *m, size_t stride, int filters, const float *transform, int block,     \
                                     float *scratch, float *output, size_t output_row_stride, int rows, int columns);

FCN_DECLARE_WINOGRAD(baseline)
#if defined(__x86_64__)
FCN_DECLARE_WINOGRAD(avx2)
FCN_DECLARE_WINOGRAD(avx512)
#endif

#endif
