// The core's fp32 FMA peak, measured: independent FMA chains on every
// thread, as wide as the compiler targets (-march=native). Used by
// tools/gemm_bench.py and tools/bench.sh to give each GFLOP/s figure its
// share of the peak.
//
//   cc -O3 -march=native -pthread tools/fma_peak.c -o fma_peak
//   ./fma_peak [threads]     prints "<GFLOP/s>"
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

// Enough chains to cover the FMA latency on every port, few enough to stay
// in registers with the two operands: 16 of AVX-512's 32, 12 of AVX2's 16
// (16 chains there spill, and read half the peak on a Zen 2 core).
#if defined(__AVX512F__)
#define CHAINS 16
#else
#define CHAINS 12
#endif
#define STEPS 100000000L

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SPLAT _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define SUM _mm512_reduce_add_ps
#else
typedef __m256 vec;
#define LANES 8
#define SPLAT _mm256_set1_ps
#define FMA _mm256_fmadd_ps
static float SUM(__m256 v) {
  float lanes[8];
  _mm256_storeu_ps(lanes, v);
  float s = 0;
  for (int i = 0; i < 8; ++i)
    s += lanes[i];
  return s;
}
#endif

static void *work(void *out) {
  vec acc[CHAINS], b = SPLAT(1.0000001f), c = SPLAT(1e-7f);
  for (int i = 0; i < CHAINS; ++i)
    acc[i] = SPLAT((float)i);
  for (long k = 0; k < STEPS / CHAINS; ++k)
#pragma GCC unroll 16
    for (int i = 0; i < CHAINS; ++i)
      acc[i] = FMA(acc[i], b, c);
  float s = 0;
  for (int i = 0; i < CHAINS; ++i)
    s += SUM(acc[i]);
  *(float *)out = s; // Keeps the chains alive.
  return NULL;
}

int main(int argc, char **argv) {
  char *end = NULL;
  long threads = argc > 1 ? strtol(argv[1], &end, 10) : 1;
  if (argc > 2 || (argc > 1 && (end == argv[1] || *end != '\0')) ||
      threads < 1 || threads > 256) {
    fprintf(stderr, "usage: %s [threads 1-256]\n", argv[0]);
    return 2;
  }
  pthread_t th[256];
  float sink[256];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < threads; ++i)
    pthread_create(&th[i], NULL, work, &sink[i]);
  for (int i = 0; i < threads; ++i)
    pthread_join(th[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
  printf("%.1f\n", 2.0 * LANES * STEPS * threads / s / 1e9 + 0 * sink[0]);
  return 0;
}
