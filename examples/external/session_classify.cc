//===- session_classify.cc - Kiln's Session API from another project ------===//
//
// Part of Kiln's examples. Loads a model file with kiln::Session (which
// compiles it in process), feeds the features from a .npy file or a fixed
// ramp and prints what it fetches, as classify.cc does with the class
// compiled at build time.
//
//   bazel run //:session_classify -- $PWD/../aot/classifier.pbtxt \
//       $PWD/../aot/features.npy
//
//===----------------------------------------------------------------------===//
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/npy.h"
#include "session/session.h"

static int Fail(const absl::Status &s) {
  std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [FEATURES.npy]\n", argv[0]);
    return 2;
  }
  auto session = kiln::Session::CreateFromFile(argv[1]);
  if (!session.ok())
    return Fail(session.status());
  kiln::Tensor features;
  if (argc > 2) {
    absl::StatusOr<kiln::Tensor> t = kiln::ReadNpy(argv[2]);
    if (!t.ok())
      return Fail(t.status());
    features = std::move(*t);
  } else {
    std::vector<float> ramp(16);
    for (int i = 0; i < 16; ++i)
      ramp[i] = 0.1f * static_cast<float>(i) - 0.8f;
    features = *kiln::Tensor::FromVector<float>({1, 16}, ramp);
  }
  std::vector<kiln::Tensor> outputs;
  absl::Status s =
      (*session)->Run({{"features", std::move(features)}}, {"probs"}, &outputs);
  if (!s.ok())
    return Fail(s);
  const float *probs = static_cast<const float *>(outputs[0].raw_data());
  std::printf("probs:");
  for (int64_t i = 0; i < outputs[0].num_elements(); ++i)
    std::printf(" %.6g", probs[i]);
  std::printf("\n");
  return 0;
}
