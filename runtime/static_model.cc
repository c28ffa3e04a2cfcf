//===- static_model.cc - A model compiled into the program ----------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/static_model.h"

#include "absl/strings/str_cat.h"
#include "runtime/artifact.h"

namespace kiln {
namespace {

int64_t Aligned(int64_t bytes) { return (bytes + 63) / 64 * 64; }

} // namespace

StaticModel::StaticModel(const unsigned char *artifact, size_t bytes,
                         const KernelFn *kernels, size_t num_kernels,
                         void *arena) {
  // The bytes are the program's own: a view, never freed.
  std::shared_ptr<uint8_t> view(const_cast<unsigned char *>(artifact),
                                [](uint8_t *) {});
  absl::StatusOr<Artifact> parsed = ParseArtifact(AlignedBytes(view, bytes));
  if (!parsed.ok()) {
    error_ = std::string(parsed.status().message());
    return;
  }
  if (absl::Status s = CheckTargetRunsHere(parsed->target); !s.ok()) {
    error_ = std::string(s.message());
    return;
  }
  if (parsed->plan.kernels.size() != num_kernels) {
    error_ = absl::StrCat("the artifact names ", parsed->plan.kernels.size(),
                          " kernels, the header ", num_kernels);
    return;
  }
  // One block for every feed and fetch and the arena, each 64-byte
  // aligned.
  int64_t total = arena ? 0 : Aligned(parsed->plan.arena_bytes);
  for (const auto *specs :
       {&parsed->signature.feeds, &parsed->signature.fetches})
    for (const TensorSpec &spec : *specs)
      total += Aligned(spec.num_elements() * DTypeSize(spec.dtype));
  buffers_ = AlignedBytes(static_cast<size_t>(total));
  uint8_t *next = buffers_.data();
  auto take = [&](int64_t size) -> void * {
    if (size == 0)
      return nullptr;
    void *p = next;
    next += Aligned(size);
    return p;
  };
  for (const TensorSpec &spec : parsed->signature.feeds)
    feeds_.push_back(take(spec.num_elements() * DTypeSize(spec.dtype)));
  for (const TensorSpec &spec : parsed->signature.fetches)
    fetches_.push_back(take(spec.num_elements() * DTypeSize(spec.dtype)));
  arena_ = arena ? arena : take(parsed->plan.arena_bytes);
  executable_ = std::make_unique<Executable>(
      std::move(parsed->signature), std::move(parsed->plan),
      std::vector<KernelFn>(kernels, kernels + num_kernels), nullptr);
}

const Signature &StaticModel::signature() const {
  static const Signature *empty = new Signature;
  return executable_ ? executable_->signature() : *empty;
}

bool StaticModel::Run() {
  if (!executable_)
    return false;
  executable_->RunOnBuffers(feeds_.data(), fetches_.data(), arena_);
  if (absl::Status checked = executable_->CheckRun(arena_); !checked.ok()) {
    error_ = std::string(checked.message());
    return false;
  }
  error_.clear();
  return true;
}

} // namespace kiln
