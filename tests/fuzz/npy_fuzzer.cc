//===- npy_fuzzer.cc - libFuzzer target for .npy parsing ------------------===//
//
// Part of Kiln. Run with tools/fuzz.sh npy [SECONDS].
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <string>

#include "runtime/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  absl::StatusOr<kiln::Tensor> t = kiln::ParseNpy(bytes, "fuzz.npy");
  if (t.ok() && t->num_elements() > 0) {
    // Touch every byte: a wrong size would be caught by ASan.
    volatile uint8_t sink = 0;
    const uint8_t *p = static_cast<const uint8_t *>(t->raw_data());
    for (int64_t i = 0; i < t->size_bytes(); ++i)
      sink ^= p[i];
    (void)sink;
  }
  return 0;
}
