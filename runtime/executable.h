//===- executable.h - What the compiler hands the runtime -------*- C++ -*-===//
//
// Part of Kiln. An Executable is everything a run needs and nothing of the
// compiler: the signature (feeds and fetches with names, dtypes and
// shapes), a kernel table of machine code, and the launch plan: the arena
// size and the ordered kernel dispatches, each with its grid and where each
// buffer comes from (a feed, a fetch, an arena or a constants offset), and
// the constants region (the weights, read only). Where the kernels come
// from (an artifact's shared object, a program's own object) stays behind
// the kernel table; no MLIR, LLVM or protobuf header is included here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_EXECUTABLE_H
#define KILN_RUNTIME_EXECUTABLE_H

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "runtime/tensor.h"

namespace kiln {

/// Read-only bytes at a 64-byte aligned address (a cache line, an AVX-512
/// vector), as the plan's offsets assume; copies share them.
class AlignedBytes {
public:
  AlignedBytes() = default;
  /// `size` zero bytes.
  explicit AlignedBytes(size_t size);
  /// `size` bytes left as they are, for the caller to fill.
  static AlignedBytes Uninitialized(size_t size);
  /// `size` bytes at `data`, which must be 64-byte aligned, kept alive by
  /// `data` (which may alias a larger block: a loaded artifact file).
  AlignedBytes(std::shared_ptr<uint8_t> data, size_t size);
  uint8_t *data() { return data_.get(); }
  const uint8_t *data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// The owner of the bytes, for views into them.
  const std::shared_ptr<uint8_t> &shared() const { return data_; }

private:
  std::shared_ptr<uint8_t> data_;
  size_t size_ = 0;
};

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

class ThreadPool;

/// A kernel: machine code called with an array of pointers, the i-th
/// pointing to its i-th argument. A kernel's arguments are its buffers (for
/// each, the buffer's base pointer) and then the first and the end tile
/// (int64_t) of the range of its grid it computes.
using KernelFn = void (*)(void **);

/// Where one buffer of a dispatch comes from.
struct ArgRef {
  enum class Kind { kFeed, kFetch, kArena, kConstant };
  Kind kind = Kind::kArena;
  int index = 0; ///< kFeed, kFetch: into the signature's feeds/fetches.
  /// kArena, kConstant: bytes from the start of the arena or of the
  /// constants region.
  int64_t offset = 0;
  int64_t bytes = 0; ///< kArena, kConstant: the buffer's size.
  /// kArena: a tile loop's temporary, written before it is read in each
  /// tile; tiles run at once need one copy each.
  bool scratch = false;
  std::string type; ///< "f32[16,256]", for printing.
};

/// One kernel call of the launch plan: every tile of [0, grid).
struct Dispatch {
  int kernel = 0; ///< Into the kernel table.
  int64_t grid = 1;
  std::vector<ArgRef> args;
};

/// A rule checked while the graph runs (an index within its axis, an
/// integer divisor other than 0): a kernel writes [the number of values that
/// broke it, the largest of them] as two int64_t at `offset` in the arena,
/// and a run where the number is not 0 fails with `message`, "{value}"
/// replaced by that value.
struct RuntimeCheck {
  int64_t offset = 0;
  std::string message; ///< "node 'g' (Gather): index {value} is out of ..."
};

/// What a run does, in order, and the memory it needs besides feeds and
/// fetches.
struct LaunchPlan {
  std::vector<std::string> kernels; ///< Kernel names, by table index.
  std::vector<Dispatch> dispatches;
  int64_t arena_bytes = 0;
  /// The most bytes of temporaries live at one time.
  int64_t arena_lower_bound = 0;
  /// The read-only constants region (weights), each constant at a 64-byte
  /// aligned offset; kernels read it, never write it.
  AlignedBytes constants;
  /// Read after each run, in order; their results lie at the end of the
  /// arena.
  std::vector<RuntimeCheck> checks;
};

/// The launch plan, one dispatch a line, after a header with the arena:
/// "k0_fc1 grid 4 (feed x: f32[64,784], arena+0: f32[64,512])".
std::string PlanString(const Signature &signature, const LaunchPlan &plan);

/// Where a launch plan runs when its kernels are not host code: a device
/// with memory of its own (runtime/cuda_device.h), which keeps what it
/// needs of the plan.
class Device {
public:
  virtual ~Device() = default;
  /// Copies the feeds (host buffers, one per feed of the signature, null
  /// for one with no elements) to the device, runs the plan, copies the
  /// fetches back into `fetches` and, per run-time check of the plan, its
  /// two int64_t results into `check_results`. Safe to call from several
  /// threads.
  virtual absl::Status Run(const void *const *feeds, void *const *fetches,
                           int64_t *check_results) = 0;
};

/// A compiled graph, ready to run. Run may be called from several threads
/// at once: the kernels keep no state between calls.
class Executable {
public:
  /// `kernels` holds the machine code of `plan.kernels`, in order; `code`
  /// keeps it alive as long as the executable lives (the shared object an
  /// artifact loaded, ...); null when the code is the program's own.
  Executable(Signature signature, LaunchPlan plan,
             std::vector<KernelFn> kernels, std::shared_ptr<const void> code);
  /// An executable whose plan runs on `device` (Run only: RunOnBuffers
  /// aborts, threads and profiling are the host's and do nothing).
  Executable(Signature signature, LaunchPlan plan,
             std::shared_ptr<Device> device);
  ~Executable();
  Executable(const Executable &) = delete;
  Executable &operator=(const Executable &) = delete;

  const Signature &signature() const { return signature_; }
  /// The device the plan runs on; null for the host CPU.
  const Device *device() const { return device_.get(); }
  const LaunchPlan &plan() const { return plan_; }

  /// Checks `feeds` (by name: each of the signature's feeds must be there,
  /// with its dtype and shape; others are ignored), allocates the arena,
  /// runs the launch plan and returns the fetches in signature order. A bad
  /// feed is an InvalidArgument error naming it with the expected and given
  /// types.
  absl::Status Run(const std::map<std::string, const Tensor *> &feeds,
                   std::vector<Tensor> *fetches) const;

  /// Runs the launch plan on memory the caller provides and checks nothing:
  /// `feeds[i]` and `fetches[i]` point to the data of the signature's i-th
  /// feed and fetch (null for one with no elements), `arena` to
  /// `plan().arena_bytes` bytes aligned to 64. Allocates nothing. Then ask
  /// CheckRun whether the run obeyed the run-time checks: when it did not,
  /// the fetches hold no meaningful values.
  void RunOnBuffers(const void *const *feeds, void *const *fetches,
                    void *arena) const;

  /// After RunOnBuffers with `arena`: an OutOfRange error (a value the
  /// graph computed or was fed broke a rule; a mistyped feed is
  /// InvalidArgument) with the message of the first run-time check that a
  /// value broke ("node 'g' (Gather): index 7 is out of range [-5, 4] of
  /// axis 0 (size 5)"), or OK.
  /// Allocates nothing when the run was good.
  absl::Status CheckRun(const void *arena) const;

  /// Splits each large enough dispatch's grid over `pool`'s threads from
  /// now on (null: one thread). Call before runs start, not during one.
  /// Each thread needs its own copy of the plan's scratch buffers, placed
  /// after the arena: RunOnBuffers' arena must then be
  /// arena_bytes_with_workers() long.
  void set_thread_pool(std::shared_ptr<ThreadPool> pool);
  /// The arena a run needs with the thread pool set.
  int64_t arena_bytes_with_workers() const;

  std::string PlanString() const { return kiln::PlanString(signature_, plan_); }

  /// From now on, times each dispatch of every run (two clock reads per
  /// dispatch) and adds it to DispatchNanos(). Call before runs start.
  void set_profiling(bool on);
  /// With profiling on: per dispatch of the plan, the nanoseconds spent in
  /// it over all runs since it was turned on, and the number of runs.
  std::vector<int64_t> DispatchNanos() const;
  int64_t ProfiledRuns() const { return profiled_runs_.load(); }
  /// With profiling on, a table of each dispatch's time per run and share
  /// over the runs so far, slowest first; empty otherwise.
  std::string ProfileString() const;
  /// With profiling on: every dispatch of every run so far (up to
  /// kMaxTraceEvents) as Chrome trace events ("ph":"X", microseconds since
  /// profiling was turned on), comma-separated, for a
  /// {"traceEvents":[...]} document; `pid` groups them (one per
  /// executable), each Run's calling thread is a "tid". Empty otherwise.
  std::string TraceEvents(int pid) const;
  static constexpr size_t kMaxTraceEvents = 1 << 20;

private:
  Signature signature_;
  LaunchPlan plan_;
  std::vector<KernelFn> kernels_;
  std::shared_ptr<const void> code_;
  std::shared_ptr<Device> device_;
  /// The error of a run-time check whose results are `result`, or OK.
  static absl::Status CheckFailure(const RuntimeCheck &check,
                                   const int64_t result[2]);
  size_t max_args_ = 0; ///< The most buffers a dispatch passes.
  /// Arenas of finished runs, for the next ones: a fresh allocation of a
  /// large arena costs a page fault per 4 KiB on every run.
  mutable std::mutex arenas_mutex_;
  mutable std::vector<AlignedBytes> free_arenas_;
  std::shared_ptr<ThreadPool> pool_;
  /// The bytes that the scratch buffers span in the arena, from
  /// scratch_begin_; each worker but the first has a copy of them.
  int64_t scratch_begin_ = 0, scratch_bytes_ = 0;
  /// Whether a dispatch is worth splitting over threads.
  std::vector<bool> parallel_;
  /// Per dispatch, with profiling on (else null).
  std::unique_ptr<std::atomic<int64_t>[]> dispatch_nanos_;
  mutable std::atomic<int64_t> profiled_runs_{0};
  /// With profiling on: each dispatch run, in the order runs finished.
  struct TraceEvent {
    int32_t dispatch;
    int32_t thread;   ///< The Run's calling thread, numbered from 0.
    int64_t start_ns; ///< Since trace_origin_ns_.
    int64_t duration_ns;
  };
  mutable std::mutex trace_mutex_;
  mutable std::vector<TraceEvent> trace_;
  mutable std::map<std::thread::id, int32_t> trace_threads_;
  int64_t trace_origin_ns_ = 0; ///< steady_clock at set_profiling(true).
  mutable int64_t trace_dropped_ = 0;
};

} // namespace kiln

#endif // KILN_RUNTIME_EXECUTABLE_H
