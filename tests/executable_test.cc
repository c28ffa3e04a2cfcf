//===- executable_test.cc - The runtime's Executable, without a compiler --===//
//
// Part of Kiln. Hand-written kernels in the packed convention stand in for
// compiled ones: the runtime checks feeds, binds arguments and walks the
// launch plan on its own. This target links no LLVM, MLIR or protobuf.
//
//===----------------------------------------------------------------------===//
#include "runtime/executable.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;

/// y[i] = x[i] + 1 over 4 floats: args[0] -> x's pointer, args[1] -> y's.
void AddOne(void **args) {
  const float *x = *static_cast<float **>(args[0]);
  float *y = *static_cast<float **>(args[1]);
  for (int i = 0; i < 4; ++i)
    y[i] = x[i] + 1;
}

/// y[i] *= 2 in place.
void Twice(void **args) {
  float *y = *static_cast<float **>(args[0]);
  for (int i = 0; i < 4; ++i)
    y[i] *= 2;
}

Executable TwoKernels() {
  Signature sig{{{"x", DType::kF32, {4}}}, {{"y", DType::kF32, {4}}}};
  std::vector<Dispatch> plan = {
      {0, {{ArgRef::Kind::kFeed, 0}, {ArgRef::Kind::kFetch, 0}}},
      {1, {{ArgRef::Kind::kFetch, 0}}},
  };
  return Executable(sig, {"add_one", "twice"}, {AddOne, Twice}, plan, nullptr);
}

TEST(ExecutableTest, WalksTheLaunchPlanInOrder) {
  Executable exe = TwoKernels();
  Tensor x = *Tensor::FromVector<float>({4}, {1, 2, 3, 4});
  std::vector<Tensor> out;
  ASSERT_TRUE(exe.Run({{"x", &x}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::vector<float>(out[0].data<float>(), out[0].data<float>() + 4),
            (std::vector<float>{4, 6, 8, 10}));
  EXPECT_EQ(exe.PlanString(),
            "dispatch @add_one(feed x: f32[4], fetch y: f32[4])\n"
            "dispatch @twice(fetch y: f32[4])\n");
}

TEST(ExecutableTest, ChecksFeedsByNameDtypeAndShape) {
  Executable exe = TwoKernels();
  std::vector<Tensor> out;
  absl::Status missing = exe.Run({}, &out);
  EXPECT_THAT(std::string(missing.message()),
              HasSubstr("missing feed 'x' (f32[4])"));
  Tensor wrong_shape = *Tensor::Allocate(DType::kF32, {2, 2});
  absl::Status shape = exe.Run({{"x", &wrong_shape}}, &out);
  EXPECT_EQ(shape.message(), "feed 'x': expected f32[4], got f32[2,2]");
  Tensor wrong_dtype = *Tensor::Allocate(DType::kF64, {4});
  absl::Status dtype = exe.Run({{"x", &wrong_dtype}}, &out);
  EXPECT_EQ(dtype.message(), "feed 'x': expected f32[4], got f64[4]");
}

} // namespace
} // namespace kiln
