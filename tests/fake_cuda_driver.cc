//===- fake_cuda_driver.cc - A CUDA driver double for runtime tests -------===//
//
// Part of Kiln. Loaded through $KILN_CUDA_DRIVER by cuda_runtime_test: the
// driver entry points runtime/cuda_device.cc uses, with host memory as
// device memory. Kernels do not run (there is no PTX interpreter); every
// call is written, one line each, to $FAKE_CUDA_LOG, so that the test can
// check what the runtime asked for: the image it loaded, the buffers and
// launch sizes of each kernel, the copies, the graph capture and replay.
// $FAKE_CUDA_ARCH (default 90) is the device's compute capability.
//
//===----------------------------------------------------------------------===//
#include "tests/fake_cuda_log.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Function {
  std::string name;
  int params = 0; ///< Counted from the PTX's .entry.
};

struct State {
  std::string ptx;
  std::map<uint64_t, size_t> allocations; ///< Address -> bytes.
  std::vector<uint64_t> order;            ///< Addresses, in allocation order.
  /// The functions handed out, owned here as a driver owns its own.
  std::vector<std::unique_ptr<Function>> functions;
  bool capturing = false;
  std::vector<std::string> captured; ///< Launch lines of the graph.
};

State &S() {
  static State state;
  return state;
}

/// "a<k>+<offset>": allocation k (in order) and the offset into it, or
/// "bad" for an address outside every allocation.
std::string Where(uint64_t p) {
  const State &s = S();
  for (size_t k = 0; k < s.order.size(); ++k) {
    uint64_t base = s.order[k];
    size_t bytes = s.allocations.at(base);
    if (p >= base && p < base + bytes)
      return "a" + std::to_string(k) + "+" + std::to_string(p - base);
  }
  return "bad";
}

} // namespace

extern "C" {

int cuInit(unsigned) { return 0; }
int cuGetErrorString(int, const char **text) {
  *text = "fake error";
  return 0;
}
int cuDeviceGetCount(int *n) {
  *n = 1;
  return 0;
}
int cuDeviceGet(int *d, int) {
  *d = 0;
  return 0;
}
int cuDeviceGetName(char *name, int size, int) {
  std::snprintf(name, size, "Fake GPU");
  return 0;
}
int cuDeviceGetAttribute(int *value, int attribute, int) {
  const char *env = std::getenv("FAKE_CUDA_ARCH");
  int arch = env ? std::atoi(env) : 90;
  *value = attribute == 75 ? arch / 10 : arch % 10;
  return 0;
}
int cuDevicePrimaryCtxRetain(void **context, int) {
  static int context_object;
  *context = &context_object;
  return 0;
}
int cuCtxSetCurrent(void *) { return 0; }
int cuCtxSynchronize() { return 0; }

int cuModuleLoadData(void **module, const void *image) {
  const char *bytes = static_cast<const char *>(image);
  bool elf = std::memcmp(bytes,
                         "\x7f"
                         "ELF",
                         4) == 0;
  if (!elf)
    S().ptx = bytes;
  Log(elf ? "load cubin" : "load ptx");
  static int module_object;
  *module = &module_object;
  return 0;
}
int cuModuleUnload(void *) { return 0; }
int cuModuleGetFunction(void **fn, void *, const char *name) {
  S().functions.push_back(std::make_unique<Function>(Function{name, 0}));
  Function *f = S().functions.back().get();
  // Without the PTX (a cubin was loaded), the parameters stay unknown.
  const std::string &ptx = S().ptx;
  size_t at = ptx.find(".entry " + f->name + "(");
  if (!ptx.empty() && at == std::string::npos)
    return 500; // CUDA_ERROR_NOT_FOUND
  if (at != std::string::npos) {
    size_t end = ptx.find(')', at);
    for (size_t p = ptx.find(".param", at); p < end;
         p = ptx.find(".param", p + 1))
      ++f->params;
  }
  *fn = f;
  return 0;
}

int cuMemAlloc_v2(uint64_t *p, size_t bytes) {
  void *q = std::calloc(bytes, 1);
  *p = reinterpret_cast<uint64_t>(q);
  S().allocations[*p] = bytes;
  S().order.push_back(*p);
  Log("alloc a" + std::to_string(S().order.size() - 1) + " " +
      std::to_string(bytes));
  return 0;
}
int cuMemFree_v2(uint64_t p) {
  std::free(reinterpret_cast<void *>(p));
  return 0;
}
int cuMemcpyHtoD_v2(uint64_t to, const void *from, size_t bytes) {
  std::memcpy(reinterpret_cast<void *>(to), from, bytes);
  Log("htod " + Where(to) + " " + std::to_string(bytes));
  return 0;
}
int cuMemcpyDtoH_v2(void *to, uint64_t from, size_t bytes) {
  std::memcpy(to, reinterpret_cast<void *>(from), bytes);
  Log("dtoh " + Where(from) + " " + std::to_string(bytes));
  return 0;
}
int cuMemsetD8_v2(uint64_t p, unsigned char value, size_t bytes) {
  std::memset(reinterpret_cast<void *>(p), value, bytes);
  return 0;
}

int cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned shared, void *stream,
                   void **params, void **) {
  auto *f = static_cast<Function *>(fn);
  std::string line = "launch " + f->name + " grid " + std::to_string(gx) + "x" +
                     std::to_string(gy) + "x" + std::to_string(gz) + " block " +
                     std::to_string(bx) + "x" + std::to_string(by) + "x" +
                     std::to_string(bz) + " shared " + std::to_string(shared) +
                     (stream ? " stream" : "");
  for (int i = 0; i < f->params; ++i)
    line += " " + Where(*static_cast<uint64_t *>(params[i]));
  if (S().capturing)
    S().captured.push_back(line);
  else
    Log(line);
  return 0;
}

int cuStreamCreate(void **stream, unsigned) {
  static int stream_object;
  *stream = &stream_object;
  return 0;
}
int cuStreamDestroy_v2(void *) { return 0; }
int cuStreamBeginCapture_v2(void *, int) {
  if (std::getenv("FAKE_CUDA_NO_CAPTURE"))
    return 999;
  S().capturing = true;
  Log("capture");
  return 0;
}
int cuStreamEndCapture(void *, void **graph) {
  S().capturing = false;
  static int graph_object;
  *graph = &graph_object;
  return 0;
}
int cuGraphInstantiateWithFlags(void **exec, void *, unsigned long long) {
  static int exec_object;
  *exec = &exec_object;
  return 0;
}
int cuGraphLaunch(void *, void *) {
  Log("graph");
  for (const std::string &line : S().captured)
    Log(line);
  return 0;
}
int cuGraphExecDestroy(void *) { return 0; }
int cuGraphDestroy(void *) { return 0; }

} // extern "C"
