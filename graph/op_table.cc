//===- op_table.cc - Graph op names to kiln dialect ops -------------------===//
//
// Part of Kiln. Attribute names and defaults follow ONNX; defaults live in
// the dialect (ir/Ops.td), so an attribute left out here takes the ONNX
// default.
//
//===----------------------------------------------------------------------===//
#include "graph/op_table.h"

#include <algorithm>
#include <cctype>

namespace kiln {
namespace {

const std::vector<AttrSpec> kReduceAttrs = {
    {"axes", AttrKind::kInts, false},
    {"keepdims", AttrKind::kInt, false},
    {"noop_with_empty_axes", AttrKind::kInt, false}};
const std::vector<AttrSpec> kArgAttrs = {
    {"axis", AttrKind::kInt, false},
    {"keepdims", AttrKind::kInt, false},
    {"select_last_index", AttrKind::kInt, false}};
const std::vector<AttrSpec> kConvAttrs = {
    {"auto_pad", AttrKind::kString, false},
    {"dilations", AttrKind::kInts, false},
    {"group", AttrKind::kInt, false},
    {"kernel_shape", AttrKind::kInts, false},
    {"pads", AttrKind::kInts, false},
    {"strides", AttrKind::kInts, false}};
const std::vector<AttrSpec> kPoolAttrs = {
    {"auto_pad", AttrKind::kString, false},
    {"ceil_mode", AttrKind::kInt, false},
    {"count_include_pad", AttrKind::kInt, false},
    {"dilations", AttrKind::kInts, false},
    {"kernel_shape", AttrKind::kInts, true},
    {"pads", AttrKind::kInts, false},
    {"strides", AttrKind::kInts, false}};

const std::vector<OpSpec> &Table() {
  static const std::vector<OpSpec> *table = new std::vector<OpSpec>{
      {"Constant", "kiln.constant", 0, 0, {{"value", AttrKind::kTensor, true}}},
      {"Identity", "kiln.identity", 1, 1, {}},
      // Elementwise, broadcasting.
      {"Add", "kiln.add", 2, 2, {}},
      {"Sub", "kiln.sub", 2, 2, {}},
      {"Mul", "kiln.mul", 2, 2, {}},
      {"Div", "kiln.div", 2, 2, {}},
      {"Mod", "kiln.mod", 2, 2, {{"fmod", AttrKind::kInt, false}}},
      {"BitShift",
       "kiln.bit_shift",
       2,
       2,
       {{"direction", AttrKind::kString, true}}},
      {"Pow", "kiln.pow", 2, 2, {}},
      {"PRelu", "kiln.prelu", 2, 2, {}},
      {"And", "kiln.and", 2, 2, {}},
      {"Or", "kiln.or", 2, 2, {}},
      {"Equal", "kiln.equal", 2, 2, {}},
      {"Less", "kiln.less", 2, 2, {}},
      {"Greater", "kiln.greater", 2, 2, {}},
      {"LessOrEqual", "kiln.less_or_equal", 2, 2, {}},
      {"GreaterOrEqual", "kiln.greater_or_equal", 2, 2, {}},
      {"Where", "kiln.where", 3, 3, {}},
      // Elementwise, unary.
      {"Relu", "kiln.relu", 1, 1, {}},
      {"Neg", "kiln.neg", 1, 1, {}},
      {"Abs", "kiln.abs", 1, 1, {}},
      {"Sign", "kiln.sign", 1, 1, {}},
      {"Sigmoid", "kiln.sigmoid", 1, 1, {}},
      {"Tanh", "kiln.tanh", 1, 1, {}},
      {"Exp", "kiln.exp", 1, 1, {}},
      {"Log", "kiln.log", 1, 1, {}},
      {"Sqrt", "kiln.sqrt", 1, 1, {}},
      {"Erf", "kiln.erf", 1, 1, {}},
      {"Floor", "kiln.floor", 1, 1, {}},
      {"Ceil", "kiln.ceil", 1, 1, {}},
      {"Round", "kiln.round", 1, 1, {}},
      {"Reciprocal", "kiln.reciprocal", 1, 1, {}},
      {"Cos", "kiln.cos", 1, 1, {}},
      {"Sin", "kiln.sin", 1, 1, {}},
      {"Tan", "kiln.tan", 1, 1, {}},
      {"Atan", "kiln.atan", 1, 1, {}},
      {"Sinh", "kiln.sinh", 1, 1, {}},
      {"Cosh", "kiln.cosh", 1, 1, {}},
      {"Asin", "kiln.asin", 1, 1, {}},
      {"Acos", "kiln.acos", 1, 1, {}},
      {"Asinh", "kiln.asinh", 1, 1, {}},
      {"Acosh", "kiln.acosh", 1, 1, {}},
      {"Atanh", "kiln.atanh", 1, 1, {}},
      {"Softplus", "kiln.softplus", 1, 1, {}},
      {"HardSwish", "kiln.hard_swish", 1, 1, {}},
      {"Softsign", "kiln.softsign", 1, 1, {}},
      {"Not", "kiln.not", 1, 1, {}},
      {"Elu", "kiln.elu", 1, 1, {{"alpha", AttrKind::kFloat, false}}},
      {"Selu",
       "kiln.selu",
       1,
       1,
       {{"alpha", AttrKind::kFloat, false},
        {"gamma", AttrKind::kFloat, false}}},
      {"LeakyRelu",
       "kiln.leaky_relu",
       1,
       1,
       {{"alpha", AttrKind::kFloat, false}}},
      {"HardSigmoid",
       "kiln.hard_sigmoid",
       1,
       1,
       {{"alpha", AttrKind::kFloat, false}, {"beta", AttrKind::kFloat, false}}},
      {"Gelu", "kiln.gelu", 1, 1, {{"approximate", AttrKind::kString, false}}},
      {"Clip",
       "kiln.clip",
       1,
       1,
       {{"min", AttrKind::kDouble, false}, {"max", AttrKind::kDouble, false}}},
      {"Cast", "kiln.cast", 1, 1, {{"to", AttrKind::kType, true}}},
      // Contractions, normalization, reductions.
      {"MatMul", "kiln.matmul", 2, 2, {}},
      {"Gemm",
       "kiln.gemm",
       2,
       3,
       {{"alpha", AttrKind::kFloat, false},
        {"beta", AttrKind::kFloat, false},
        {"transA", AttrKind::kInt, false},
        {"transB", AttrKind::kInt, false}}},
      {"Einsum",
       "kiln.einsum",
       1,
       kVariadic,
       {{"equation", AttrKind::kString, true}}},
      {"Softmax", "kiln.softmax", 1, 1, {{"axis", AttrKind::kInt, false}}},
      {"LogSoftmax",
       "kiln.log_softmax",
       1,
       1,
       {{"axis", AttrKind::kInt, false}}},
      {"CumSum",
       "kiln.cumsum",
       1,
       1,
       {{"axis", AttrKind::kInt, true},
        {"exclusive", AttrKind::kInt, false},
        {"reverse", AttrKind::kInt, false}}},
      {"Det", "kiln.det", 1, 1, {}},
      {"ReduceSum", "kiln.reduce_sum", 1, 1, kReduceAttrs},
      {"ReduceMean", "kiln.reduce_mean", 1, 1, kReduceAttrs},
      {"ReduceMax", "kiln.reduce_max", 1, 1, kReduceAttrs},
      {"ReduceMin", "kiln.reduce_min", 1, 1, kReduceAttrs},
      {"ReduceProd", "kiln.reduce_prod", 1, 1, kReduceAttrs},
      {"ArgMax", "kiln.argmax", 1, 1, kArgAttrs},
      {"ArgMin", "kiln.argmin", 1, 1, kArgAttrs},
      {"Conv", "kiln.conv", 2, 3, kConvAttrs},
      {"ConvTranspose",
       "kiln.conv_transpose",
       2,
       3,
       {{"auto_pad", AttrKind::kString, false},
        {"dilations", AttrKind::kInts, false},
        {"group", AttrKind::kInt, false},
        {"kernel_shape", AttrKind::kInts, false},
        {"output_padding", AttrKind::kInts, false},
        {"output_shape", AttrKind::kInts, false},
        {"pads", AttrKind::kInts, false},
        {"strides", AttrKind::kInts, false}}},
      {"MaxPool", "kiln.max_pool", 1, 1, kPoolAttrs},
      {"AveragePool", "kiln.average_pool", 1, 1, kPoolAttrs},
      // Data movement.
      {"Reshape", "kiln.reshape", 1, 1, {{"shape", AttrKind::kInts, true}}},
      {"Transpose", "kiln.transpose", 1, 1, {{"perm", AttrKind::kInts, false}}},
      {"Concat", "kiln.concat", 1, kVariadic, {{"axis", AttrKind::kInt, true}}},
      {"Slice",
       "kiln.slice",
       1,
       1,
       {{"starts", AttrKind::kInts, true},
        {"ends", AttrKind::kInts, true},
        {"axes", AttrKind::kInts, false},
        {"steps", AttrKind::kInts, false}}},
      {"Gather", "kiln.gather", 2, 2, {{"axis", AttrKind::kInt, false}}},
      {"GatherElements",
       "kiln.gather_elements",
       2,
       2,
       {{"axis", AttrKind::kInt, false}}},
      {"GatherND",
       "kiln.gather_nd",
       2,
       2,
       {{"batch_dims", AttrKind::kInt, false}}},
      {"ScatterElements",
       "kiln.scatter_elements",
       3,
       3,
       {{"axis", AttrKind::kInt, false},
        {"reduction", AttrKind::kString, false}}},
      {"ScatterND",
       "kiln.scatter_nd",
       3,
       3,
       {{"reduction", AttrKind::kString, false}}},
      {"Expand", "kiln.expand", 1, 1, {{"shape", AttrKind::kInts, true}}},
      {"Tile", "kiln.tile", 1, 1, {{"repeats", AttrKind::kInts, true}}},
      {"Pad",
       "kiln.pad",
       1,
       1,
       {{"pads", AttrKind::kInts, true},
        {"mode", AttrKind::kString, false},
        {"value", AttrKind::kDouble, false}}},
      {"Trilu",
       "kiln.trilu",
       1,
       1,
       {{"upper", AttrKind::kInt, false}, {"k", AttrKind::kInt, false}}},
  };
  return *table;
}

} // namespace

const OpSpec *LookupOp(std::string_view graph_op) {
  for (const OpSpec &spec : Table())
    if (graph_op == spec.graph_op)
      return &spec;
  return nullptr;
}

std::vector<std::string> SupportedOps() {
  std::vector<std::string> names;
  for (const OpSpec &spec : Table())
    names.push_back(spec.graph_op);
  names.push_back("Placeholder");
  std::sort(names.begin(), names.end());
  return names;
}

std::string NearestName(std::string_view name,
                        const std::vector<std::string> &candidates) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  const size_t limit = std::max<size_t>(1, name.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  std::vector<size_t> row;
  for (const std::string &candidate : candidates) {
    // The distance is at least the difference in length; skipping those
    // keeps a fuzzer's megabyte-long op name from costing anything.
    size_t gap = candidate.size() > name.size()
                     ? candidate.size() - name.size()
                     : name.size() - candidate.size();
    if (gap >= best_distance)
      continue;
    // Levenshtein distance, one row at a time.
    row.resize(candidate.size() + 1);
    for (size_t j = 0; j <= candidate.size(); ++j)
      row[j] = j;
    for (size_t i = 1; i <= name.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= candidate.size(); ++j) {
        size_t substitute =
            diagonal + (lower(name[i - 1]) != lower(candidate[j - 1]));
        diagonal = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
      }
    }
    if (row.back() < best_distance) {
      best_distance = row.back();
      best = candidate;
    }
  }
  return best;
}

std::string SuggestOp(std::string_view name,
                      const std::vector<std::string> &more) {
  std::vector<std::string> known = SupportedOps();
  known.insert(known.end(), more.begin(), more.end());
  return NearestName(name, known);
}

const char *AttrKindName(AttrKind kind) {
  switch (kind) {
  case AttrKind::kInt:
    return "i";
  case AttrKind::kFloat:
    return "f";
  case AttrKind::kInts:
    return "list.i";
  case AttrKind::kTensor:
    return "tensor";
  case AttrKind::kDouble:
    return "f";
  case AttrKind::kString:
    return "s";
  case AttrKind::kType:
    return "type";
  }
  return "?";
}

} // namespace kiln
