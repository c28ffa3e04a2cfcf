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

/// A launch plan's code and memory on the device.
class CudaDevice : public Device {
public:
  CudaDevice(Driver &driver, const Signature &signature, const LaunchPlan &plan)
      : d_(driver), signature_(signature), plan_(plan) {}

  ~CudaDevice() override {
    d_.cuCtxSetCurrent(d_.context);
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
        CUfunction fn = nullptr;
        if (CUresult r =
                d_.cuModuleGetFunction(&fn, module_, launch.function.c_str());
            r != CUDA_SUCCESS)
          return absl::DataLossError(absl::StrCat(
              "corrupt artifact: ",
              d_.Error(("cuModuleGetFunction(" + launch.function + ")").c_str(),
                       r)));
        kernels_.back().push_back(Launch{fn, launch.threads, launch.block});
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
  };

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
