//===- classifier_main.cc - A model compiled into a program ---------------===//
//
// Part of Kiln. The ahead-of-time example: examples/aot/BUILD compiles
// classifier.pbtxt at build time with kiln_library into the class
// kiln_examples::Classifier; this program links it and Kiln's runtime, no
// compiler. It reads the features from a .npy file (f32[1,16]) or uses a
// fixed ramp, runs the model and prints the class probabilities.
//
//   bazel run //examples/aot:classifier -- $PWD/features.npy
//
//===----------------------------------------------------------------------===//
#include <cstdio>
#include <cstring>

#include "examples/aot/classifier_model.h"
#include "runtime/npy.h"

int main(int argc, char **argv) {
  kiln_examples::Classifier model;
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", model.error().c_str());
    return 1;
  }
  float *features = model.feed_features();
  if (argc > 1) {
    absl::StatusOr<kiln::Tensor> t = kiln::ReadNpy(argv[1]);
    if (!t.ok()) {
      std::fprintf(stderr, "error: %s\n",
                   std::string(t.status().message()).c_str());
      return 1;
    }
    if (t->dtype() != kiln::DType::kF32 ||
        t->num_elements() != model.feed_features_elements) {
      std::fprintf(stderr, "error: %s holds %s; the model takes f32[1,16]\n",
                   argv[1], t->TypeString().c_str());
      return 1;
    }
    std::memcpy(features, t->raw_data(), sizeof(float) * 16);
  } else {
    for (int i = 0; i < model.feed_features_elements; ++i)
      features[i] = 0.1f * static_cast<float>(i) - 0.8f;
  }
  model.Run();
  const float *probs = model.fetch_probs();
  std::printf("probs:");
  for (int i = 0; i < model.fetch_probs_elements; ++i)
    std::printf(" %.6g", probs[i]);
  std::printf("\n");
  return 0;
}
