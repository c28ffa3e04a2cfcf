//===- executable.cc - What the compiler hands the runtime ----------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/executable.h"

#include <algorithm>
#include <alloca.h>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

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
  return text;
}

Executable::Executable(Signature signature, LaunchPlan plan,
                       std::vector<KernelFn> kernels,
                       std::shared_ptr<const void> code)
    : signature_(std::move(signature)), plan_(std::move(plan)),
      kernels_(std::move(kernels)), code_(std::move(code)) {
  for (const Dispatch &d : plan_.dispatches)
    max_args_ = std::max(max_args_, d.args.size());
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
    absl::StatusOr<Tensor> t = Tensor::Allocate(spec.dtype, spec.shape);
    if (!t.ok())
      return t.status();
    results.push_back(*std::move(t));
  }
  std::vector<void *> fetch_data;
  for (Tensor &t : results)
    fetch_data.push_back(t.raw_data());
  // An arena from an earlier run, or a new one; given back afterwards.
  AlignedBytes arena;
  {
    std::lock_guard<std::mutex> lock(arenas_mutex_);
    if (!free_arenas_.empty()) {
      arena = std::move(free_arenas_.back());
      free_arenas_.pop_back();
    }
  }
  if (arena.empty() && plan_.arena_bytes > 0) {
    try {
      arena = AlignedBytes::Uninitialized(plan_.arena_bytes);
    } catch (const std::bad_alloc &) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot allocate the arena of ", plan_.arena_bytes, " bytes"));
    }
  }
  RunOnBuffers(feed_data.data(), fetch_data.data(), arena.data());
  if (!arena.empty()) {
    std::lock_guard<std::mutex> lock(arenas_mutex_);
    free_arenas_.push_back(std::move(arena));
  }
  *fetches = std::move(results);
  return absl::OkStatus();
}

void Executable::RunOnBuffers(const void *const *feeds, void *const *fetches,
                              void *arena) const {
  // The pointer array of one call: each buffer's pointer, then the tile
  // range, and the array of their addresses that the kernel takes. On the
  // stack, so that a run allocates nothing.
  size_t slots = max_args_ + 2;
  void **pointers = static_cast<void **>(alloca(2 * slots * sizeof(void *)));
  void **args = pointers + slots;
  for (const Dispatch &d : plan_.dispatches) {
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
        p = static_cast<char *>(arena) + a.offset;
        break;
      case ArgRef::Kind::kConstant: // Read only: kernels never write it.
        p = const_cast<uint8_t *>(plan_.constants.data() + a.offset);
        break;
      }
      pointers[n] = p;
      args[n] = &pointers[n];
      ++n;
    }
    // Single-threaded: one call covers the whole grid.
    int64_t begin = 0, end = d.grid;
    args[n] = &begin;
    args[n + 1] = &end;
    kernels_[d.kernel](args);
  }
}

} // namespace kiln
