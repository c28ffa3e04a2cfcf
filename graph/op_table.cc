//===- op_table.cc - Graph op names to kiln dialect ops -------------------===//
//
// Part of Kiln. Attribute names and defaults follow ONNX; defaults live in
// the dialect (ir/Ops.td), so an attribute left out here takes the ONNX
// default.
//
//===----------------------------------------------------------------------===//
#include "graph/op_table.h"

#include <algorithm>

namespace kiln {
namespace {

const std::vector<OpSpec> &Table() {
  static const std::vector<OpSpec> *table = new std::vector<OpSpec>{
      {"Constant", "kiln.constant", 0, 0, {{"value", AttrKind::kTensor, true}}},
      {"Identity", "kiln.identity", 1, 1, {}},
      {"Add", "kiln.add", 2, 2, {}},
      {"Sub", "kiln.sub", 2, 2, {}},
      {"Mul", "kiln.mul", 2, 2, {}},
      {"Div", "kiln.div", 2, 2, {}},
      {"Relu", "kiln.relu", 1, 1, {}},
      {"Neg", "kiln.neg", 1, 1, {}},
      {"Sigmoid", "kiln.sigmoid", 1, 1, {}},
      {"Tanh", "kiln.tanh", 1, 1, {}},
      {"Exp", "kiln.exp", 1, 1, {}},
      {"Log", "kiln.log", 1, 1, {}},
      {"Sqrt", "kiln.sqrt", 1, 1, {}},
      {"MatMul", "kiln.matmul", 2, 2, {}},
      {"Gemm",
       "kiln.gemm",
       2,
       3,
       {{"alpha", AttrKind::kFloat, false},
        {"beta", AttrKind::kFloat, false},
        {"transA", AttrKind::kInt, false},
        {"transB", AttrKind::kInt, false}}},
      {"Softmax", "kiln.softmax", 1, 1, {{"axis", AttrKind::kInt, false}}},
      {"ReduceSum",
       "kiln.reduce_sum",
       1,
       1,
       {{"axes", AttrKind::kInts, false}, {"keepdims", AttrKind::kInt, false}}},
      {"ReduceMean",
       "kiln.reduce_mean",
       1,
       1,
       {{"axes", AttrKind::kInts, false}, {"keepdims", AttrKind::kInt, false}}},
      {"ReduceMax",
       "kiln.reduce_max",
       1,
       1,
       {{"axes", AttrKind::kInts, false}, {"keepdims", AttrKind::kInt, false}}},
      {"Reshape", "kiln.reshape", 1, 1, {{"shape", AttrKind::kInts, true}}},
      {"Transpose", "kiln.transpose", 1, 1, {{"perm", AttrKind::kInts, false}}},
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
  }
  return "?";
}

} // namespace kiln
