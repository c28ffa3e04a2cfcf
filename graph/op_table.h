//===- op_table.h - Graph op names to kiln dialect ops ----------*- C++ -*-===//
//
// Part of Kiln. The table that maps an operator name in a user's graph to
// the kiln op that implements it, with the attributes the op takes. The
// GraphDef importer reads it, and the ONNX registry converts the same ops
// with it (graph/onnx_registry.h). It names kiln ops by string, so
// tests/op_table_test.cc checks it against the dialect's ODS definitions.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_OP_TABLE_H
#define KILN_GRAPH_OP_TABLE_H

#include <string>
#include <string_view>
#include <vector>

namespace kiln {

enum class AttrKind {
  kInt,    ///< int64 (a bool is accepted as 0/1)
  kFloat,  ///< f32 (an int is accepted)
  kInts,   ///< list of int64
  kTensor, ///< a dense tensor
  kDouble, ///< f64 (an int is accepted)
  kString, ///< a string
  kType,   ///< an element type
};

struct AttrSpec {
  const char *name;
  AttrKind kind;
  bool required;
};

/// max_inputs of an op that takes any number of inputs.
constexpr int kVariadic = 1 << 20;

struct OpSpec {
  const char *graph_op; ///< Name in the user's graph, e.g. "MatMul".
  const char *kiln_op;  ///< Dialect op, e.g. "kiln.matmul".
  int min_inputs;
  int max_inputs;
  std::vector<AttrSpec> attrs;
};

/// The spec for a graph op name, or nullptr when Kiln does not know it.
const OpSpec *LookupOp(std::string_view graph_op);

/// Every graph op name the table knows, sorted; for error messages and docs.
std::vector<std::string> SupportedOps();

/// The name in `candidates` nearest to `name` by edit distance, letter case
/// ignored, for "did you mean" hints; "" when none is near enough to be a
/// likely typo (more than a third of `name`'s length, and at least one,
/// edits away). Ties go to the earlier candidate.
std::string NearestName(std::string_view name,
                        const std::vector<std::string> &candidates);

/// The op Kiln knows (SupportedOps(), plus `more`, e.g. the ONNX importer's
/// converters) nearest to an unknown op name: "Relu" for "Relu6"; "" when
/// none is near.
std::string SuggestOp(std::string_view name,
                      const std::vector<std::string> &more = {});

/// "i" / "f" / "list.i" / "tensor", as written in a GraphDef's AttrValue.
const char *AttrKindName(AttrKind kind);

} // namespace kiln

#endif // KILN_GRAPH_OP_TABLE_H
