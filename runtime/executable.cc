//===- executable.cc - What the compiler hands the runtime ----------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/executable.h"

#include <algorithm>
#include <alloca.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/thread_pool.h"

namespace kiln {

int64_t TensorSpec::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string TensorSpec::TypeString() const {
  return DTypeName(dtype) + ShapeToString(shape);
}

namespace {

/// The least bytes a dispatch touches to be split over threads.
constexpr int64_t kParallelBytes = 32 * 1024;

int64_t Aligned(int64_t bytes) { return (bytes + 63) / 64 * 64; }

std::string ArgString(const Signature &signature, const ArgRef &a) {
  switch (a.kind) {
  case ArgRef::Kind::kFeed:
    return absl::StrCat("feed ", signature.feeds[a.index].name, ": ",
                        signature.feeds[a.index].TypeString());
  case ArgRef::Kind::kFetch:
    return absl::StrCat("fetch ", signature.fetches[a.index].name, ": ",
                        signature.fetches[a.index].TypeString());
  case ArgRef::Kind::kArena:
    return absl::StrCat(a.scratch ? "scratch " : "", "arena+", a.offset, ": ",
                        a.type);
  case ArgRef::Kind::kConstant:
    return absl::StrCat("const+", a.offset, ": ", a.type);
  }
  return "";
}

} // namespace

AlignedBytes AlignedBytes::Uninitialized(size_t size) {
  AlignedBytes bytes;
  bytes.size_ = size;
  if (size == 0)
    return bytes;
  size_t rounded = (size + 63) / 64 * 64;
  auto *p = static_cast<uint8_t *>(std::aligned_alloc(64, rounded));
  if (!p)
    throw std::bad_alloc();
  bytes.data_ = std::shared_ptr<uint8_t>(p, [](uint8_t *q) { std::free(q); });
  return bytes;
}

AlignedBytes::AlignedBytes(size_t size) : AlignedBytes(Uninitialized(size)) {
  if (size > 0)
    std::memset(data_.get(), 0, (size + 63) / 64 * 64);
}

AlignedBytes::AlignedBytes(std::shared_ptr<uint8_t> data, size_t size)
    : data_(std::move(data)), size_(size) {}

std::string PlanString(const Signature &signature, const LaunchPlan &plan) {
  std::string text = absl::StrCat(
      "arena ", plan.arena_bytes, " bytes (lower bound ",
      plan.arena_lower_bound, "), constants ", plan.constants.size(),
      " bytes, ", plan.dispatches.size(), " dispatches\n");
  for (const Dispatch &d : plan.dispatches) {
    absl::StrAppend(&text, plan.kernels[d.kernel], " grid ", d.grid, " (");
    for (size_t i = 0; i < d.args.size(); ++i)
      absl::StrAppend(&text, i ? ", " : "", ArgString(signature, d.args[i]));
    absl::StrAppend(&text, ")\n");
  }
  for (const RuntimeCheck &check : plan.checks)
    absl::StrAppend(&text, "check arena+", check.offset, ": ", check.message,
                    "\n");
  return text;
}

Executable::Executable(Signature signature, LaunchPlan plan,
                       std::vector<KernelFn> kernels,
                       std::shared_ptr<const void> code)
    : signature_(std::move(signature)), plan_(std::move(plan)),
      kernels_(std::move(kernels)), code_(std::move(code)) {
  int64_t scratch_end = 0;
  scratch_begin_ = plan_.arena_bytes;
  for (const Dispatch &d : plan_.dispatches) {
    max_args_ = std::max(max_args_, d.args.size());
    int64_t bytes = 0;
    for (const ArgRef &a : d.args) {
      if (a.kind == ArgRef::Kind::kFeed)
        bytes += signature_.feeds[a.index].num_elements() *
                 DTypeSize(signature_.feeds[a.index].dtype);
      else if (a.kind == ArgRef::Kind::kFetch)
        bytes += signature_.fetches[a.index].num_elements() *
                 DTypeSize(signature_.fetches[a.index].dtype);
      else
        bytes += a.bytes;
      if (a.scratch) {
        scratch_begin_ = std::min(scratch_begin_, a.offset);
        scratch_end = std::max(scratch_end, a.offset + a.bytes);
      }
    }
    // Waking a thread costs a few microseconds: worth it for a dispatch
    // that touches tens of kilobytes, not for a small one.
    parallel_.push_back(d.grid > 1 && bytes >= kParallelBytes);
  }
  scratch_bytes_ = std::max<int64_t>(0, scratch_end - scratch_begin_);
}

Executable::Executable(Signature signature, LaunchPlan plan,
                       std::shared_ptr<Device> device)
    : Executable(std::move(signature), std::move(plan), {}, nullptr) {
  device_ = std::move(device);
}

Executable::~Executable() = default;

void Executable::set_thread_pool(std::shared_ptr<ThreadPool> pool) {
  pool_ = std::move(pool);
}

namespace {

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The length of the well-formed UTF-8 sequence at `s[i]`, or 0.
size_t Utf8Length(const std::string &s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  size_t n = lead < 0x80                    ? 1
             : lead >= 0xC2 && lead <= 0xDF ? 2
             : lead >= 0xE0 && lead <= 0xEF ? 3
             : lead >= 0xF0 && lead <= 0xF4 ? 4
                                            : 0;
  if (n == 0 || i + n > s.size())
    return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80)
      return 0;
  // Overlong forms, surrogates and code points past U+10FFFF.
  if ((lead == 0xE0 && byte(i + 1) < 0xA0) ||
      (lead == 0xED && byte(i + 1) > 0x9F) ||
      (lead == 0xF0 && byte(i + 1) < 0x90) ||
      (lead == 0xF4 && byte(i + 1) > 0x8F))
    return 0;
  return n;
}

/// `text` as a JSON string's contents; bytes that are not UTF-8 become
/// U+FFFD (names come from models, which do not always respect that).
std::string JsonEscaped(const std::string &text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
      ++i;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
  return out;
}

} // namespace

void Executable::set_profiling(bool on) {
  dispatch_nanos_.reset();
  profiled_runs_ = 0;
  {
    std::lock_guard<std::mutex> lock(trace_mutex_);
    trace_.clear();
    trace_threads_.clear();
    trace_dropped_ = 0;
  }
  trace_origin_ns_ = SteadyNanos();
  if (on) {
    dispatch_nanos_ =
        std::make_unique<std::atomic<int64_t>[]>(plan_.dispatches.size());
    for (size_t i = 0; i < plan_.dispatches.size(); ++i)
      dispatch_nanos_[i] = 0;
  }
}

std::vector<int64_t> Executable::DispatchNanos() const {
  std::vector<int64_t> nanos(plan_.dispatches.size(), 0);
  if (dispatch_nanos_)
    for (size_t i = 0; i < nanos.size(); ++i)
      nanos[i] = dispatch_nanos_[i].load();
  return nanos;
}

std::string Executable::ProfileString() const {
  if (!dispatch_nanos_)
    return "";
  int64_t runs = ProfiledRuns();
  const LaunchPlan &plan = plan_;
  std::vector<int64_t> nanos = DispatchNanos();
  std::vector<std::string> fetches;
  for (const TensorSpec &spec : signature_.fetches)
    fetches.push_back(spec.name);
  std::string text =
      absl::StrCat("profile of fetches ", absl::StrJoin(fetches, ", "), ": ",
                   runs, " runs, time per run\n");
  if (runs == 0)
    return text;
  int64_t total = 0;
  for (int64_t n : nanos)
    total += n;
  std::vector<size_t> order(nanos.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return nanos[a] > nanos[b]; });
  absl::StrAppend(&text, absl::StrFormat("  %10s %6s %6s  %s\n", "ms", "share",
                                         "grid", "kernel"));
  for (size_t i : order) {
    const Dispatch &d = plan.dispatches[i];
    absl::StrAppend(&text,
                    absl::StrFormat("  %10.4f %5.1f%% %6d  %s\n",
                                    nanos[i] / 1e6 / runs,
                                    total ? 100.0 * nanos[i] / total : 0.0,
                                    d.grid, plan.kernels[d.kernel]));
  }
  absl::StrAppend(&text, absl::StrFormat("  %10.4f %5.1f%%         total\n",
                                         total / 1e6 / runs, 100.0));
  return text;
}

std::string Executable::TraceEvents(int pid) const {
  if (!dispatch_nanos_)
    return "";
  std::vector<std::string> fetches;
  for (const TensorSpec &spec : signature_.fetches)
    fetches.push_back(spec.name);
  std::lock_guard<std::mutex> lock(trace_mutex_);
  std::string text = absl::StrFormat(
      "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,"
      "\"args\":{\"name\":\"fetches %s\"}}",
      pid, JsonEscaped(absl::StrJoin(fetches, ", ")));
  for (const TraceEvent &e : trace_) {
    const Dispatch &d = plan_.dispatches[e.dispatch];
    absl::StrAppend(
        &text, absl::StrFormat(
                   ",\n{\"name\":\"%s\",\"cat\":\"kernel\",\"ph\":\"X\","
                   "\"ts\":%.3f,\"dur\":%.3f,\"pid\":%d,\"tid\":%d,"
                   "\"args\":{\"dispatch\":%d,\"grid\":%d}}",
                   JsonEscaped(plan_.kernels[d.kernel]), e.start_ns / 1e3,
                   e.duration_ns / 1e3, pid, e.thread, e.dispatch, d.grid));
  }
  if (trace_dropped_ > 0)
    absl::StrAppend(
        &text, absl::StrFormat(
                   ",\n{\"name\":\"%d dispatches not traced (over %d events)\","
                   "\"ph\":\"i\",\"s\":\"p\",\"ts\":0,\"pid\":%d,\"tid\":0}",
                   trace_dropped_, kMaxTraceEvents, pid));
  return text;
}

int64_t Executable::arena_bytes_with_workers() const {
  int workers = pool_ ? pool_->size() : 1;
  return Aligned(plan_.arena_bytes) + (workers - 1) * Aligned(scratch_bytes_);
}

absl::Status Executable::Run(const std::map<std::string, const Tensor *> &feeds,
                             std::vector<Tensor> *fetches) const {
  std::vector<void *> feed_data;
  for (const TensorSpec &spec : signature_.feeds) {
    auto it = feeds.find(spec.name);
    if (it == feeds.end())
      return absl::InvalidArgumentError(
          absl::StrCat("missing feed '", spec.name, "' (", spec.TypeString(),
                       "), which the fetches need"));
    const Tensor &t = *it->second;
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", spec.name, "': expected ", spec.TypeString(),
                       ", got ", t.TypeString()));
    if (t.raw_data() == nullptr && t.num_elements() > 0)
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", spec.name, "' has no data"));
    feed_data.push_back(const_cast<void *>(t.raw_data()));
  }
  std::vector<Tensor> results;
  for (const TensorSpec &spec : signature_.fetches) {
    absl::StatusOr<Tensor> t =
        Tensor::AllocateUninitialized(spec.dtype, spec.shape);
    if (!t.ok())
      return t.status();
    results.push_back(*std::move(t));
  }
  std::vector<void *> fetch_data;
  for (Tensor &t : results)
    fetch_data.push_back(t.raw_data());
  if (device_) {
    std::vector<int64_t> checks(2 * plan_.checks.size());
    if (absl::Status s =
            device_->Run(feed_data.data(), fetch_data.data(), checks.data());
        !s.ok())
      return s;
    for (size_t i = 0; i < plan_.checks.size(); ++i)
      if (absl::Status s = CheckFailure(plan_.checks[i], &checks[2 * i]);
          !s.ok())
        return s;
    *fetches = std::move(results);
    return absl::OkStatus();
  }
  // An arena from an earlier run, or a new one; given back afterwards.
  AlignedBytes arena;
  {
    std::lock_guard<std::mutex> lock(arenas_mutex_);
    if (!free_arenas_.empty()) {
      arena = std::move(free_arenas_.back());
      free_arenas_.pop_back();
    }
  }
  if (arena.empty() && arena_bytes_with_workers() > 0) {
    try {
      arena = AlignedBytes::Uninitialized(arena_bytes_with_workers());
    } catch (const std::bad_alloc &) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot allocate the arena of ", plan_.arena_bytes, " bytes"));
    }
  }
  RunOnBuffers(feed_data.data(), fetch_data.data(), arena.data());
  absl::Status checked = CheckRun(arena.data());
  if (!arena.empty()) {
    std::lock_guard<std::mutex> lock(arenas_mutex_);
    free_arenas_.push_back(std::move(arena));
  }
  if (!checked.ok())
    return checked;
  *fetches = std::move(results);
  return absl::OkStatus();
}

absl::Status Executable::CheckRun(const void *arena) const {
  for (const RuntimeCheck &check : plan_.checks) {
    int64_t result[2];
    std::memcpy(result, static_cast<const char *>(arena) + check.offset,
                sizeof result);
    if (absl::Status s = CheckFailure(check, result); !s.ok())
      return s;
  }
  return absl::OkStatus();
}

absl::Status Executable::CheckFailure(const RuntimeCheck &check,
                                      const int64_t result[2]) {
  if (result[0] == 0)
    return absl::OkStatus();
  std::string message = check.message;
  if (size_t at = message.find("{value}"); at != std::string::npos)
    message.replace(at, 7, std::to_string(result[1]));
  if (result[0] > 1)
    absl::StrAppend(&message, "; ", result[0], " values broke this rule");
  return absl::OutOfRangeError(message);
}

void Executable::RunOnBuffers(const void *const *feeds, void *const *fetches,
                              void *arena) const {
  if (device_) {
    // Host buffers mean nothing to a device's kernels: a caller's bug.
    std::fprintf(stderr, "kiln: RunOnBuffers on an executable whose plan runs "
                         "on a device; call Run\n");
    std::abort();
  }
  const size_t slots = max_args_ + 2;
  // Calls dispatch `d`'s kernel on tiles [begin, end) as `worker`, whose
  // scratch buffers are its own copy after the arena (worker 0's are in
  // it). The pointer array is on the stack: a single-threaded run
  // allocates nothing.
  auto call = [&](const Dispatch &d, int worker, int64_t begin, int64_t end) {
    void **pointers = static_cast<void **>(alloca(2 * slots * sizeof(void *)));
    void **args = pointers + slots;
    char *scratch = static_cast<char *>(arena);
    if (worker > 0)
      scratch += Aligned(plan_.arena_bytes) +
                 (worker - 1) * Aligned(scratch_bytes_) - scratch_begin_;
    size_t n = 0;
    for (const ArgRef &a : d.args) {
      void *p = nullptr;
      switch (a.kind) {
      case ArgRef::Kind::kFeed:
        p = const_cast<void *>(feeds[a.index]);
        break;
      case ArgRef::Kind::kFetch:
        p = fetches[a.index];
        break;
      case ArgRef::Kind::kArena:
        p = (a.scratch ? scratch : static_cast<char *>(arena)) + a.offset;
        break;
      case ArgRef::Kind::kConstant: // Read only: kernels never write it.
        p = const_cast<uint8_t *>(plan_.constants.data() + a.offset);
        break;
      }
      pointers[n] = p;
      args[n] = &pointers[n];
      ++n;
    }
    args[n] = &begin;
    args[n + 1] = &end;
    kernels_[d.kernel](args);
  };
  std::vector<TraceEvent> events;
  if (dispatch_nanos_)
    events.reserve(plan_.dispatches.size());
  for (size_t i = 0; i < plan_.dispatches.size(); ++i) {
    const Dispatch &d = plan_.dispatches[i];
    int64_t start = dispatch_nanos_ ? SteadyNanos() : 0;
    if (pool_ && pool_->size() > 1 && parallel_[i])
      pool_->ParallelFor(d.grid, [&](int worker, int64_t begin, int64_t end) {
        call(d, worker, begin, end);
      });
    else
      call(d, 0, 0, d.grid);
    if (dispatch_nanos_) {
      int64_t duration = SteadyNanos() - start;
      dispatch_nanos_[i] += duration;
      events.push_back(
          {static_cast<int32_t>(i), 0, start - trace_origin_ns_, duration});
    }
  }
  if (!dispatch_nanos_)
    return;
  ++profiled_runs_;
  std::lock_guard<std::mutex> lock(trace_mutex_);
  auto it = trace_threads_
                .emplace(std::this_thread::get_id(),
                         static_cast<int32_t>(trace_threads_.size()))
                .first;
  for (TraceEvent &e : events) {
    if (trace_.size() >= kMaxTraceEvents) {
      ++trace_dropped_;
      continue;
    }
    e.thread = it->second;
    trace_.push_back(e);
  }
}

} // namespace kiln
