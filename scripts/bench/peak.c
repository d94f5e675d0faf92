// The machine's measured FMA peak in GFLOP/s, for ymm (AVX2) and zmm (AVX-512) registers on 1
// and 2 threads: each thread runs independent chains of fused multiply-adds on registers only
// (enough chains to cover the FMA latency on two units), so memory plays no part. Also the
// memory's read bandwidth in GB/s on 1 and 2 threads (each thread sums its half of 1 GiB), the
// yardstick for layers that stream their weights once (dense layers on one row).
//
//   cc -O2 -pthread scripts/bench/peak.c -o .build-bench/peak && .build-bench/peak [seconds]
//
// Prints one JSON object: {"ymm": {"1": GFLOP/s, "2": ...}, "zmm": {...}, "read_gbps": {...}}
// (zmm omitted when the CPU or OS lacks AVX-512).
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { CHAINS = 12, ITERATIONS = 1 << 22 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// NAME runs CHAINS independent FMA chains of VECTOR (LANES floats) for ITERATIONS steps and
/// returns the flops done (2 per lane per FMA); the sum is stored so the work is not optimised
/// away. The chains are named variables, not an array, so that every compiler (gcc too) keeps
/// them in registers.
#define DEFINE_CHAINS(NAME, TARGET, VECTOR, SET1, FMADD, LANES, STORE)                                      \
    __attribute__((target(TARGET))) static double NAME(float *sink) {                                       \
        const VECTOR a = SET1(0.999999f), b = SET1(1e-7f);                                                   \
        VECTOR s0 = SET1(0), s1 = SET1(1), s2 = SET1(2), s3 = SET1(3), s4 = SET1(4), s5 = SET1(5);           \
        VECTOR s6 = SET1(6), s7 = SET1(7), s8 = SET1(8), s9 = SET1(9), s10 = SET1(10), s11 = SET1(11);       \
        for (long step = 0; step < ITERATIONS; step++) {                                                     \
            s0 = FMADD(s0, a, b); s1 = FMADD(s1, a, b); s2 = FMADD(s2, a, b); s3 = FMADD(s3, a, b);           \
            s4 = FMADD(s4, a, b); s5 = FMADD(s5, a, b); s6 = FMADD(s6, a, b); s7 = FMADD(s7, a, b);           \
            s8 = FMADD(s8, a, b); s9 = FMADD(s9, a, b); s10 = FMADD(s10, a, b); s11 = FMADD(s11, a, b);       \
        }                                                                                                    \
        s0 = FMADD(s0, s1, s2); s3 = FMADD(s3, s4, s5); s6 = FMADD(s6, s7, s8); s9 = FMADD(s9, s10, s11);   \
        STORE(sink, FMADD(FMADD(s0, s3, s6), a, s9));                                                        \
        return 2.0 * LANES * CHAINS * (double)ITERATIONS;                                                    \
    }

DEFINE_CHAINS(ymm_chains, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, 8, _mm256_storeu_ps)
DEFINE_CHAINS(zmm_chains, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, 16, _mm512_storeu_ps)

/// The floats of the bandwidth test's buffer (1 GiB), far larger than any cache.
enum { READ_FLOATS = 1 << 28 };
static float *read_buffer;

typedef struct {
    const float *start;
    size_t count;
    float sum;
} reader;

__attribute__((target("avx2,fma"))) static void *read_share(void *argument) {
    reader *r = argument;
    __m256 sums[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (size_t i = 0; i < r->count; i += 32) {
        for (int j = 0; j < 4; j++) sums[j] = _mm256_add_ps(sums[j], _mm256_loadu_ps(r->start + i + 8 * j));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(sums[0], sums[1]), _mm256_add_ps(sums[2], sums[3])));
    r->sum = lanes[0];
    return NULL;
}

/// GB/s of `threads` (1 or 2) threads reading the buffer in halves, the best of three passes.
static double read_bandwidth(int threads) {
    double best = 0;
    for (int pass = 0; pass < 3; pass++) {
        reader readers[2];
        pthread_t ids[2];
        double start = now();
        for (int t = 0; t < threads; t++) {
            readers[t] = (reader){read_buffer + (size_t)t * (READ_FLOATS / threads), READ_FLOATS / threads, 0};
            pthread_create(&ids[t], NULL, read_share, &readers[t]);
        }
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        double rate = READ_FLOATS * sizeof(float) / (now() - start) / 1e9;
        if (rate > best) best = rate;
    }
    return best;
}

typedef double (*chains_function)(float *);

typedef struct {
    chains_function chains;
    double seconds;
    double flops;
    float sink[16];
} worker;

static void *run(void *argument) {
    worker *w = argument;
    double start = now();
    while (now() - start < w->seconds) w->flops += w->chains(w->sink);
    return NULL;
}

/// GFLOP/s of `threads` (1 or 2) threads running `chains` for `seconds`.
static double measure(chains_function chains, int threads, double seconds) {
    worker workers[2] = {{chains, seconds, 0, {0}}, {chains, seconds, 0, {0}}};
    pthread_t ids[2];
    double start = now();
    for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, run, &workers[t]);
    double flops = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        flops += workers[t].flops;
    }
    return flops / (now() - start) / 1e9;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    __builtin_cpu_init();  // this program measures the CPU; the runtime asks its platform table
    printf("{\"ymm\": {\"1\": %.1f, \"2\": %.1f}", measure(ymm_chains, 1, seconds), measure(ymm_chains, 2, seconds));
    if (__builtin_cpu_supports("avx512f")) {
        printf(", \"zmm\": {\"1\": %.1f, \"2\": %.1f}", measure(zmm_chains, 1, seconds), measure(zmm_chains, 2, seconds));
    }
    read_buffer = malloc(sizeof(float) * READ_FLOATS);
    for (size_t i = 0; i < READ_FLOATS; i++) read_buffer[i] = (float)(i & 7);
    printf(", \"read_gbps\": {\"1\": %.1f, \"2\": %.1f}", read_bandwidth(1), read_bandwidth(2));
    printf("}\n");
    return 0;
}
