#include "levels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

// c = a · b over b packed in panels of 32 columns (fcn_pack_gemm_avx512), in tiles of up to 12 rows ×
// 32 columns whose 24 sums stay in zmm registers; each step of the depth loads one row of the
// panel (two zmm) and broadcasts one value of each of the tile's rows of a.
//
// Blocking: the depth is cut into blocks of DEPTH_BLOCK, so that the block of a for ROW_BLOCK rows
// (at most 384 KiB) stays in the second-level cache while the worker's panels stream past it,
// and each panel's block (32 KiB) stays in the first-level cache while every row tile uses it.
// The weights are packed block by block: all panels' rows of one depth block, panel after panel,
// then the next depth block, so that a worker walking its panels at one depth reads one
// contiguous run of memory. A panel's block is read from memory once per row block: while the
// first row tile works on one block it prefetches the next into the second-level cache, so that
// loading the weights overlaps the arithmetic on the block before.

enum { PANEL = 32, TILE_ROWS = 12, DEPTH_BLOCK = 256, ROW_BLOCK = 32 * TILE_ROWS };

/// Where the block of `panel` at depth `k` (a multiple of DEPTH_BLOCK) starts in packed weights
/// of `depth` rows and `panels` panels.
static inline size_t block_offset(int depth, int panels, int k, int panel) {
    const int steps = depth - k < DEPTH_BLOCK ? depth - k : DEPTH_BLOCK;
    return (size_t)k * panels * PANEL + (size_t)panel * steps * PANEL;
}

void fcn_pack_gemm_avx512(const float *matrix, int depth, int columns, float *packed) {
    const int panels = (columns + PANEL - 1) / PANEL;
    for (int k = 0; k < depth; k += DEPTH_BLOCK) {
        const int steps = depth - k < DEPTH_BLOCK ? depth - k : DEPTH_BLOCK;
        for (int panel = 0; panel < panels; panel++) {
            const int first = panel * PANEL, used = columns - first < PANEL ? columns - first : PANEL;
            float *target = packed + block_offset(depth, panels, k, panel);
            for (int step = 0; step < steps; step++, target += PANEL) {
                memcpy(target, matrix + (size_t)(k + step) * columns + first, sizeof(float) * used);
                memset(target + used, 0, sizeof(float) * (PANEL - used));
            }
        }
    }
}

/// One tile of `rows` (a constant after inlining) rows: c[0..rows) [0..width) (+)= a · b over
/// `depth` steps, adding to c when `accumulate`; prefetches the block at `next` (NULL: none),
/// a panel row per step.
static inline __attribute__((always_inline)) FCN_TARGET_AVX512 void tile(const int rows, int depth, const float *a,
                                                                       size_t a_stride, const float *b, float *c,
                                                                       size_t c_stride, __mmask16 low, __mmask16 high,
                                                                       int accumulate, const float *next) {
    __m512 sums[TILE_ROWS][2];
    for (int i = 0; i < rows; i++) {
        sums[i][0] = accumulate ? _mm512_maskz_loadu_ps(low, c + i * c_stride) : _mm512_setzero_ps();
        sums[i][1] = accumulate ? _mm512_maskz_loadu_ps(high, c + i * c_stride + 16) : _mm512_setzero_ps();
    }
    for (int k = 0; k < depth; k++, b += PANEL) {
        if (next) {
            _mm_prefetch((const char *)(next + k * PANEL), _MM_HINT_T1);
            _mm_prefetch((const char *)(next + k * PANEL + 16), _MM_HINT_T1);
        }
        const __m512 left = _mm512_loadu_ps(b), right = _mm512_loadu_ps(b + 16);
        for (int i = 0; i < rows; i++) {
            const __m512 value = _mm512_set1_ps(a[i * a_stride + k]);
            sums[i][0] = _mm512_fmadd_ps(value, left, sums[i][0]);
            sums[i][1] = _mm512_fmadd_ps(value, right, sums[i][1]);
        }
    }
    for (int i = 0; i < rows; i++) {
        _mm512_mask_storeu_ps(c + i * c_stride, low, sums[i][0]);
        _mm512_mask_storeu_ps(c + i * c_stride + 16, high, sums[i][1]);
    }
}

/// `tile` for each row count, so that each has its sums in registers.
#define TILE_CASE(n) case n: tile(n, depth, a, a_stride, b, c, c_stride, low, high, accumulate, next); return;

FCN_TARGET_AVX512 __attribute__((noinline)) static void tile_of(int rows, int depth, const float *a, size_t a_stride,
                                                              const float *b, float *c, size_t c_stride, __mmask16 low,
                                                              __mmask16 high, int accumulate, const float *next) {
    switch (rows) {
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
        TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12)
    }
}

FCN_TARGET_AVX512 void fcn_packed_gemm_avx512(const fcn_gemm *product, int first_panel, int panel_count) {
    const int depth = product->depth, panels = (product->columns + PANEL - 1) / PANEL;
    for (int row_block = 0; row_block < product->rows; row_block += ROW_BLOCK) {
        const int row_end = row_block + ROW_BLOCK < product->rows ? row_block + ROW_BLOCK : product->rows;
        for (int k = 0; k < depth; k += DEPTH_BLOCK) {
            const int steps = depth - k < DEPTH_BLOCK ? depth - k : DEPTH_BLOCK;
            for (int panel = first_panel; panel < first_panel + panel_count; panel++) {
                const int width = product->columns - panel * PANEL < PANEL ? product->columns - panel * PANEL : PANEL;
                const __mmask16 low = width >= 16 ? 0xffff : (__mmask16)((1u << width) - 1);
                const __mmask16 high = width <= 16 ? 0 : width >= 32 ? 0xffff : (__mmask16)((1u << (width - 16)) - 1);
                const float *b = product->packed + block_offset(depth, panels, k, panel);
                // The block after this one: the next panel's at this depth, else the first panel's
                // at the next depth (none after the last); at most `steps` of its rows.
                const int last = panel + 1 == first_panel + panel_count;
                const float *next = !last ? b + (size_t)steps * PANEL
                                  : k + steps < depth ? product->packed + block_offset(depth, panels, k + steps, first_panel) : NULL;
                for (int row = row_block; row < row_end; row += TILE_ROWS) {
                    const int rows = row_end - row < TILE_ROWS ? row_end - row : TILE_ROWS;
                    tile_of(rows, steps, product->a + row * product->a_stride + k, product->a_stride, b,
                            product->c + row * product->c_stride + (size_t)panel * PANEL, product->c_stride, low, high, k > 0,
                            row == row_block ? next : NULL);
                }
            }
        }
    }
}

#endif
