//===- e2e_util.cc - End-to-end runs for Kiln's tests ---------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "tests/e2e_util.h"

#include <cstring>

#include "gtest/gtest.h"

namespace kiln::testing {

std::string GraphDTypeName(DType dtype) { return DTypeInfoOf(dtype).graphdef; }

void ExpectBitIdentical(const Tensor &a, const Tensor &b) {
  ASSERT_EQ(a.TypeString(), b.TypeString());
  size_t width = DTypeSize(a.dtype());
  const char *pa = static_cast<const char *>(a.raw_data());
  const char *pb = static_cast<const char *>(b.raw_data());
  int64_t differing = 0, first = -1;
  for (int64_t i = 0; i < a.num_elements(); ++i)
    if (std::memcmp(pa + i * width, pb + i * width, width) != 0) {
      ++differing;
      if (first < 0)
        first = i;
    }
  EXPECT_EQ(differing, 0) << "the two results differ in " << differing
                          << " elements, the first at index " << first;
}

std::vector<Tensor> RunBothPlans(const GraphDef &graph,
                                 const Session::Feeds &feeds,
                                 const std::vector<std::string> &fetches,
                                 SessionOptions options) {
  std::vector<std::vector<Tensor>> results;
  for (bool reuse : {true, false}) {
    SCOPED_TRACE(reuse ? "memory plan with reuse"
                       : "memory plan without reuse");
    options.pipeline.reuse_memory = reuse;
    absl::StatusOr<std::unique_ptr<Session>> session =
        Session::Create(graph, options);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok())
      return {};
    std::vector<Tensor> outputs;
    absl::Status s = (*session)->Run(feeds, fetches, &outputs);
    EXPECT_TRUE(s.ok()) << s;
    if (!s.ok())
      return {};
    results.push_back(std::move(outputs));
  }
  for (size_t k = 0; k < fetches.size(); ++k) {
    SCOPED_TRACE("fetch '" + fetches[k] + "'");
    ExpectBitIdentical(results[0][k], results[1][k]);
  }
  return std::move(results[0]);
}

Tensor RunAtEveryThreadCount(const GraphDef &graph, const Session::Feeds &feeds,
                             const std::string &fetch) {
  Tensor first;
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    SessionOptions options;
    options.threads = threads;
    absl::StatusOr<std::unique_ptr<Session>> session =
        Session::Create(graph, options);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok())
      return Tensor();
    std::vector<Tensor> out;
    absl::Status run = (*session)->Run(feeds, {fetch}, &out);
    EXPECT_TRUE(run.ok()) << run;
    if (!run.ok())
      return Tensor();
    if (threads == 1)
      first = out[0];
    else
      ExpectBitIdentical(out[0], first);
  }
  return first;
}

} // namespace kiln::testing
