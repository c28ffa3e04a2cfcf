//===- fake_cublaslt.cc - A cuBLASLt double for runtime tests -------------===//
//
// Part of Kiln. Loaded through $KILN_CUBLASLT by cuda_runtime_test, beside
// the driver double (whose device memory is host memory): the cuBLASLt
// entry points runtime/cuda_device.cc uses, computing each matmul on the
// host as cuBLASLt defines it (column-major matrices with leading
// dimensions, op N or T, strided batches, D = alpha op(A) op(B) + beta C,
// then the bias along D's rows and ReLU), so that a model made of matmuls
// gives its real results and the runtime's mapping of Kiln's row-major
// matmuls onto cuBLASLt is checked by them. Every matmul is written, one
// line each, to $FAKE_CUDA_LOG. Inconsistent shapes fail as cuBLASLt's
// CUBLAS_STATUS_INVALID_VALUE (7).
//
//===----------------------------------------------------------------------===//
#include "tests/fake_cuda_log.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kOk = 0, kInvalid = 7;

struct Desc {
  int32_t transa = 0, transb = 0;
  uint32_t epilogue = 1;
  const float *bias = nullptr;
  bool tf32 = false; ///< CUBLAS_COMPUTE_32F_FAST_TF32 (computed in f32 here).
};

struct Layout {
  uint64_t rows = 0, cols = 0;
  int64_t ld = 0;
  int32_t batch = 1;
  int64_t stride = 0;
};

/// op(X)'s rows and columns.
void OpShape(const Layout &x, int32_t op, uint64_t &rows, uint64_t &cols) {
  rows = op ? x.cols : x.rows;
  cols = op ? x.rows : x.cols;
}

bool Consistent(const Desc &d, const Layout &a, const Layout &b,
                const Layout &c) {
  uint64_t am, ak, bk, bn;
  OpShape(a, d.transa, am, ak);
  OpShape(b, d.transb, bk, bn);
  return am == c.rows && bn == c.cols && ak == bk && a.batch == c.batch &&
         b.batch == c.batch;
}

} // namespace

extern "C" {

int cublasLtCreate(void **handle) {
  static int h;
  *handle = &h;
  return kOk;
}

const char *cublasLtGetStatusString(int status) {
  return status == kInvalid ? "CUBLAS_STATUS_INVALID_VALUE" : "fake status";
}

int cublasLtMatmulDescCreate(Desc **desc, int compute, int scale) {
  // CUBLAS_COMPUTE_32F or CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F.
  if ((compute != 68 && compute != 77) || scale != 0)
    return kInvalid;
  *desc = new Desc;
  (*desc)->tf32 = compute == 77;
  return kOk;
}

int cublasLtMatmulDescDestroy(Desc *desc) {
  delete desc;
  return kOk;
}

int cublasLtMatmulDescSetAttribute(Desc *d, int attr, const void *buf,
                                   size_t size) {
  switch (attr) {
  case 3: // TRANSA
  case 4: // TRANSB
    if (size != 4)
      return kInvalid;
    std::memcpy(attr == 3 ? &d->transa : &d->transb, buf, 4);
    return kOk;
  case 7: // EPILOGUE
    if (size != 4)
      return kInvalid;
    std::memcpy(&d->epilogue, buf, 4);
    return d->epilogue == 1 || d->epilogue == 2 || d->epilogue == 4 ||
                   d->epilogue == 6
               ? kOk
               : kInvalid;
  case 8: // BIAS_POINTER
    if (size != sizeof(void *))
      return kInvalid;
    std::memcpy(&d->bias, buf, sizeof(void *));
    return kOk;
  }
  return kInvalid;
}

int cublasLtMatrixLayoutCreate(Layout **layout, int type, uint64_t rows,
                               uint64_t cols, int64_t ld) {
  if (type != 0 || ld < 1 || static_cast<uint64_t>(ld) < rows)
    return kInvalid;
  *layout = new Layout{rows, cols, ld};
  return kOk;
}

int cublasLtMatrixLayoutDestroy(Layout *layout) {
  delete layout;
  return kOk;
}

int cublasLtMatrixLayoutSetAttribute(Layout *l, int attr, const void *buf,
                                     size_t size) {
  if (attr == 5 && size == 4) { // BATCH_COUNT
    std::memcpy(&l->batch, buf, 4);
    return l->batch >= 1 ? kOk : kInvalid;
  }
  if (attr == 6 && size == 8) { // STRIDED_BATCH_OFFSET
    std::memcpy(&l->stride, buf, 8);
    return kOk;
  }
  return kInvalid;
}

int cublasLtMatmulPreferenceCreate(void **preference) {
  static int p;
  *preference = &p;
  return kOk;
}

int cublasLtMatmulPreferenceDestroy(void *) { return kOk; }

/// MAX_WORKSPACE_BYTES (u64), MIN_ALIGNMENT_A..D_BYTES (u32, a power of
/// two), each logged.
int cublasLtMatmulPreferenceSetAttribute(void *, int attr, const void *buf,
                                         size_t size) {
  if (attr == 1 && size == 8)
    return kOk;
  uint32_t align = 0;
  if (attr < 5 || attr > 8 || size != 4)
    return kInvalid;
  std::memcpy(&align, buf, 4);
  if (align == 0 || (align & (align - 1)) != 0)
    return kInvalid;
  Log("align " + std::string(1, "ABCD"[attr - 5]) + " " +
      std::to_string(align));
  return kOk;
}

struct HeuristicResult {
  uint64_t algo[8];
  size_t workspace;
  int state;
  float waves;
  int reserved[4];
};

int cublasLtMatmulAlgoGetHeuristic(void *, Desc *d, Layout *a, Layout *b,
                                   Layout *c, Layout *dl, void *, int requested,
                                   HeuristicResult *results, int *found) {
  if (requested < 1 || c != dl || !Consistent(*d, *a, *b, *c))
    return kInvalid;
  std::memset(results, 0, sizeof *results);
  *found = 1;
  return kOk;
}

int cublasLtMatmul(void *, Desc *d, const float *alpha, const float *A,
                   Layout *a, const float *B, Layout *b, const float *beta,
                   const float *C, Layout *c, float *D, Layout *dl,
                   const void *algo, void *, size_t, void *) {
  if (!algo || !Consistent(*d, *a, *b, *c) || c->rows != dl->rows ||
      c->cols != dl->cols)
    return kInvalid;
  uint64_t m = c->rows, n = c->cols, k = d->transa ? a->rows : a->cols;
  bool bias = d->epilogue & 4, relu = d->epilogue & 2;
  if (bias && !d->bias)
    return kInvalid;
  char line[256];
  std::snprintf(
      line, sizeof line,
      "matmul m=%llu n=%llu k=%llu batch=%d op=%c%c ld=%lld,%lld,%lld"
      " strides=%lld,%lld,%lld beta=%g%s%s%s",
      static_cast<unsigned long long>(m), static_cast<unsigned long long>(n),
      static_cast<unsigned long long>(k), c->batch, d->transa ? 'T' : 'N',
      d->transb ? 'T' : 'N', static_cast<long long>(a->ld),
      static_cast<long long>(b->ld), static_cast<long long>(c->ld),
      static_cast<long long>(a->stride), static_cast<long long>(b->stride),
      static_cast<long long>(c->stride), *beta, bias ? " bias" : "",
      relu ? " relu" : "", d->tf32 ? " tf32" : "");
  Log(line);
  for (int32_t item = 0; item < c->batch; ++item) {
    const float *x = A + item * a->stride, *y = B + item * b->stride;
    const float *z = C + item * c->stride;
    float *out = D + item * dl->stride;
    for (uint64_t i = 0; i < m; ++i)
      for (uint64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (uint64_t p = 0; p < k; ++p)
          sum += double(d->transa ? x[p + i * a->ld] : x[i + p * a->ld]) *
                 double(d->transb ? y[j + p * b->ld] : y[p + j * b->ld]);
        float v = *alpha * static_cast<float>(sum);
        if (*beta != 0)
          v += *beta * z[i + j * c->ld];
        if (bias)
          v += d->bias[i];
        if (relu && v < 0)
          v = 0;
        out[i + j * dl->ld] = v;
      }
  }
  return kOk;
}

} // extern "C"
