//===- cuda_device.cc - Running launch plans on an NVIDIA GPU -------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda_device.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kiln {
namespace {

// The driver API's types and entry points, as cuda.h declares them (the
// ABI is stable; the _v2 names are the ones cuda.h maps the plain ones to).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = uint64_t;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

/// The driver, loaded once per process.
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuCtxSynchronize)();
  // For CUDA graphs; a driver without them runs the launches one by one.
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph,
                                          unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);

  CUdevice device = 0;
  CUcontext context = nullptr;
  int arch = 0; ///< 90 for sm_90.
  std::string name;

  /// "cuFoo: <the driver's message>".
  std::string Error(const char *call, CUresult r) const {
    const char *text = nullptr;
    if (!cuGetErrorString || cuGetErrorString(r, &text) != CUDA_SUCCESS ||
        !text)
      text = "unknown error";
    return absl::StrCat(call, ": ", text, " (CUDA error ", r, ")");
  }
};

/// Loads the driver and opens device 0, once; the error when that failed.
const absl::StatusOr<Driver *> &OpenDriver() {
  static const absl::StatusOr<Driver *> driver =
      []() -> absl::StatusOr<Driver *> {
    const char *path = std::getenv("KILN_CUDA_DRIVER");
    void *lib =
        dlopen(path && *path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      return absl::UnavailableError(absl::StrCat(
          "no CUDA device: cannot load the CUDA driver: ", dlerror()));
    auto *d = new Driver();
    bool missing = false;
    std::string which;
    auto bind = [&](auto &fn, const char *symbol) {
      void *p = dlsym(lib, symbol);
      if (!p && !missing) {
        missing = true;
        which = symbol;
      }
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    };
    bind(d->cuInit, "cuInit");
    bind(d->cuGetErrorString, "cuGetErrorString");
    bind(d->cuDeviceGetCount, "cuDeviceGetCount");
    bind(d->cuDeviceGet, "cuDeviceGet");
    bind(d->cuDeviceGetName, "cuDeviceGetName");
    bind(d->cuDeviceGetAttribute, "cuDeviceGetAttribute");
    bind(d->cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    bind(d->cuCtxSetCurrent, "cuCtxSetCurrent");
    bind(d->cuModuleLoadData, "cuModuleLoadData");
    bind(d->cuModuleUnload, "cuModuleUnload");
    bind(d->cuModuleGetFunction, "cuModuleGetFunction");
    bind(d->cuMemAlloc, "cuMemAlloc_v2");
    bind(d->cuMemFree, "cuMemFree_v2");
    bind(d->cuMemcpyHtoD, "cuMemcpyHtoD_v2");
    bind(d->cuMemcpyDtoH, "cuMemcpyDtoH_v2");
    bind(d->cuMemsetD8, "cuMemsetD8_v2");
    bind(d->cuLaunchKernel, "cuLaunchKernel");
    bind(d->cuCtxSynchronize, "cuCtxSynchronize");
    if (missing)
      return absl::UnavailableError(absl::StrCat(
          "no CUDA device: the CUDA driver has no ", which, " (too old?)"));
    auto optional = [&](auto &fn, const char *symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib, symbol));
    };
    optional(d->cuStreamCreate, "cuStreamCreate");
    optional(d->cuStreamDestroy, "cuStreamDestroy_v2");
    optional(d->cuStreamBeginCapture, "cuStreamBeginCapture_v2");
    optional(d->cuStreamEndCapture, "cuStreamEndCapture");
    optional(d->cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
    optional(d->cuGraphLaunch, "cuGraphLaunch");
    optional(d->cuGraphExecDestroy, "cuGraphExecDestroy");
    optional(d->cuGraphDestroy, "cuGraphDestroy");
    CUresult r = d->cuInit(0);
    if (r != CUDA_SUCCESS)
      return absl::UnavailableError(
          absl::StrCat("no CUDA device: ", d->Error("cuInit", r)));
    int count = 0;
    if ((r = d->cuDeviceGetCount(&count)) != CUDA_SUCCESS || count == 0)
      return absl::UnavailableError(
          r != CUDA_SUCCESS
              ? absl::StrCat("no CUDA device: ",
                             d->Error("cuDeviceGetCount", r))
              : std::string("no CUDA device: the driver sees none"));
    int major = 0, minor = 0;
    char name[256] = {};
    if ((r = d->cuDeviceGet(&d->device, 0)) != CUDA_SUCCESS ||
        (r = d->cuDeviceGetAttribute(
             &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
             d->device)) != CUDA_SUCCESS ||
        (r = d->cuDeviceGetAttribute(
             &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
             d->device)) != CUDA_SUCCESS ||
        (r = d->cuDeviceGetName(name, sizeof name - 1, d->device)) !=
            CUDA_SUCCESS ||
        (r = d->cuDevicePrimaryCtxRetain(&d->context, d->device)) !=
            CUDA_SUCCESS)
      return absl::UnavailableError(
          absl::StrCat("no CUDA device: ", d->Error("opening device 0", r)));
    d->arch = major * 10 + minor;
    d->name = name;
    return d;
  }();
  return driver;
}

// cuBLASLt's types and entry points, as cublasLt.h declares them (its ABI
// is stable across 12.x and 13.x); the enum values used below are
// cublasLt.h's, cublas_api.h's and library_types.h's.
using cublasStatus_t = int;
using cublasLtHandle_t = struct cublasLtContext *;
using cublasLtMatmulDesc_t = struct cublasLtMatmulDescOpaque *;
using cublasLtMatrixLayout_t = struct cublasLtMatrixLayoutOpaque *;
using cublasLtMatmulPreference_t = struct cublasLtMatmulPreferenceOpaque *;
struct cublasLtMatmulAlgo_t {
  uint64_t data[8];
};
struct cublasLtMatmulHeuristicResult_t {
  cublasLtMatmulAlgo_t algo;
  size_t workspaceSize;
  cublasStatus_t state;
  float wavesCount;
  int reserved[4];
};
constexpr cublasStatus_t CUBLAS_STATUS_SUCCESS = 0;
constexpr int CUDA_R_32F = 0;
constexpr int CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
constexpr int32_t CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
constexpr int CUBLASLT_MATMUL_DESC_TRANSA = 3;
constexpr int CUBLASLT_MATMUL_DESC_TRANSB = 4;
constexpr int CUBLASLT_MATMUL_DESC_EPILOGUE = 7;
constexpr int CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8;
constexpr uint32_t CUBLASLT_EPILOGUE_DEFAULT = 1, CUBLASLT_EPILOGUE_RELU = 2,
                   CUBLASLT_EPILOGUE_BIAS = 4, CUBLASLT_EPILOGUE_RELU_BIAS = 6;
constexpr int CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5;
constexpr int CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6;
constexpr int CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1;
constexpr int CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5; // B, C, D: 6-8.

/// The alignment (bytes, a power of two up to 64) every item of `x`
/// starts at: buffers start 64-byte aligned (device allocations, arena and
/// constants offsets in multiples of 64), then its offset and batch
/// stride in floats.
uint32_t Alignment(const CudaMatrix &x) {
  uint64_t bytes = uint64_t(x.offset) * 4 | uint64_t(x.batch) * 4 | 64;
  return static_cast<uint32_t>(bytes & -bytes);
}

/// The device memory cuBLASLt may use per matmul.
constexpr size_t kBlasWorkspaceBytes = size_t{32} << 20;

/// cuBLASLt, loaded once per process when a plan first has a matmul.
struct Blas {
  cublasStatus_t (*cublasLtCreate)(cublasLtHandle_t *);
  const char *(*cublasLtGetStatusString)(cublasStatus_t);
  cublasStatus_t (*cublasLtMatmulDescCreate)(cublasLtMatmulDesc_t *, int, int);
  cublasStatus_t (*cublasLtMatmulDescDestroy)(cublasLtMatmulDesc_t);
  cublasStatus_t (*cublasLtMatmulDescSetAttribute)(cublasLtMatmulDesc_t, int,
                                                   const void *, size_t);
  cublasStatus_t (*cublasLtMatrixLayoutCreate)(cublasLtMatrixLayout_t *, int,
                                               uint64_t, uint64_t, int64_t);
  cublasStatus_t (*cublasLtMatrixLayoutDestroy)(cublasLtMatrixLayout_t);
  cublasStatus_t (*cublasLtMatrixLayoutSetAttribute)(cublasLtMatrixLayout_t,
                                                     int, const void *, size_t);
  cublasStatus_t (*cublasLtMatmulPreferenceCreate)(
      cublasLtMatmulPreference_t *);
  cublasStatus_t (*cublasLtMatmulPreferenceDestroy)(cublasLtMatmulPreference_t);
  cublasStatus_t (*cublasLtMatmulPreferenceSetAttribute)(
      cublasLtMatmulPreference_t, int, const void *, size_t);
  cublasStatus_t (*cublasLtMatmulAlgoGetHeuristic)(
      cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t,
      cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
      cublasLtMatmulPreference_t, int, cublasLtMatmulHeuristicResult_t *,
      int *);
  cublasStatus_t (*cublasLtMatmul)(cublasLtHandle_t, cublasLtMatmulDesc_t,
                                   const void *, const void *,
                                   cublasLtMatrixLayout_t, const void *,
                                   cublasLtMatrixLayout_t, const void *,
                                   const void *, cublasLtMatrixLayout_t, void *,
                                   cublasLtMatrixLayout_t,
                                   const cublasLtMatmulAlgo_t *, void *, size_t,
                                   CUstream);
  cublasLtHandle_t handle = nullptr;

  /// "cublasLtFoo: <cuBLASLt's message>".
  std::string Error(const std::string &call, cublasStatus_t r) const {
    const char *text =
        cublasLtGetStatusString ? cublasLtGetStatusString(r) : nullptr;
    return absl::StrCat(call, ": ", text ? text : "unknown error",
                        " (cuBLAS status ", r, ")");
  }
};

/// Loads cuBLASLt ($KILN_CUBLASLT, else libcublasLt.so.13 or .12) and
/// creates its handle, once; the error when that failed. The driver's
/// context must be current.
const absl::StatusOr<Blas *> &OpenBlas() {
  static const absl::StatusOr<Blas *> blas = []() -> absl::StatusOr<Blas *> {
    const char *path = std::getenv("KILN_CUBLASLT");
    std::vector<std::string> names;
    if (path && *path)
      names = {path};
    else
      names = {"libcublasLt.so.13", "libcublasLt.so.12",
               "/usr/local/cuda/lib64/libcublasLt.so.13"};
    void *lib = nullptr;
    std::string errors;
    for (const std::string &name : names) {
      if ((lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)))
        break;
      absl::StrAppend(&errors, errors.empty() ? "" : "; ", dlerror());
    }
    if (!lib)
      return absl::UnavailableError(absl::StrCat(
          "cannot load cuBLASLt, which runs this artifact's matmuls (install "
          "the CUDA toolkit's cuBLAS, set KILN_CUBLASLT, or compile with "
          "--no-gpu-libraries): ",
          errors));
    auto *b = new Blas();
    std::string missing;
    auto bind = [&](auto &fn, const char *symbol) {
      void *p = dlsym(lib, symbol);
      if (!p && missing.empty())
        missing = symbol;
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    };
    bind(b->cublasLtCreate, "cublasLtCreate");
    bind(b->cublasLtGetStatusString, "cublasLtGetStatusString");
    bind(b->cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate");
    bind(b->cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy");
    bind(b->cublasLtMatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute");
    bind(b->cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate");
    bind(b->cublasLtMatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy");
    bind(b->cublasLtMatrixLayoutSetAttribute,
         "cublasLtMatrixLayoutSetAttribute");
    bind(b->cublasLtMatmulPreferenceCreate, "cublasLtMatmulPreferenceCreate");
    bind(b->cublasLtMatmulPreferenceDestroy, "cublasLtMatmulPreferenceDestroy");
    bind(b->cublasLtMatmulPreferenceSetAttribute,
         "cublasLtMatmulPreferenceSetAttribute");
    bind(b->cublasLtMatmulAlgoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic");
    bind(b->cublasLtMatmul, "cublasLtMatmul");
    if (!missing.empty())
      return absl::UnavailableError(
          absl::StrCat("cuBLASLt has no ", missing, " (too old?)"));
    if (cublasStatus_t r = b->cublasLtCreate(&b->handle);
        r != CUBLAS_STATUS_SUCCESS)
      return absl::UnavailableError(b->Error("cublasLtCreate", r));
    return b;
  }();
  return blas;
}

/// A library matmul made ready for cuBLASLt, which sees matrices column
/// by column: Kiln's C = A B (row by row, strides as CudaMatrix says) is
/// its C' = B' A', each primed matrix the same bytes read column-major,
/// transposed (op T) where Kiln's matrix is stored transposed. So m and
/// n swap places and the bias runs along C''s rows, as cuBLASLt wants.
struct BlasMatmul {
  CudaMatmul matmul;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr; ///< Primed.
  cublasLtMatmulAlgo_t algo = {};
};

/// A launch plan's code and memory on the device.
class CudaDevice : public Device {
public:
  CudaDevice(Driver &driver, const Signature &signature, const LaunchPlan &plan)
      : d_(driver), signature_(signature), plan_(plan) {}

  ~CudaDevice() override {
    d_.cuCtxSetCurrent(d_.context);
    for (BlasMatmul &mm : matmuls_) {
      if (mm.desc)
        blas_->cublasLtMatmulDescDestroy(mm.desc);
      for (cublasLtMatrixLayout_t layout : {mm.a, mm.b, mm.c})
        if (layout)
          blas_->cublasLtMatrixLayoutDestroy(layout);
    }
    if (exec_)
      d_.cuGraphExecDestroy(exec_);
    if (graph_)
      d_.cuGraphDestroy(graph_);
    if (stream_)
      d_.cuStreamDestroy(stream_);
    for (CUdeviceptr p : allocations_)
      d_.cuMemFree(p);
    if (module_)
      d_.cuModuleUnload(module_);
  }

  absl::Status Load(const CudaCode &code) {
    if (CUresult r = d_.cuCtxSetCurrent(d_.context); r != CUDA_SUCCESS)
      return Internal("cuCtxSetCurrent", r);
    int chip = 0;
    if (code.chip.size() > 3)
      chip = std::atoi(code.chip.c_str() + 3);
    if (d_.arch < chip)
      return absl::FailedPreconditionError(absl::StrCat(
          "the artifact was compiled for ", code.chip, "; this GPU (", d_.name,
          ", sm_", d_.arch, ") is older (recompile with --gpu-arch=sm_",
          d_.arch, ")"));
    // A cubin runs only on its own architecture; PTX is compiled by the
    // driver for newer ones.
    bool cubin = !code.cubin.empty() && d_.arch == chip;
    const std::string &image = cubin ? code.cubin : code.ptx;
    if (CUresult r = d_.cuModuleLoadData(&module_, image.c_str());
        r != CUDA_SUCCESS)
      return Internal(
          cubin ? "cuModuleLoadData (cubin)" : "cuModuleLoadData (PTX)", r);
    if (code.kernels.size() != plan_.kernels.size())
      return absl::DataLossError(absl::StrCat(
          "corrupt artifact: its cuda code has ", code.kernels.size(),
          " kernels, its plan ", plan_.kernels.size()));
    for (const std::vector<CudaLaunch> &launches : code.kernels) {
      kernels_.emplace_back();
      for (const CudaLaunch &launch : launches) {
        if (launch.matmul) {
          if (absl::Status s = AddMatmul(*launch.matmul, launch.function);
              !s.ok())
            return s;
          kernels_.back().push_back(
              Launch{nullptr, 0, 1, static_cast<int>(matmuls_.size()) - 1});
          continue;
        }
        CUfunction fn = nullptr;
        if (CUresult r =
                d_.cuModuleGetFunction(&fn, module_, launch.function.c_str());
            r != CUDA_SUCCESS)
          return absl::DataLossError(absl::StrCat(
              "corrupt artifact: ",
              d_.Error(("cuModuleGetFunction(" + launch.function + ")").c_str(),
                       r)));
        kernels_.back().push_back(Launch{fn, launch.threads, launch.block, -1});
      }
    }
    // Device memory, once: constants (copied now), arena, feeds, fetches.
    absl::StatusOr<CUdeviceptr> p = Allocate(plan_.constants.size());
    if (!p.ok())
      return p.status();
    constants_ = *p;
    if (!plan_.constants.empty())
      if (CUresult r = d_.cuMemcpyHtoD(constants_, plan_.constants.data(),
                                       plan_.constants.size());
          r != CUDA_SUCCESS)
        return Internal("copying the constants", r);
    if (!(p = Allocate(plan_.arena_bytes)).ok())
      return p.status();
    arena_ = *p;
    for (const TensorSpec &spec : signature_.feeds) {
      if (!(p = Allocate(Bytes(spec))).ok())
        return p.status();
      feeds_.push_back(*p);
    }
    for (const TensorSpec &spec : signature_.fetches) {
      if (!(p = Allocate(Bytes(spec))).ok())
        return p.status();
      fetches_.push_back(*p);
    }
    if (!matmuls_.empty()) {
      if (!(p = Allocate(kBlasWorkspaceBytes)).ok())
        return p.status();
      workspace_ = *p;
    }
    return absl::OkStatus();
  }

  absl::Status Run(const void *const *feeds, void *const *fetches,
                   int64_t *check_results) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (CUresult r = d_.cuCtxSetCurrent(d_.context); r != CUDA_SUCCESS)
      return Internal("cuCtxSetCurrent", r);
    for (size_t i = 0; i < feeds_.size(); ++i)
      if (size_t n = Bytes(signature_.feeds[i]); n > 0)
        if (CUresult r = d_.cuMemcpyHtoD(feeds_[i], feeds[i], n);
            r != CUDA_SUCCESS)
          return Internal("copying feed to the device", r);
    // Check results are counted from 0 in each run.
    for (const RuntimeCheck &check : plan_.checks)
      if (CUresult r = d_.cuMemsetD8(arena_ + check.offset, 0, 16);
          r != CUDA_SUCCESS)
        return Internal("cuMemsetD8", r);
    // The first run captures the launches as a CUDA graph (the buffers'
    // addresses never change), which later runs launch at once.
    if (!graph_tried_) {
      graph_tried_ = true;
      Capture();
    }
    if (exec_) {
      if (CUresult r = d_.cuGraphLaunch(exec_, stream_); r != CUDA_SUCCESS)
        return Internal("cuGraphLaunch", r);
    } else if (absl::Status s = LaunchAll(nullptr); !s.ok()) {
      return s;
    }
    if (CUresult r = d_.cuCtxSynchronize(); r != CUDA_SUCCESS)
      return Internal("running the kernels", r);
    for (size_t i = 0; i < fetches_.size(); ++i)
      if (size_t n = Bytes(signature_.fetches[i]); n > 0)
        if (CUresult r = d_.cuMemcpyDtoH(fetches[i], fetches_[i], n);
            r != CUDA_SUCCESS)
          return Internal("copying a fetch from the device", r);
    for (size_t i = 0; i < plan_.checks.size(); ++i)
      if (CUresult r = d_.cuMemcpyDtoH(check_results + 2 * i,
                                       arena_ + plan_.checks[i].offset, 16);
          r != CUDA_SUCCESS)
        return Internal("reading the run-time checks", r);
    return absl::OkStatus();
  }

private:
  /// Every launch of the plan, in order, on `stream`.
  absl::Status LaunchAll(CUstream stream) {
    std::vector<CUdeviceptr> args;
    std::vector<void *> params;
    for (const Dispatch &dispatch : plan_.dispatches) {
      args.clear();
      for (const ArgRef &a : dispatch.args)
        args.push_back(Address(a));
      params.clear();
      for (CUdeviceptr &arg : args)
        params.push_back(&arg);
      for (const Launch &launch : kernels_[dispatch.kernel]) {
        if (launch.matmul >= 0) {
          if (absl::Status s =
                  RunMatmul(matmuls_[launch.matmul], args, dispatch, stream);
              !s.ok())
            return s;
          continue;
        }
        if (launch.threads == 0)
          continue;
        auto blocks = static_cast<unsigned>(
            (launch.threads + launch.block - 1) / launch.block);
        if (CUresult r =
                d_.cuLaunchKernel(launch.function, blocks, 1, 1,
                                  static_cast<unsigned>(launch.block), 1, 1, 0,
                                  stream, params.data(), nullptr);
            r != CUDA_SUCCESS)
          return Internal(
              absl::StrCat("launching kernel ", plan_.kernels[dispatch.kernel])
                  .c_str(),
              r);
      }
    }
    return absl::OkStatus();
  }

  /// Captures LaunchAll on a stream of its own as a CUDA graph (exec_);
  /// leaves exec_ null where the driver cannot, or KILN_CUDA_GRAPHS=0.
  void Capture() {
    const char *env = std::getenv("KILN_CUDA_GRAPHS");
    if ((env && std::strcmp(env, "0") == 0) || !d_.cuStreamCreate ||
        !d_.cuStreamDestroy || !d_.cuStreamBeginCapture ||
        !d_.cuStreamEndCapture || !d_.cuGraphInstantiateWithFlags ||
        !d_.cuGraphLaunch || !d_.cuGraphExecDestroy || !d_.cuGraphDestroy)
      return;
    CUstream stream = nullptr;
    if (d_.cuStreamCreate(&stream, 0) != CUDA_SUCCESS)
      return;
    CUgraph graph = nullptr;
    CUgraphExec exec = nullptr;
    bool captured = false;
    if (d_.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) ==
        CUDA_SUCCESS) {
      bool launched = LaunchAll(stream).ok();
      captured =
          d_.cuStreamEndCapture(stream, &graph) == CUDA_SUCCESS && launched &&
          graph &&
          d_.cuGraphInstantiateWithFlags(&exec, graph, 0) == CUDA_SUCCESS;
    }
    if (!captured) {
      if (graph)
        d_.cuGraphDestroy(graph);
      d_.cuStreamDestroy(stream);
      return;
    }
    stream_ = stream;
    graph_ = graph;
    exec_ = exec;
  }

  struct Launch {
    CUfunction function;
    int64_t threads;
    int32_t block;
    int matmul; ///< Index in matmuls_, or -1 for a kernel.
  };

  /// Prepares a library matmul (`name` for messages): its cuBLASLt
  /// descriptors and the algorithm cuBLASLt's heuristic picks for it.
  absl::Status AddMatmul(const CudaMatmul &mm, const std::string &name) {
    if (!blas_) {
      const absl::StatusOr<Blas *> &blas = OpenBlas();
      if (!blas.ok())
        return blas.status();
      blas_ = *blas;
    }
    const Blas &l = *blas_;
    BlasMatmul &out = matmuls_.emplace_back();
    out.matmul = mm;
    auto failed = [&](const char *call, cublasStatus_t r) {
      return absl::InternalError(
          absl::StrCat("matmul ", name, ": ", l.Error(call, r)));
    };
    cublasStatus_t r;
    if ((r = l.cublasLtMatmulDescCreate(&out.desc,
                                        mm.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                : CUBLAS_COMPUTE_32F,
                                        CUDA_R_32F)) != CUBLAS_STATUS_SUCCESS)
      return failed("cublasLtMatmulDescCreate", r);
    // cuBLASLt's A is Kiln's B: n x k as it reads it, stored that way
    // (column-major with Kiln's row stride) when Kiln's B is row-major,
    // else Kiln's B itself (k x n) read transposed.
    int32_t transa = mm.b.cols == 1 ? CUBLAS_OP_N : CUBLAS_OP_T;
    int32_t transb = mm.a.cols == 1 ? CUBLAS_OP_N : CUBLAS_OP_T;
    uint32_t epilogue =
        mm.bias.buffer >= 0
            ? (mm.relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
            : (mm.relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT);
    if ((r = l.cublasLtMatmulDescSetAttribute(
             out.desc, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa)) !=
            CUBLAS_STATUS_SUCCESS ||
        (r = l.cublasLtMatmulDescSetAttribute(
             out.desc, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof transb)) !=
            CUBLAS_STATUS_SUCCESS ||
        (r = l.cublasLtMatmulDescSetAttribute(
             out.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
             sizeof epilogue)) != CUBLAS_STATUS_SUCCESS)
      return failed("cublasLtMatmulDescSetAttribute", r);
    // Each layout as cuBLASLt stores it: rows, columns, leading dimension.
    auto layout = [&](cublasLtMatrixLayout_t *to, const CudaMatrix &x,
                      uint64_t rows, uint64_t cols, int64_t ld) {
      cublasStatus_t r =
          l.cublasLtMatrixLayoutCreate(to, CUDA_R_32F, rows, cols, ld);
      if (r == CUBLAS_STATUS_SUCCESS && mm.batch > 1) {
        int32_t count = static_cast<int32_t>(mm.batch);
        int64_t stride = x.batch;
        if ((r = l.cublasLtMatrixLayoutSetAttribute(
                 *to, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                 sizeof count)) == CUBLAS_STATUS_SUCCESS)
          r = l.cublasLtMatrixLayoutSetAttribute(
              *to, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
              sizeof stride);
      }
      return r;
    };
    if ((r = transa == CUBLAS_OP_N
                 ? layout(&out.a, mm.b, mm.n, mm.k, mm.b.rows)
                 : layout(&out.a, mm.b, mm.k, mm.n, mm.b.cols)) !=
            CUBLAS_STATUS_SUCCESS ||
        (r = transb == CUBLAS_OP_N
                 ? layout(&out.b, mm.a, mm.k, mm.m, mm.a.rows)
                 : layout(&out.b, mm.a, mm.m, mm.k, mm.a.cols)) !=
            CUBLAS_STATUS_SUCCESS ||
        (r = layout(&out.c, mm.c, mm.n, mm.m, mm.c.rows)) !=
            CUBLAS_STATUS_SUCCESS)
      return failed("cublasLtMatrixLayoutCreate", r);
    cublasLtMatmulPreference_t preference = nullptr;
    if ((r = l.cublasLtMatmulPreferenceCreate(&preference)) !=
        CUBLAS_STATUS_SUCCESS)
      return failed("cublasLtMatmulPreferenceCreate", r);
    uint64_t workspace = kBlasWorkspaceBytes;
    cublasLtMatmulHeuristicResult_t result = {};
    int found = 0;
    r = l.cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
        sizeof workspace);
    // cuBLASLt assumes 256-byte aligned matrices unless told (its A and B
    // are Kiln's B and A).
    const CudaMatrix *order[] = {&mm.b, &mm.a, &mm.c, &mm.c};
    for (int i = 0; i < 4 && r == CUBLAS_STATUS_SUCCESS; ++i) {
      uint32_t align = Alignment(*order[i]);
      r = l.cublasLtMatmulPreferenceSetAttribute(
          preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES + i, &align,
          sizeof align);
    }
    if (r == CUBLAS_STATUS_SUCCESS)
      r = l.cublasLtMatmulAlgoGetHeuristic(l.handle, out.desc, out.a, out.b,
                                           out.c, out.c, preference, 1, &result,
                                           &found);
    l.cublasLtMatmulPreferenceDestroy(preference);
    if (r != CUBLAS_STATUS_SUCCESS)
      return failed("cublasLtMatmulAlgoGetHeuristic", r);
    if (found < 1)
      return absl::UnimplementedError(absl::StrCat(
          "matmul ", name, ": cuBLASLt has no algorithm for ", mm.batch, " x [",
          mm.m, " x ", mm.k, "] x [", mm.k, " x ", mm.n, "]"));
    out.algo = result.algo;
    return absl::OkStatus();
  }

  /// Runs `mm` on `stream` with the buffers of `dispatch` (`args`).
  absl::Status RunMatmul(BlasMatmul &mm, const std::vector<CUdeviceptr> &args,
                         const Dispatch &dispatch, CUstream stream) {
    const CudaMatmul &k = mm.matmul;
    auto at = [&](const CudaMatrix &x) -> void * {
      return reinterpret_cast<void *>(args[x.buffer] + x.offset * 4);
    };
    for (const CudaMatrix *x : {&k.a, &k.b, &k.c, &k.bias})
      if (x->buffer >= static_cast<int64_t>(args.size()))
        return absl::DataLossError(
            absl::StrCat("corrupt artifact: a matmul of kernel ",
                         plan_.kernels[dispatch.kernel], " names buffer ",
                         x->buffer, " of ", args.size()));
    const Blas &l = *blas_;
    cublasStatus_t r;
    if (k.bias.buffer >= 0) {
      void *bias = at(k.bias);
      if ((r = l.cublasLtMatmulDescSetAttribute(
               mm.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
               sizeof bias)) != CUBLAS_STATUS_SUCCESS)
        return absl::InternalError(
            l.Error("cublasLtMatmulDescSetAttribute (bias)", r));
    }
    const float one = 1, beta = k.accumulate ? 1 : 0;
    void *c = at(k.c);
    if ((r = l.cublasLtMatmul(
             l.handle, mm.desc, &one, at(k.b), mm.a, at(k.a), mm.b, &beta, c,
             mm.c, c, mm.c, &mm.algo, reinterpret_cast<void *>(workspace_),
             kBlasWorkspaceBytes, stream)) != CUBLAS_STATUS_SUCCESS)
      return absl::InternalError(
          absl::StrCat("kernel ", plan_.kernels[dispatch.kernel], ": ",
                       l.Error("cublasLtMatmul", r)));
    return absl::OkStatus();
  }

  static size_t Bytes(const TensorSpec &spec) {
    return static_cast<size_t>(spec.num_elements()) * DTypeSize(spec.dtype);
  }

  absl::Status Internal(const char *what, CUresult r) const {
    return absl::InternalError(d_.Error(what, r));
  }

  /// `bytes` of device memory (0 for none), freed with the device.
  absl::StatusOr<CUdeviceptr> Allocate(size_t bytes) {
    if (bytes == 0)
      return CUdeviceptr{0};
    CUdeviceptr p = 0;
    if (CUresult r = d_.cuMemAlloc(&p, bytes); r != CUDA_SUCCESS)
      return absl::ResourceExhaustedError(
          d_.Error(absl::StrCat("allocating ", bytes, " bytes").c_str(), r));
    allocations_.push_back(p);
    return p;
  }

  CUdeviceptr Address(const ArgRef &a) const {
    switch (a.kind) {
    case ArgRef::Kind::kFeed:
      return feeds_[a.index];
    case ArgRef::Kind::kFetch:
      return fetches_[a.index];
    case ArgRef::Kind::kArena:
      return arena_ + a.offset;
    case ArgRef::Kind::kConstant:
      return constants_ + a.offset;
    }
    return 0;
  }

  Driver &d_;
  Signature signature_;
  LaunchPlan plan_; ///< Shares the constants' bytes with the executable's.
  CUmodule module_ = nullptr;
  std::vector<std::vector<Launch>> kernels_;
  const Blas *blas_ = nullptr;
  std::vector<BlasMatmul> matmuls_;
  CUdeviceptr workspace_ = 0;
  std::vector<CUdeviceptr> allocations_;
  CUdeviceptr constants_ = 0, arena_ = 0;
  std::vector<CUdeviceptr> feeds_, fetches_;
  bool graph_tried_ = false;
  CUstream stream_ = nullptr;
  CUgraph graph_ = nullptr;
  CUgraphExec exec_ = nullptr;
  /// One run at a time uses the device memory.
  std::mutex mutex_;
};

} // namespace

absl::Status CudaAvailable() { return OpenDriver().status(); }

absl::StatusOr<std::string> CudaDeviceDescription() {
  const absl::StatusOr<Driver *> &driver = OpenDriver();
  if (!driver.ok())
    return driver.status();
  return absl::StrCat((*driver)->name, ", sm_", (*driver)->arch);
}

absl::StatusOr<std::shared_ptr<Device>>
LoadCudaDevice(const Signature &signature, const LaunchPlan &plan,
               const CudaCode &code) {
  const absl::StatusOr<Driver *> &driver = OpenDriver();
  if (!driver.ok())
    return driver.status();
  auto device = std::make_shared<CudaDevice>(**driver, signature, plan);
  if (absl::Status s = device->Load(code); !s.ok())
    return s;
  return device;
}

} // namespace kiln
