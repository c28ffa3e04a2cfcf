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

/// The tile range [begin, end) a kernel is called with: its last two
/// arguments.
std::pair<int64_t, int64_t> Range(void **args, int buffers) {
  return {*static_cast<int64_t *>(args[buffers]),
          *static_cast<int64_t *>(args[buffers + 1])};
}

/// t[i] = x[i] + 1 over the tiles of 4 floats it is given: args[0] -> x's
/// pointer, args[1] -> t's (a buffer of the arena).
void AddOne(void **args) {
  const float *x = *static_cast<float **>(args[0]);
  float *t = *static_cast<float **>(args[1]);
  auto [begin, end] = Range(args, 2);
  for (int64_t i = begin; i < end; ++i)
    t[i] = x[i] + 1;
}

/// y[i] = 2 t[i], over the whole grid of 1.
void Twice(void **args) {
  const float *t = *static_cast<float **>(args[0]);
  float *y = *static_cast<float **>(args[1]);
  auto [begin, end] = Range(args, 2);
  EXPECT_EQ(begin, 0);
  EXPECT_EQ(end, 1);
  for (int i = 0; i < 4; ++i)
    y[i] = 2 * t[i];
}

ArgRef Arena(int64_t offset) {
  ArgRef a;
  a.kind = ArgRef::Kind::kArena;
  a.offset = offset;
  a.bytes = 16;
  a.type = "f32[4]";
  return a;
}

Executable TwoKernels(const std::string &fetch_name = "y") {
  Signature sig{{{"x", DType::kF32, {4}}}, {{fetch_name, DType::kF32, {4}}}};
  LaunchPlan plan;
  plan.kernels = {"k0_add_one", "k1_twice"};
  plan.arena_bytes = 128;
  plan.arena_lower_bound = 16;
  ArgRef feed{ArgRef::Kind::kFeed, 0}, fetch{ArgRef::Kind::kFetch, 0};
  plan.dispatches = {
      {0, /*grid=*/4, {feed, Arena(64)}},
      {1, /*grid=*/1, {Arena(64), fetch}},
  };
  return Executable(sig, plan, {AddOne, Twice}, nullptr);
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
            "arena 128 bytes (lower bound 16), constants 0 bytes, "
            "2 dispatches\n"
            "k0_add_one grid 4 (feed x: f32[4], arena+64: f32[4])\n"
            "k1_twice grid 1 (arena+64: f32[4], fetch y: f32[4])\n");
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

// The profile's trace: one event per dispatch per run, in order, and
// names from the model escaped into valid JSON (a quote, a backslash, a
// control character; bytes that are not UTF-8 become U+FFFD, well-formed
// UTF-8 stays).
TEST(ExecutableTest, TraceEventsAreEscapedAndInOrder) {
  Executable exe = TwoKernels("a\"b\\c\n\xff\xc3(\xc3\xa9");
  exe.set_profiling(true);
  Tensor x = *Tensor::FromVector<float>({4}, {1, 2, 3, 4});
  std::vector<Tensor> out;
  for (int run = 0; run < 2; ++run)
    ASSERT_TRUE(exe.Run({{"x", &x}}, &out).ok());
  std::string trace = exe.TraceEvents(7);
  EXPECT_THAT(trace, HasSubstr("\"args\":{\"name\":\"fetches "
                               "a\\\"b\\\\c\\u000a\\ufffd\\ufffd(\xc3\xa9\"}"));
  std::vector<std::string> names;
  for (size_t at = trace.find("\"ph\":\"X\""); at != std::string::npos;
       at = trace.find("\"ph\":\"X\"", at + 1)) {
    size_t begin = trace.rfind("{\"name\":\"", at) + 9;
    names.push_back(trace.substr(begin, trace.find('"', begin) - begin));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"k0_add_one", "k1_twice",
                                             "k0_add_one", "k1_twice"}));
  EXPECT_THAT(trace, HasSubstr("\"pid\":7"));
  EXPECT_THAT(trace, HasSubstr("\"grid\":4"));
  // Without profiling, nothing.
  exe.set_profiling(false);
  EXPECT_EQ(exe.TraceEvents(1), "");
}

} // namespace
} // namespace kiln
