//===- Geometry.cc - ONNX window, slice and einsum arithmetic -------------===//
//
// Part of Kiln. The index arithmetic ONNX defines for windows (pads,
// strides, dilations, auto_pad, ceil_mode), slices, transposed
// convolutions, reductions' axes and einsum equations, shared by type
// inference and the lowerings.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "ir/OpsInternal.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

SmallVector<int64_t>
kiln::transposePermutation(std::optional<ArrayRef<int64_t>> perm,
                           int64_t rank) {
  if (perm)
    return SmallVector<int64_t>(*perm);
  SmallVector<int64_t> reversed;
  for (int64_t i = rank - 1; i >= 0; --i)
    reversed.push_back(i);
  return reversed;
}

SmallVector<bool> kiln::reducedAxes(std::optional<ArrayRef<int64_t>> axes,
                                    int64_t rank, bool noopWithEmptyAxes) {
  bool none = !axes || axes->empty();
  if (none && noopWithEmptyAxes)
    return SmallVector<bool>(rank, false);
  SmallVector<bool> reduced(rank, none);
  if (!none)
    for (int64_t a : *axes)
      if (int64_t n = normalizeAxis(a, rank); n >= 0)
        reduced[n] = true;
  return reduced;
}

/// `values`, or `rank` copies of `fallback` when absent; failure when the
/// length is wrong.
static FailureOr<SmallVector<int64_t>>
perAxis(std::optional<Location> loc, std::optional<ArrayRef<int64_t>> values,
        size_t rank, int64_t fallback, StringRef name) {
  if (!values)
    return SmallVector<int64_t>(rank, fallback);
  if (values->size() != rank)
    return emitOptionalError(loc, name, " has ", values->size(),
                             " entries; expected ", rank);
  return SmallVector<int64_t>(*values);
}

FailureOr<WindowGeometry> kiln::computeWindows(
    std::optional<Location> loc, ArrayRef<int64_t> in, ArrayRef<int64_t> kernel,
    std::optional<ArrayRef<int64_t>> strides,
    std::optional<ArrayRef<int64_t>> dilations,
    std::optional<ArrayRef<int64_t>> pads, StringRef autoPad, bool ceilMode) {
  size_t n = in.size();
  WindowGeometry g;
  if (kernel.size() != n)
    return emitOptionalError(loc, "kernel has ", kernel.size(),
                             " spatial axes; the input has ", n);
  g.kernel.assign(kernel.begin(), kernel.end());
  auto s = perAxis(loc, strides, n, 1, "strides");
  auto d = perAxis(loc, dilations, n, 1, "dilations");
  if (failed(s) || failed(d))
    return failure();
  g.strides = *s;
  g.dilations = *d;
  SmallVector<int64_t> p(2 * n, 0);
  if (pads) {
    if (pads->size() != 2 * n)
      return emitOptionalError(loc, "pads has ", pads->size(),
                               " entries; expected ", 2 * n);
    p.assign(pads->begin(), pads->end());
  }
  for (size_t i = 0; i < n; ++i) {
    if (g.strides[i] < 1 || g.dilations[i] < 1 || g.kernel[i] < 1 || p[i] < 0 ||
        p[n + i] < 0)
      return emitOptionalError(loc, "kernel, strides and dilations must be "
                                    "positive and pads non-negative");
    int64_t extent = (g.kernel[i] - 1) * g.dilations[i] + 1;
    int64_t out;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = (in[i] + g.strides[i] - 1) / g.strides[i];
      int64_t total =
          std::max<int64_t>(0, (out - 1) * g.strides[i] + extent - in[i]);
      int64_t small = total / 2, large = total - small;
      p[i] = autoPad == "SAME_UPPER" ? small : large;
      p[n + i] = total - p[i];
    } else if (autoPad == "VALID") {
      p[i] = p[n + i] = 0;
      out = in[i] < extent ? 0 : (in[i] - extent) / g.strides[i] + 1;
    } else if (autoPad == "NOTSET" || autoPad.empty()) {
      int64_t span = in[i] + p[i] + p[n + i] - extent;
      if (span < 0)
        return emitOptionalError(loc, "the window (", extent,
                                 ") is larger than the padded input (",
                                 in[i] + p[i] + p[n + i], ")");
      out = ceilMode ? (span + g.strides[i] - 1) / g.strides[i] + 1
                     : span / g.strides[i] + 1;
      // A window must start inside the input or its begin padding.
      if (ceilMode && (out - 1) * g.strides[i] >= in[i] + p[i])
        --out;
    } else {
      return emitOptionalError(loc, "unknown auto_pad '", autoPad, "'");
    }
    g.output.push_back(out);
  }
  g.padBegin.assign(p.begin(), p.begin() + n);
  g.padEnd.assign(p.begin() + n, p.end());
  return g;
}

FailureOr<SmallVector<SliceDim>>
kiln::computeSlice(std::optional<Location> loc, ArrayRef<int64_t> shape,
                   ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                   std::optional<ArrayRef<int64_t>> axes,
                   std::optional<ArrayRef<int64_t>> steps) {
  int64_t rank = shape.size();
  SmallVector<SliceDim> dims;
  for (int64_t d : shape)
    dims.push_back({0, 1, d});
  if (starts.size() != ends.size() || (axes && axes->size() != starts.size()) ||
      (steps && steps->size() != starts.size()))
    return emitOptionalError(loc, "starts, ends, axes and steps must have "
                                  "the same length");
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = axes ? normalizeAxis((*axes)[i], rank) : int64_t(i);
    if (axis < 0 || axis >= rank || seen[axis])
      return emitOptionalError(loc, "slice axis ",
                               axes ? (*axes)[i] : int64_t(i),
                               " is out of range or repeated");
    seen[axis] = true;
    int64_t dim = shape[axis];
    int64_t step = steps ? (*steps)[i] : 1;
    if (step == 0)
      return emitOptionalError(loc, "slice step must not be 0");
    // Clamp as ONNX does: to [0, dim] for positive steps, [-1, dim-1] for
    // negative ones.
    auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0)
        v += dim;
      return std::min(std::max(v, lo), hi);
    };
    int64_t start = starts[i], end = ends[i];
    if (start < -dim || start >= dim) // very large or small values
      start = start < 0 ? (step > 0 ? 0 : -1 - dim) : dim;
    if (end < -dim - 1 || end > dim)
      end = end < 0 ? -1 - dim : dim;
    int64_t count;
    if (step > 0) {
      start = clamp(start, 0, dim);
      end = clamp(end, 0, dim);
      // 1 + (end - start - 1) / step: no overflow for steps near INT64_MAX.
      count = end > start ? 1 + (end - start - 1) / step : 0;
    } else {
      start = start < 0 && start >= -dim ? start + dim
              : start < -dim             ? -1
                                         : std::min(start, dim - 1);
      end = end < 0 && end >= -dim ? end + dim
            : end < -dim           ? -1
                                   : std::min(end, dim - 1);
      // 1 + (start - end - 1) / -step, with -step taken as unsigned (it
      // overflows for INT64_MIN).
      count = start > end ? 1 + static_cast<int64_t>(
                                    static_cast<uint64_t>(start - end - 1) /
                                    (uint64_t{0} - static_cast<uint64_t>(step)))
                          : 0;
    }
    // With one element the step is irrelevant: 1, as INT64_MIN means a
    // dynamic stride to MLIR's slices.
    dims[axis] = {count > 0 ? start : 0, count > 1 ? step : 1, count};
  }
  return dims;
}

FailureOr<TransposedConvGeometry>
kiln::computeConvTranspose(std::optional<Location> loc,
                           ConvTransposeOp::Adaptor adaptor) {
  RankedTensorType x = rankedType(adaptor.getX()),
                   w = rankedType(adaptor.getW());
  size_t n = x.getRank() - 2;
  TransposedConvGeometry g;
  g.kernel.assign(w.getShape().begin() + 2, w.getShape().end());
  if (adaptor.getKernelShape() &&
      ArrayRef<int64_t>(*adaptor.getKernelShape()) !=
          ArrayRef<int64_t>(g.kernel))
    return emitOptionalError(loc, "kernel_shape does not match W");
  auto s = perAxis(loc, adaptor.getStrides(), n, 1, "strides");
  auto d = perAxis(loc, adaptor.getDilations(), n, 1, "dilations");
  auto op = perAxis(loc, adaptor.getOutputPadding(), n, 0, "output_padding");
  if (failed(s) || failed(d) || failed(op))
    return failure();
  g.strides = *s;
  g.dilations = *d;
  SmallVector<int64_t> p(2 * n, 0);
  if (auto pads = adaptor.getPads()) {
    if (pads->size() != 2 * n)
      return emitOptionalError(loc, "pads has ", pads->size(),
                               " entries; expected ", 2 * n);
    p.assign(pads->begin(), pads->end());
  }
  StringRef autoPad = adaptor.getAutoPad();
  for (size_t i = 0; i < n; ++i) {
    int64_t in = x.getDimSize(i + 2);
    int64_t full = g.strides[i] * (in - 1) + (*op)[i] +
                   (g.kernel[i] - 1) * g.dilations[i] + 1;
    int64_t out;
    if (auto shape = adaptor.getOutputShape()) {
      if (shape->size() != n)
        return emitOptionalError(loc, "output_shape must list ", n, " sizes");
      out = (*shape)[i];
      int64_t total = full - out;
      if (total < 0) {
        // Larger than the natural size: the positions past it receive no
        // input (only the bias).
        p[i] = 0;
        p[n + i] = total;
      } else {
        p[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
        p[n + i] = total - p[i];
      }
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = in * g.strides[i];
      int64_t total = std::max<int64_t>(0, full - out);
      p[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      p[n + i] = total - p[i];
    } else {
      if (autoPad == "VALID")
        p[i] = p[n + i] = 0;
      out = full - p[i] - p[n + i];
    }
    if (out <= 0)
      return emitOptionalError(loc, "the output would be empty");
    g.output.push_back(out);
  }
  g.padBegin.assign(p.begin(), p.begin() + n);
  g.padEnd.assign(p.begin() + n, p.end());
  return g;
}

FailureOr<EinsumSpec> kiln::parseEinsum(std::optional<Location> loc,
                                        StringRef equation, TypeRange inputs) {
  std::string eq;
  for (char c : equation)
    if (c != ' ')
      eq += c;
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  SmallVector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  if (terms.size() != inputs.size())
    return emitOptionalError(loc, "equation '", equation, "' has ",
                             terms.size(), " inputs, the op ", inputs.size());
  // Labels are letters; the ellipsis axes get labels 256, 257, ... from the
  // right.
  std::map<int, int64_t> sizes;
  std::map<int, int> counts;
  SmallVector<SmallVector<int>> labels(terms.size());
  int64_t ellipsisRank = 0;
  for (auto [k, term] : llvm::enumerate(terms)) {
    auto type = dyn_cast<RankedTensorType>(inputs[k]);
    if (!type)
      return failure();
    size_t dots = term.find("...");
    int64_t letters = term.size() - (dots == std::string::npos ? 0 : 3);
    int64_t ellipsis = dots == std::string::npos ? 0 : type.getRank() - letters;
    if (ellipsis < 0 ||
        (dots == std::string::npos && letters != type.getRank()))
      return emitOptionalError(loc, "term '", term, "' does not match rank ",
                               type.getRank());
    ellipsisRank = std::max(ellipsisRank, ellipsis);
    int64_t axis = 0;
    for (size_t i = 0; i < term.size();) {
      if (term.compare(i, 3, "...") == 0) {
        for (int64_t e = 0; e < ellipsis; ++e)
          labels[k].push_back(256 + ellipsis - 1 - e);
        axis += ellipsis;
        i += 3;
        continue;
      }
      if (!std::isalpha(static_cast<unsigned char>(term[i])))
        return emitOptionalError(loc, "bad label '", term.substr(i, 1),
                                 "' in '", equation, "'");
      labels[k].push_back(term[i]);
      ++i;
      ++axis;
    }
  }
  // Sizes: letters must agree; ellipsis axes broadcast.
  for (auto [k, ls] : llvm::enumerate(labels)) {
    auto type = cast<RankedTensorType>(inputs[k]);
    for (auto [axis, label] : llvm::enumerate(ls)) {
      int64_t size = type.getDimSize(axis);
      ++counts[label];
      auto [it, inserted] = sizes.emplace(label, size);
      if (inserted || it->second == size)
        continue;
      if (label >= 256 && (it->second == 1 || size == 1)) {
        it->second = std::max(it->second, size);
        continue;
      }
      return emitOptionalError(loc, "label sizes differ in '", equation, "'");
    }
  }
  SmallVector<int> output;
  if (arrow != std::string::npos) {
    std::string rhs = eq.substr(arrow + 2);
    for (size_t i = 0; i < rhs.size();) {
      if (rhs.compare(i, 3, "...") == 0) {
        for (int64_t e = ellipsisRank - 1; e >= 0; --e)
          output.push_back(256 + e);
        i += 3;
        continue;
      }
      if (!sizes.count(rhs[i]))
        return emitOptionalError(loc, "output label '", rhs.substr(i, 1),
                                 "' is not in any input");
      if (llvm::is_contained(output, rhs[i]))
        return emitOptionalError(loc, "output label '", rhs.substr(i, 1),
                                 "' appears more than once");
      output.push_back(rhs[i++]);
    }
  } else {
    for (int64_t e = ellipsisRank - 1; e >= 0; --e)
      output.push_back(256 + e);
    for (auto [label, count] : counts)
      if (label < 256 && count == 1)
        output.push_back(label);
  }
  EinsumSpec spec;
  std::map<int, int64_t> dimOf;
  for (int label : output) {
    dimOf[label] = spec.dimSizes.size();
    spec.dimSizes.push_back(sizes[label]);
  }
  spec.numOutputDims = output.size();
  for (auto [label, size] : sizes)
    if (!dimOf.count(label)) {
      dimOf[label] = spec.dimSizes.size();
      spec.dimSizes.push_back(size);
    }
  for (auto [k, ls] : llvm::enumerate(labels)) {
    auto type = cast<RankedTensorType>(inputs[k]);
    SmallVector<int64_t> dims;
    for (auto [axis, label] : llvm::enumerate(ls))
      dims.push_back(
          type.getDimSize(axis) == 1 && sizes[label] != 1 ? -1 : dimOf[label]);
    spec.inputDims.push_back(dims);
  }
  return spec;
}
