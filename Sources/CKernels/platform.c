#include "levels.h"

#include <string.h>

// MARK: - Packed panels

size_t fcn_packed_count(int depth, int columns, int width) {
    size_t panels = (size_t)(columns + width - 1) / (size_t)width;
    return panels * (size_t)depth * (size_t)width;
}

void fcn_pack_panels(const float *matrix, int depth, int columns, int width, float *packed) {
    int panels = (columns + width - 1) / width;
    for (int panel = 0; panel < panels; panel++) {
        int first = panel * width;
        int used = columns - first < width ? columns - first : width;
        float *target = packed + (size_t)panel * depth * width;
        for (int k = 0; k < depth; k++, target += width) {
            memcpy(target, matrix + (size_t)k * columns + first, sizeof(float) * used);
            memset(target + used, 0, sizeof(float) * (width - used));
        }
    }
}

// MARK: - The tables

/// One row per level. Panel widths: AVX2 keeps 6 positions × 16 filters of sums in its 16 ymm
/// registers; AVX-512 keeps 12 positions (or GEMM rows) × 32 columns in its 32 zmm registers.
/// Alignment: a vector register's width, so that aligned loads never split a cache line.
static const fcn_platform tables[] = {
    {
        .isa = FCN_ISA_BASELINE, .name = "baseline", .alignment = 16,
        .winograd_kernel = fcn_winograd_kernel_baseline,
        .winograd_input = fcn_winograd_input_baseline,
        .winograd_output = fcn_winograd_output_baseline,
    },
#if defined(__x86_64__)
    {
        .isa = FCN_ISA_AVX2, .name = "avx2", .alignment = 32,
        .direct_panel_width = 16, .direct_convolution = fcn_direct_convolution_avx2,
        .winograd_kernel = fcn_winograd_kernel_avx2,
        .winograd_input = fcn_winograd_input_avx2,
        .winograd_output = fcn_winograd_output_avx2,
    },
    {
        .isa = FCN_ISA_AVX512, .name = "avx512", .alignment = 64,
        .direct_panel_width = 32, .direct_convolution = fcn_direct_convolution_avx512,
        .gemm_panel_width = 32, .packed_gemm = fcn_packed_gemm_avx512, .pack_gemm = fcn_pack_gemm_avx512,
        .winograd_kernel = fcn_winograd_kernel_avx512,
        .winograd_input = fcn_winograd_input_avx512,
        .winograd_output = fcn_winograd_output_avx512,
    },
#endif
};

const fcn_platform *fcn_platform_table(fcn_isa isa) { return &tables[isa <= fcn_detected_isa() ? isa : fcn_detected_isa()]; }

// MARK: - Detection

#if defined(__x86_64__)
#include <cpuid.h>

/// XCR0: which register states the OS saves on a context switch.
static unsigned long long extended_control_register(void) {
    unsigned int low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((unsigned long long)high << 32) | low;
}

static fcn_isa detect(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return FCN_ISA_BASELINE;
    const int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!(fma && osxsave && avx)) return FCN_ISA_BASELINE;
    const unsigned long long xcr0 = extended_control_register();
    const int ymm_state = (xcr0 & 0x6) == 0x6;     // SSE and AVX state
    const int zmm_state = (xcr0 & 0xe0) == 0xe0;   // opmask, upper halves of zmm0–15, zmm16–31
    if (!ymm_state || __get_cpuid_max(0, 0) < 7) return FCN_ISA_BASELINE;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const int avx2 = (ebx >> 5) & 1;
    const int avx512 = ((ebx >> 16) & 1) && ((ebx >> 17) & 1) && ((ebx >> 30) & 1) && ((ebx >> 31) & 1);  // F, DQ, BW, VL
    if (!avx2) return FCN_ISA_BASELINE;
    return avx512 && zmm_state ? FCN_ISA_AVX512 : FCN_ISA_AVX2;
}
#else
static fcn_isa detect(void) { return FCN_ISA_BASELINE; }
#endif

fcn_isa fcn_detected_isa(void) {
    static int detected = -1;  // racing first callers compute and store the same value
    int value = __atomic_load_n(&detected, __ATOMIC_RELAXED);
    if (value < 0) {
        value = (int)detect();
        __atomic_store_n(&detected, value, __ATOMIC_RELAXED);
    }
    return (fcn_isa)value;
}
