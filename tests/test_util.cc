//===- test_util.cc - Helpers for Kiln's tests ----------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "tests/test_util.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/loader.h"
#include "gtest/gtest.h"

namespace kiln::testing {

GraphDef ParseGraph(const std::string &text) {
  absl::StatusOr<GraphDef> graph = ParseGraphDefText(text, "test");
  EXPECT_TRUE(graph.ok()) << graph.status();
  return graph.ok() ? *graph : GraphDef();
}

std::string PlaceholderNode(const std::string &name, const std::string &dtype,
                            const std::vector<int64_t> &shape) {
  std::string dims;
  for (int64_t d : shape)
    absl::StrAppend(&dims, " dim: ", d);
  return absl::StrCat("node { name: \"", name,
                      "\" op: \"Placeholder\" attr { key: \"dtype\" value { "
                      "type: ",
                      dtype, " } } attr { key: \"shape\" value { shape {", dims,
                      " } } } }\n");
}

std::string OpNode(const std::string &name, const std::string &op,
                   const std::vector<std::string> &inputs,
                   const std::string &attrs) {
  std::string text =
      absl::StrCat("node { name: \"", name, "\" op: \"", op, "\"");
  for (const std::string &in : inputs)
    absl::StrAppend(&text, " input: \"", in, "\"");
  absl::StrAppend(&text, " ", attrs, " }\n");
  return text;
}

std::vector<double> RandomValues(int64_t n, uint32_t seed, double lo,
                                 double hi) {
  std::vector<double> values(n);
  uint32_t state = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < n; ++i) {
    state = state * 1664525u + 1013904223u;
    values[i] = lo + (hi - lo) * ((state >> 8) / 16777216.0);
  }
  return values;
}

int64_t BroadcastIndex(const std::vector<int64_t> &in,
                       const std::vector<int64_t> &out, int64_t index) {
  int64_t result = 0, stride = 1;
  int64_t offset = out.size() - in.size();
  for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
    int64_t coord = index % out[d];
    index /= out[d];
    if (d < offset)
      continue;
    int64_t dim = in[d - offset];
    result += (dim == 1 ? 0 : coord) * stride;
    stride *= dim;
  }
  return result;
}

RefArray RefConv2D(const RefArray &x, const RefArray &w,
                   const std::vector<double> &bias, int64_t pad, bool relu,
                   int64_t stride) {
  int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
  int64_t m = w.shape[0], kh = w.shape[2], kw = w.shape[3];
  int64_t oh = (h + 2 * pad - kh) / stride + 1,
          ow = (wd + 2 * pad - kw) / stride + 1;
  RefArray out{{n, m, oh, ow}, {}};
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < m; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double sum = bias.empty() ? 0.0 : bias[o];
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t di = 0; di < kh; ++di)
              for (int64_t dj = 0; dj < kw; ++dj) {
                int64_t si = i * stride + di - pad, sj = j * stride + dj - pad;
                if (si < 0 || si >= h || sj < 0 || sj >= wd)
                  continue;
                sum += x.data[((b * c + ch) * h + si) * wd + sj] *
                       w.data[((o * c + ch) * kh + di) * kw + dj];
              }
          out.data.push_back(relu ? std::max(sum, 0.0) : sum);
        }
  return out;
}

RefArray RefBinary(const RefArray &a, const RefArray &b,
                   const std::function<double(double, double)> &fn) {
  RefArray out;
  size_t rank = std::max(a.shape.size(), b.shape.size());
  out.shape.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da =
        i + a.shape.size() >= rank ? a.shape[i + a.shape.size() - rank] : 1;
    int64_t db =
        i + b.shape.size() >= rank ? b.shape[i + b.shape.size() - rank] : 1;
    out.shape[i] = std::max(da, db);
  }
  int64_t n = 1;
  for (int64_t d : out.shape)
    n *= d;
  for (int64_t i = 0; i < n; ++i)
    out.data.push_back(fn(a.data[BroadcastIndex(a.shape, out.shape, i)],
                          b.data[BroadcastIndex(b.shape, out.shape, i)]));
  return out;
}

std::vector<double> ToDoubles(const Tensor &t) {
  std::vector<double> values;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    switch (t.dtype()) {
    case DType::kF32:
      values.push_back(t.data<float>()[i]);
      break;
    case DType::kF64:
      values.push_back(t.data<double>()[i]);
      break;
    case DType::kI32:
      values.push_back(t.data<int32_t>()[i]);
      break;
    case DType::kI64:
      values.push_back(static_cast<double>(t.data<int64_t>()[i]));
      break;
    default:
      ADD_FAILURE() << "unexpected dtype " << DTypeName(t.dtype());
      return values;
    }
  }
  return values;
}

void ExpectClose(const Tensor &actual, const RefArray &expected, double rtol,
                 double atol) {
  ASSERT_EQ(actual.shape(), expected.shape)
      << "shape " << ShapeToString(actual.shape()) << " vs "
      << ShapeToString(expected.shape);
  std::vector<double> got = ToDoubles(actual);
  ASSERT_EQ(got.size(), expected.data.size());
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    double want = expected.data[i];
    if (std::isnan(want) && std::isnan(got[i]))
      continue;
    if (std::fabs(got[i] - want) > atol + rtol * std::fabs(want)) {
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want "
                    << want;
      ++failures;
    }
  }
}

} // namespace kiln::testing
