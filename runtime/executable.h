//===- executable.h - What the compiler hands the runtime -------*- C++ -*-===//
//
// Part of Kiln. An Executable is everything a run needs and nothing of the
// compiler: the signature (feeds and fetches with names, dtypes and
// shapes), a kernel table of machine code, and the launch plan, the ordered
// kernel dispatches with where each argument comes from. How the kernels
// were produced (LLVM's JIT today) stays behind the kernel table; no MLIR,
// LLVM or protobuf header is included here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_EXECUTABLE_H
#define KILN_RUNTIME_EXECUTABLE_H

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/tensor.h"

namespace kiln {

/// One feed or fetch of a compiled graph.
struct TensorSpec {
  std::string name; ///< Placeholder name, or the fetch as written.
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;

  int64_t num_elements() const;
  /// "f32[2,3]".
  std::string TypeString() const;
};

/// What a compiled graph takes and gives, in order.
struct Signature {
  std::vector<TensorSpec> feeds;
  std::vector<TensorSpec> fetches;
};

/// A kernel: machine code that takes an array of pointers, the i-th
/// pointing to its i-th argument (a buffer's base pointer).
using KernelFn = void (*)(void **);

/// Where one argument of a dispatch comes from.
struct ArgRef {
  enum class Kind { kFeed, kFetch };
  Kind kind;
  int index; ///< Into the signature's feeds or fetches.
};

/// One kernel call of the launch plan.
struct Dispatch {
  int kernel; ///< Into the kernel table.
  std::vector<ArgRef> args;
};

/// A compiled graph, ready to run. Run may be called from several threads
/// at once: the kernels keep no state between calls.
class Executable {
public:
  /// `code` keeps the kernels' machine code alive as long as the
  /// executable lives (the JIT's engine, a loaded library, ...).
  Executable(Signature signature, std::vector<std::string> kernel_names,
             std::vector<KernelFn> kernels, std::vector<Dispatch> plan,
             std::shared_ptr<const void> code);

  const Signature &signature() const { return signature_; }
  const std::vector<Dispatch> &plan() const { return plan_; }
  const std::vector<std::string> &kernel_names() const { return names_; }

  /// Checks `feeds` (by name: each of the signature's feeds must be there,
  /// with its dtype and shape; others are ignored), runs the launch plan
  /// and returns the fetches in signature order. A bad feed is an
  /// InvalidArgument error naming it with the expected and given types.
  absl::Status Run(const std::map<std::string, const Tensor *> &feeds,
                   std::vector<Tensor> *fetches) const;

  /// The launch plan, one dispatch a line:
  /// "dispatch @main(feed x: f32[2,4], fetch probs: f32[2,3])".
  std::string PlanString() const;

private:
  Signature signature_;
  std::vector<std::string> names_;
  std::vector<KernelFn> kernels_;
  std::vector<Dispatch> plan_;
  std::shared_ptr<const void> code_;
};

} // namespace kiln

#endif // KILN_RUNTIME_EXECUTABLE_H
