//===- artifact_fuzzer.cc - libFuzzer target for the artifact loader ------===//
//
// Part of Kiln. Run with tools/fuzz.sh artifact [SECONDS].
//
// A mutated artifact almost never passes the checksum, so for most inputs
// the harness first repairs the header's file size and checksum (the
// format's offsets, runtime/artifact.h): the mutations then reach the
// parser of the signature and the launch plan, which must refuse any plan
// that refers to bytes, kernels, feeds or fetches that do not exist. The
// kernels' machine code is not loaded: an artifact's code is trusted once
// its checksum matches, as any shared library is.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstring>
#include <string>

#include "runtime/artifact.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln::AlignedBytes bytes(size);
  if (size > 0)
    std::memcpy(bytes.data(), data, size);
  // Repair unless the last byte is odd: both paths are fuzzed.
  if (size >= 64 && (data[size - 1] & 1) == 0) {
    uint64_t n = size;
    std::memcpy(bytes.data() + 16, &n, 8);
    uint64_t sum = kiln::ArtifactChecksum(bytes.data(), size);
    std::memcpy(bytes.data() + 24, &sum, 8);
  }
  absl::StatusOr<kiln::Artifact> artifact =
      kiln::ParseArtifact(std::move(bytes));
  if (!artifact.ok())
    return 0;
  (void)kiln::CheckTargetRunsHere(artifact->target);
  // Every reference the plan makes must be in bounds: ASan checks it while
  // the plan is printed and its constants touched.
  std::string text = kiln::PlanString(artifact->signature, artifact->plan);
  volatile uint8_t sink = 0;
  for (const kiln::Dispatch &d : artifact->plan.dispatches)
    for (const kiln::ArgRef &a : d.args)
      if (a.kind == kiln::ArgRef::Kind::kConstant && a.bytes > 0)
        sink ^= artifact->plan.constants.data()[a.offset + a.bytes - 1];
  (void)sink;
  (void)kiln::SerializeArtifact(*artifact);
  return 0;
}
