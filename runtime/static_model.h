//===- static_model.h - A model compiled into the program -------*- C++ -*-===//
//
// Part of Kiln. What the classes `graph-compile --emit=obj,header` generates
// stand on: the object holds the kernels and the artifact's bytes (no code:
// signature, launch plan, constants); the generated header passes them
// here. Buffers are allocated once, when the model is made; Run allocates
// nothing. No compiler is linked: only the runtime library.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_STATIC_MODEL_H
#define KILN_RUNTIME_STATIC_MODEL_H

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "runtime/executable.h"

namespace kiln {

class StaticModel {
public:
  /// `artifact` (`bytes` long, 64-byte aligned) is the object's artifact
  /// symbol; `kernels` its entry points in the plan's order. The arena is
  /// `arena` when given (plan().arena_bytes bytes, 64-byte aligned, owned
  /// by the caller), else allocated here. Feed and fetch buffers are
  /// allocated here. On a problem (this CPU lacks a feature the code uses,
  /// the kernels do not match the artifact) ok() is false and error() says
  /// why; Run then does nothing.
  StaticModel(const unsigned char *artifact, size_t bytes,
              const KernelFn *kernels, size_t num_kernels,
              void *arena = nullptr);

  bool ok() const { return executable_ != nullptr; }
  const std::string &error() const { return error_; }
  const Signature &signature() const;

  /// The data of feed or fetch `i` (in signature order); null for one with
  /// no elements.
  void *feed_data(size_t i) { return feeds_[i]; }
  void *fetch_data(size_t i) { return fetches_[i]; }
  const void *fetch_data(size_t i) const { return fetches_[i]; }

  /// Runs the model on the feed buffers into the fetch buffers. No heap
  /// allocation, no locking; one Run at a time per StaticModel (the arena
  /// is shared). False when !ok(), or when a run-time check failed (an
  /// index out of range, an integer division by zero): error() then says
  /// which node and value, and the fetches hold no meaningful values.
  bool Run();

private:
  std::unique_ptr<Executable> executable_;
  std::string error_;
  AlignedBytes buffers_; ///< Feeds, fetches and (unless given) the arena.
  std::vector<void *> feeds_, fetches_;
  void *arena_ = nullptr;
};

} // namespace kiln

#endif // KILN_RUNTIME_STATIC_MODEL_H
