//===- test_util.h - Helpers for Kiln's tests -------------------*- C++ -*-===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_TEST_UTIL_H
#define KILN_TESTS_TEST_UTIL_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "graph/graph.pb.h"
#include "runtime/tensor.h"

namespace kiln::testing {

/// Parses a GraphDef from text; fails the test on a parse error.
GraphDef ParseGraph(const std::string &text);

/// Text for a Placeholder node.
std::string PlaceholderNode(const std::string &name, const std::string &dtype,
                            const std::vector<int64_t> &shape);

/// Text for a node with inputs and extra attribute text.
std::string OpNode(const std::string &name, const std::string &op,
                   const std::vector<std::string> &inputs,
                   const std::string &attrs = "");

/// Deterministic pseudo-random values in [lo, hi).
std::vector<double> RandomValues(int64_t n, uint32_t seed, double lo = -1.0,
                                 double hi = 1.0);

/// A dense float64 array in C order, for reference computations.
struct RefArray {
  std::vector<int64_t> shape;
  std::vector<double> data;
  int64_t size() const { return static_cast<int64_t>(data.size()); }
};

/// Index of `index` (in `out` shape coordinates) into `in` under NumPy
/// broadcasting.
int64_t BroadcastIndex(const std::vector<int64_t> &in,
                       const std::vector<int64_t> &out, int64_t index);

/// Elementwise reference with broadcasting.
RefArray RefBinary(const RefArray &a, const RefArray &b,
                   const std::function<double(double, double)> &fn);

/// A stride-1 2-D convolution in float64: x [N, C, H, W], w [M, C, KH, KW],
/// `bias` [M] (or empty), `pad` zeros on every side; then max(., 0) when
/// `relu`.
RefArray RefConv2D(const RefArray &x, const RefArray &w,
                   const std::vector<double> &bias, int64_t pad, bool relu,
                   int64_t stride = 1);

/// Converts a f32 tensor to float64 values; fails the test on other dtypes.
std::vector<double> ToDoubles(const Tensor &t);

/// Expects |actual - expected| <= atol + rtol * |expected| everywhere.
void ExpectClose(const Tensor &actual, const RefArray &expected,
                 double rtol = 1e-5, double atol = 1e-6);

} // namespace kiln::testing

#endif // KILN_TESTS_TEST_UTIL_H
