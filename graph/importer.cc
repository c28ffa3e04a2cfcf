//===- importer.cc - GraphDef to the kiln dialect -------------------------===//
//
// Part of Kiln. Import runs in two phases. The first checks the graph's
// structure (names, ops, inputs, attributes, cycles) and collects every
// problem; only a structurally sound graph reaches the second, which builds
// ops in topological order and lets each op's type inference report shape
// and dtype mismatches at the node's location.
//
//===----------------------------------------------------------------------===//
#include "graph/importer.h"

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "graph/build_op.h"
#include "graph/main_builder.h"
#include "graph/op_table.h"
#include "ir/Diagnostics.h"
#include "ir/Dialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include <algorithm>

namespace kiln {

using mlir::Attribute;
using mlir::Value;

void LoadImporterDialects(mlir::MLIRContext &context) {
  context.getOrLoadDialect<KilnDialect>();
  context.getOrLoadDialect<mlir::func::FuncDialect>();
}

mlir::Type DTypeToMlir(DType dtype, mlir::MLIRContext &context) {
  const DTypeInfo &info = DTypeInfoOf(dtype);
  mlir::Builder b(&context);
  switch (info.kind) {
  case DTypeKind::kFloat:
    return info.bits == 16   ? mlir::Type(b.getF16Type())
           : info.bits == 32 ? mlir::Type(b.getF32Type())
                             : mlir::Type(b.getF64Type());
  case DTypeKind::kBFloat:
    return b.getBF16Type();
  case DTypeKind::kSigned:
  case DTypeKind::kBool:
    return b.getIntegerType(info.bits);
  case DTypeKind::kUnsigned:
    return b.getIntegerType(info.bits, /*isSigned=*/false);
  case DTypeKind::kInvalid:
    break;
  }
  return nullptr;
}

DType MlirToDType(mlir::Type type) {
  for (const DTypeInfo &info : AllDTypes())
    if (DTypeToMlir(info.dtype, *type.getContext()) == type)
      return info.dtype;
  return DType::kInvalid;
}

std::string TypeString(mlir::Type type) {
  auto t = mlir::cast<mlir::RankedTensorType>(type);
  return DTypeName(MlirToDType(t.getElementType())) +
         ShapeToString({t.getShape().begin(), t.getShape().end()});
}

namespace {

struct InputRef {
  std::string node;
  int output = 0;
  bool outer = false; ///< A node of an enclosing graph (in a subgraph).
};

/// Parses "node" or "node:k".
bool ParseInputRef(const std::string &text, InputRef *ref) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    ref->node = text;
    ref->output = 0;
    return !text.empty();
  }
  ref->node = text.substr(0, colon);
  return !ref->node.empty() &&
         absl::SimpleAtoi(text.substr(colon + 1), &ref->output) &&
         ref->output >= 0;
}

DType ProtoDType(DataType dt) {
  return static_cast<DType>(static_cast<int>(dt));
}

std::string ProtoDTypeName(DataType dt) { return DataType_Name(dt); }

/// Converts a TensorProto into a dense attribute, or explains why not.
absl::StatusOr<mlir::DenseElementsAttr>
TensorToAttr(const TensorProto &proto, mlir::MLIRContext &context) {
  DType dtype = ProtoDType(proto.dtype());
  mlir::Type elem = DTypeToMlir(dtype, context);
  if (!elem)
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor element type ", ProtoDTypeName(proto.dtype()),
        " is not supported (docs/graphdef.md lists the element types)"));
  std::vector<int64_t> shape(proto.shape().dim().begin(),
                             proto.shape().dim().end());
  absl::StatusOr<int64_t> n = NumElements(shape);
  if (!n.ok())
    return n.status();
  if (*n > kMaxConstantElements)
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor of shape ", ShapeToString(shape), " has ", *n,
        " elements, more than the limit of ", kMaxConstantElements));
  auto type = mlir::RankedTensorType::get(shape, elem);
  if (!proto.raw_data().empty()) {
    int64_t expected = *n * DTypeSize(dtype);
    if (static_cast<int64_t>(proto.raw_data().size()) != expected)
      return absl::InvalidArgumentError(absl::StrCat(
          "raw_data has ", proto.raw_data().size(), " bytes, but ",
          DTypeName(dtype), ShapeToString(shape), " needs ", expected));
    if (dtype == DType::kBool) {
      llvm::SmallVector<bool> values;
      for (char c : proto.raw_data())
        values.push_back(c != 0);
      return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<bool>(values));
    }
    bool splat = false;
    llvm::ArrayRef<char> raw(proto.raw_data().data(), proto.raw_data().size());
    if (!mlir::DenseElementsAttr::isValidRawBuffer(type, raw, splat))
      return absl::InvalidArgumentError("raw_data does not match the shape");
    return mlir::DenseElementsAttr::getFromRawBuffer(type, raw);
  }
  // Typed lists: exactly one list, with n values or one value to splat.
  auto check = [&](int64_t count, DataType want) -> absl::Status {
    if (proto.dtype() != want)
      return absl::InvalidArgumentError(
          absl::StrCat("values are given in a list that does not match dtype ",
                       ProtoDTypeName(proto.dtype())));
    if (count != *n && count != 1)
      return absl::InvalidArgumentError(absl::StrCat(
          "has ", count, " values, but shape ", ShapeToString(shape), " needs ",
          *n, " (or one value to fill it)"));
    return absl::OkStatus();
  };
  auto make = [&](auto list,
                  DataType want) -> absl::StatusOr<mlir::DenseElementsAttr> {
    using T = typename decltype(list)::value_type;
    if (absl::Status s = check(list.size(), want); !s.ok())
      return s;
    std::vector<T> values(list.begin(), list.end());
    if (values.size() == 1)
      return mlir::DenseElementsAttr::get(type, values[0]);
    return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<T>(values));
  };
  if (proto.float_val_size())
    return make(proto.float_val(), DT_FLOAT);
  if (proto.double_val_size())
    return make(proto.double_val(), DT_DOUBLE);
  if (proto.int_val_size())
    return make(proto.int_val(), DT_INT32);
  if (proto.int64_val_size())
    return make(proto.int64_val(), DT_INT64);
  if (proto.bool_val_size()) {
    if (absl::Status s = check(proto.bool_val_size(), DT_BOOL); !s.ok())
      return s;
    llvm::SmallVector<bool> values(proto.bool_val().begin(),
                                   proto.bool_val().end());
    if (values.size() == 1)
      return mlir::DenseElementsAttr::get(type, static_cast<bool>(values[0]));
    return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<bool>(values));
  }
  if (*n == 0)
    return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<Attribute>());
  return absl::InvalidArgumentError("tensor has no values");
}

/// Converts one GraphDef attribute as its spec says, or explains why not.
absl::StatusOr<Attribute> ConvertAttr(const AttrValue &value,
                                      const AttrSpec &spec,
                                      mlir::MLIRContext &context) {
  mlir::Builder b(&context);
  auto mistyped = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("attribute '", spec.name, "' must be given as '",
                     AttrKindName(spec.kind), "'"));
  };
  switch (spec.kind) {
  case AttrKind::kInt:
    if (value.has_i())
      return Attribute(b.getI64IntegerAttr(value.i()));
    if (value.has_b())
      return Attribute(b.getI64IntegerAttr(value.b() ? 1 : 0));
    return mistyped();
  case AttrKind::kFloat:
    if (value.has_f())
      return Attribute(b.getF32FloatAttr(value.f()));
    if (value.has_i())
      return Attribute(b.getF32FloatAttr(static_cast<float>(value.i())));
    return mistyped();
  case AttrKind::kInts:
    if (value.has_list() && value.list().f_size() == 0 &&
        value.list().s_size() == 0) {
      std::vector<int64_t> ints(value.list().i().begin(),
                                value.list().i().end());
      return Attribute(b.getDenseI64ArrayAttr(ints));
    }
    return mistyped();
  case AttrKind::kDouble:
    if (value.has_f())
      return Attribute(b.getF64FloatAttr(value.f()));
    if (value.has_i())
      return Attribute(b.getF64FloatAttr(static_cast<double>(value.i())));
    return mistyped();
  case AttrKind::kString:
    if (value.has_s())
      return Attribute(b.getStringAttr(value.s()));
    return mistyped();
  case AttrKind::kType:
    if (value.has_type()) {
      if (mlir::Type t = DTypeToMlir(ProtoDType(value.type()), context))
        return Attribute(mlir::TypeAttr::get(t));
      return absl::InvalidArgumentError(
          absl::StrCat("attribute '", spec.name, "': type ",
                       ProtoDTypeName(value.type()), " is not supported"));
    }
    return mistyped();
  case AttrKind::kTensor: {
    if (!value.has_tensor())
      return mistyped();
    absl::StatusOr<mlir::DenseElementsAttr> attr =
        TensorToAttr(value.tensor(), context);
    if (!attr.ok())
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute '", spec.name, "': ", attr.status().message()));
    return Attribute(*attr);
  }
  }
  return mistyped();
}

/// The names a graph's nodes (and its subgraphs', recursively) read that
/// no node of the graph defines: what it captures from enclosing graphs.
std::set<std::string> FreeNames(const GraphDef &graph) {
  std::set<std::string> defined, free;
  for (const NodeDef &n : graph.node())
    defined.insert(n.name());
  for (const NodeDef &n : graph.node()) {
    for (const std::string &text : n.input()) {
      InputRef ref;
      if (ParseInputRef(text, &ref) && !defined.count(ref.node))
        free.insert(ref.node);
    }
    for (const auto &[name, value] : n.attr())
      if (value.has_graph())
        for (const std::string &f : FreeNames(value.graph()))
          if (!defined.count(f))
            free.insert(f);
  }
  return free;
}

/// The subgraph attributes of a control-flow op.
std::vector<std::string> SubgraphAttrs(const std::string &op) {
  if (op == "If")
    return {"then_branch", "else_branch"};
  if (op == "While")
    return {"cond", "body"};
  return {};
}

class Importer {
public:
  Importer(const GraphDef &graph, mlir::MLIRContext &context,
           const std::map<std::string, Tensor> &frozen,
           const std::map<std::string, std::vector<int64_t>> &shapes)
      : graph_(graph), context_(context),
        owned_main_(std::make_unique<MainBuilder>(context)),
        main_(*owned_main_), builder_(main_.builder()), frozen_(frozen),
        shapes_(shapes) {}
  /// A subgraph of `outer`: an If's branch, a While's cond or body. Its
  /// nodes may read `outer`'s (and its enclosing graphs') nodes.
  Importer(const GraphDef &graph, Importer &outer)
      : graph_(graph), context_(outer.context_), main_(outer.main_),
        builder_(outer.builder_), frozen_(NoTensors()), shapes_(NoShapes()),
        outer_(&outer), diagnostics_(outer.diagnostics_) {}

  absl::StatusOr<ImportedGraph> Run(std::vector<std::string> fetches);
  /// Imports a subgraph at the builder's insertion point, its Placeholders
  /// (in signature.feed order) bound to `feeds`; its fetches' values, or
  /// failure with the problems in errors().
  mlir::FailureOr<llvm::SmallVector<Value>> RunSubgraph(mlir::ValueRange feeds);
  const std::vector<std::string> &errors() const { return errors_; }

private:
  static const std::map<std::string, Tensor> &NoTensors() {
    static const auto *none = new std::map<std::string, Tensor>;
    return *none;
  }
  static const std::map<std::string, std::vector<int64_t>> &NoShapes() {
    static const auto *none = new std::map<std::string, std::vector<int64_t>>;
    return *none;
  }
  /// Whether `name` is a node of an enclosing graph.
  bool OuterKnows(const std::string &name) const {
    for (const Importer *o = outer_; o; o = o->outer_)
      if (o->index_.count(name))
        return true;
    return false;
  }
  /// How many outputs `node` has: a control-flow op's as many as its
  /// branches or loop values, others one.
  static int NumOutputs(const NodeDef &node) {
    if (node.op() == "If") {
      auto branch = node.attr().find("then_branch");
      return branch != node.attr().end() && branch->second.has_graph()
                 ? branch->second.graph().signature().fetch_size()
                 : 1;
    }
    if (node.op() == "While")
      return node.input_size();
    return 1;
  }
  /// The value of output `ref.output` of node `ref.node`, looked up in this
  /// graph or (for an outer reference) the enclosing ones; null when its
  /// node failed (and was reported).
  Value ValueOf(const InputRef &ref) const {
    const Importer *where = this;
    if (ref.outer)
      for (where = outer_; where && !where->index_.count(ref.node);)
        where = where->outer_;
    if (!where)
      return Value();
    auto it = where->values_.find(where->index_.at(ref.node));
    if (it == where->values_.end() ||
        ref.output >= static_cast<int>(it->second.size()))
      return Value();
    return it->second[ref.output];
  }
  void CheckControlFlow(const NodeDef &node);
  mlir::FailureOr<llvm::SmallVector<Value>>
  BuildControlFlow(const NodeDef &node, llvm::ArrayRef<Value> operands);
  /// Imports subgraph `attr` of `node` into the builder's insertion point
  /// with `feeds`; its problems become this graph's, prefixed by where.
  mlir::FailureOr<llvm::SmallVector<Value>>
  ImportSubgraph(const NodeDef &node, const std::string &attr,
                 mlir::ValueRange feeds);

  void Error(const NodeDef &node, const std::string &message) {
    errors_.push_back(
        absl::StrCat("node '", node.name(), "' (", node.op(), "): ", message));
  }
  void CheckStructure();
  void CheckPlaceholder(const NodeDef &node);
  void CheckAttributes(const NodeDef &node, const OpSpec &spec);
  void SortTopologically();
  mlir::FailureOr<llvm::SmallVector<Value>> BuildNode(const NodeDef &node);
  absl::Status ErrorStatus() const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid graph: ", errors_.size(), " problem",
                     errors_.size() == 1 ? "" : "s", ":\n  ",
                     absl::StrJoin(errors_, "\n  ")));
  }

  const GraphDef &graph_;
  mlir::MLIRContext &context_;
  std::unique_ptr<MainBuilder> owned_main_; ///< The top-level graph's.
  MainBuilder &main_;
  mlir::OpBuilder &builder_; ///< main_'s, inserting into @main.
  const std::map<std::string, Tensor> &frozen_;
  const std::map<std::string, std::vector<int64_t>> &shapes_;
  Importer *outer_ = nullptr; ///< The enclosing graph's, in a subgraph.
  DiagnosticCollector *diagnostics_ = nullptr;
  std::vector<std::string> errors_;
  std::map<std::string, int> index_; ///< node name -> position in graph_
  std::vector<std::vector<InputRef>> inputs_;
  /// Enclosing-graph nodes a control-flow node's subgraphs read, which
  /// must be built before it.
  std::vector<std::vector<int>> captures_;
  std::vector<int> order_; ///< topological order of node positions
  std::map<int, llvm::SmallVector<Value>> values_; ///< node -> its outputs
};

void Importer::CheckPlaceholder(const NodeDef &node) {
  auto dtype = node.attr().find("dtype");
  auto shape = node.attr().find("shape");
  if (dtype == node.attr().end() || !dtype->second.has_type())
    Error(node, "Placeholder needs a 'dtype' attribute given as 'type'");
  else if (!DTypeToMlir(ProtoDType(dtype->second.type()), context_))
    Error(node, absl::StrCat("dtype ", ProtoDTypeName(dtype->second.type()),
                             " is not supported"));
  if (shape == node.attr().end() || !shape->second.has_shape()) {
    Error(node, "Placeholder needs a static 'shape' attribute given as "
                "'shape { dim: ... }'");
  } else {
    std::vector<int64_t> dims(shape->second.shape().dim().begin(),
                              shape->second.shape().dim().end());
    // -1 is an unknown dimension: the shape the Session was fed (or
    // graph-compile's --input-shape) gives it.
    std::vector<int64_t> declared = dims;
    auto given = shapes_.find(node.name());
    if (given != shapes_.end()) {
      if (!ShapeFits(dims, given->second))
        Error(node, absl::StrCat("shape ", ShapeToString(given->second),
                                 " given for it does not fit its declared "
                                 "shape ",
                                 ShapeToString(dims)));
      dims = given->second;
    }
    auto unknown = std::find(dims.begin(), dims.end(), -1);
    absl::StatusOr<int64_t> n = NumElements(dims);
    // A subgraph's Placeholder takes the shape of the value bound to it
    // (RunSubgraph checks the two agree): -1 is any size there.
    if (outer_ && llvm::all_of(dims, [](int64_t d) { return d >= -1; }))
      ;
    else if (unknown != dims.end())
      Error(node, UnknownDimensionError(node.name(), declared,
                                        unknown - dims.begin()));
    else if (!n.ok())
      Error(node, absl::StrCat("shape ", ShapeToString(dims),
                               ": a dimension is negative (-1 alone means "
                               "unknown)"));
    else if (!ShapeWithinLimit(dims))
      Error(node, absl::StrCat("shape ", ShapeToString(dims),
                               " is larger than Kiln's limit of 2^32 "
                               "elements"));
  }
  for (const auto &[name, value] : node.attr())
    if (name != "dtype" && name != "shape")
      Error(node, absl::StrCat("unknown attribute '", name, "'"));
  if (node.input_size() != 0)
    Error(node, "Placeholder takes no inputs");
}

void Importer::CheckAttributes(const NodeDef &node, const OpSpec &spec) {
  for (const AttrSpec &a : spec.attrs)
    if (a.required && !node.attr().count(a.name))
      Error(node, absl::StrCat("missing required attribute '", a.name, "'"));
  for (const auto &[name, value] : node.attr()) {
    const AttrSpec *found = nullptr;
    for (const AttrSpec &a : spec.attrs)
      if (name == a.name)
        found = &a;
    if (!found) {
      Error(node, absl::StrCat("unknown attribute '", name, "'"));
      continue;
    }
    absl::StatusOr<Attribute> attr = ConvertAttr(value, *found, context_);
    if (!attr.ok())
      Error(node, std::string(attr.status().message()));
  }
}

void Importer::CheckStructure() {
  std::vector<std::string> unknown_ops;
  for (int i = 0; i < graph_.node_size(); ++i) {
    const NodeDef &node = graph_.node(i);
    if (node.name().empty()) {
      errors_.push_back(
          absl::StrCat("node #", i, " (", node.op(), ") has no name"));
      continue;
    }
    if (!index_.emplace(node.name(), i).second)
      Error(node, "duplicate node name");
  }
  inputs_.resize(graph_.node_size());
  for (int i = 0; i < graph_.node_size(); ++i) {
    const NodeDef &node = graph_.node(i);
    if (node.op() == "Placeholder") {
      CheckPlaceholder(node);
    } else if (!SubgraphAttrs(node.op()).empty()) {
      CheckControlFlow(node);
    } else if (const OpSpec *spec = LookupOp(node.op())) {
      if (node.input_size() < spec->min_inputs ||
          node.input_size() > spec->max_inputs)
        Error(node, absl::StrCat("takes ", spec->min_inputs,
                                 spec->min_inputs == spec->max_inputs
                                     ? ""
                                     : absl::StrCat(" to ", spec->max_inputs),
                                 " input(s), got ", node.input_size()));
      CheckAttributes(node, *spec);
    } else {
      unknown_ops.push_back(node.op());
      std::string nearest = SuggestOp(node.op());
      Error(node,
            absl::StrCat("unknown op '", node.op(), "'",
                         nearest.empty() ? ""
                                         : absl::StrCat("; did you mean '",
                                                        nearest, "'?")));
    }
    for (const std::string &text : node.input()) {
      InputRef ref;
      if (!ParseInputRef(text, &ref)) {
        Error(node, absl::StrCat("input '", text,
                                 "' is not of the form 'node' or 'node:k'"));
        continue;
      }
      if (!index_.count(ref.node)) {
        if (OuterKnows(ref.node)) {
          ref.outer = true;
          inputs_[i].push_back(ref);
          continue;
        }
        Error(node, absl::StrCat("input '", text, "' names no node"));
        continue;
      }
      int outputs = NumOutputs(graph_.node(index_.at(ref.node)));
      if (ref.output >= outputs) {
        Error(node,
              absl::StrCat("input '", text, "': node '", ref.node, "' has ",
                           outputs == 1 ? std::string("only output 0")
                                        : absl::StrCat(outputs, " outputs")));
        continue;
      }
      inputs_[i].push_back(ref);
    }
  }
  // What control-flow nodes' subgraphs read from this graph.
  captures_.assign(graph_.node_size(), {});
  for (int i = 0; i < graph_.node_size(); ++i)
    for (const std::string &attr : SubgraphAttrs(graph_.node(i).op())) {
      auto found = graph_.node(i).attr().find(attr);
      if (found == graph_.node(i).attr().end() || !found->second.has_graph())
        continue;
      for (const std::string &name : FreeNames(found->second.graph())) {
        if (index_.count(name))
          captures_[i].push_back(index_.at(name));
        else if (!OuterKnows(name))
          Error(graph_.node(i), absl::StrCat("its ", attr, " reads '", name,
                                             "', which names no node"));
      }
    }
  if (!unknown_ops.empty()) {
    std::set<std::string> unique(unknown_ops.begin(), unknown_ops.end());
    // The table's ops and the importer's own control flow.
    std::vector<std::string> known = SupportedOps();
    known.insert(known.end(), {"If", "While"});
    std::sort(known.begin(), known.end());
    errors_.push_back(absl::StrCat("unknown ops: ", absl::StrJoin(unique, ", "),
                                   " (Kiln knows: ", absl::StrJoin(known, ", "),
                                   ")"));
  }
}

void Importer::SortTopologically() {
  int n = graph_.node_size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (int i = 0; i < n; ++i) {
    for (const InputRef &ref : inputs_[i]) {
      if (ref.outer)
        continue;
      int producer = index_.at(ref.node);
      ++pending[i];
      users[producer].push_back(i);
    }
    for (int producer : captures_[i]) {
      ++pending[i];
      users[producer].push_back(i);
    }
  }
  std::vector<int> ready;
  for (int i = n - 1; i >= 0; --i)
    if (pending[i] == 0)
      ready.push_back(i);
  while (!ready.empty()) {
    int i = ready.back();
    ready.pop_back();
    order_.push_back(i);
    for (int user : users[i])
      if (--pending[user] == 0)
        ready.push_back(user);
  }
  if (static_cast<int>(order_.size()) == n)
    return;
  std::vector<std::string> in_cycle;
  for (int i = 0; i < n; ++i)
    if (pending[i] > 0)
      in_cycle.push_back(graph_.node(i).name());
  errors_.push_back(absl::StrCat("the graph has a cycle through nodes: ",
                                 absl::StrJoin(in_cycle, ", ")));
}

mlir::FailureOr<llvm::SmallVector<Value>>
Importer::BuildNode(const NodeDef &node) {
  mlir::Location loc =
      NodeLocation(builder_.getContext(), node.name(), node.op());
  llvm::SmallVector<Value> operands;
  for (const InputRef &ref : inputs_[index_.at(node.name())]) {
    Value v = ValueOf(ref);
    if (!v)
      return mlir::failure(); // The producer failed and was reported.
    operands.push_back(v);
  }
  if (!SubgraphAttrs(node.op()).empty())
    return BuildControlFlow(node, operands);
  const OpSpec &spec = *LookupOp(node.op());
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  for (const AttrSpec &a : spec.attrs) {
    auto found = node.attr().find(a.name);
    if (found != node.attr().end())
      attrs.push_back(builder_.getNamedAttr(
          a.name, *ConvertAttr(found->second, a, context_)));
  }
  mlir::FailureOr<llvm::SmallVector<Value>> results =
      BuildOpByName(builder_, loc, spec.kiln_op, operands, attrs);
  if (mlir::failed(results))
    return mlir::failure();
  return llvm::SmallVector<Value>{(*results)[0]};
}

absl::StatusOr<ImportedGraph> Importer::Run(std::vector<std::string> fetches) {
  CheckStructure();
  if (fetches.empty())
    fetches.assign(graph_.signature().fetch().begin(),
                   graph_.signature().fetch().end());
  if (fetches.empty())
    errors_.push_back("nothing to fetch: the graph's signature names no "
                      "fetches and none were asked for");
  std::vector<InputRef> fetch_refs;
  for (const std::string &f : fetches) {
    InputRef ref;
    if (!ParseInputRef(f, &ref) || !index_.count(ref.node))
      errors_.push_back(absl::StrCat("fetch '", f, "' names no node"));
    else if (int outputs = NumOutputs(graph_.node(index_.at(ref.node)));
             ref.output >= outputs)
      errors_.push_back(
          absl::StrCat("fetch '", f, "': node '", ref.node, "' has ",
                       outputs == 1 ? std::string("only output 0")
                                    : absl::StrCat(outputs, " outputs")));
    else
      fetch_refs.push_back(ref);
  }
  if (errors_.empty())
    SortTopologically();
  if (!errors_.empty())
    return ErrorStatus();

  DiagnosticCollector diagnostics(context_);
  diagnostics_ = &diagnostics;
  for (int i : order_) {
    const NodeDef &node = graph_.node(i);
    diagnostics.SetOpType(node.name(), node.op());
    if (node.op() == "Placeholder" && frozen_.count(node.name())) {
      values_[i] = {main_.AddConstant(
          node.name(), HostTensorToAttr(frozen_.at(node.name()), context_))};
      continue;
    }
    if (node.op() == "Placeholder") {
      const auto &attrs = node.attr();
      std::vector<int64_t> shape(attrs.at("shape").shape().dim().begin(),
                                 attrs.at("shape").shape().dim().end());
      if (auto given = shapes_.find(node.name()); given != shapes_.end())
        shape = given->second;
      DType dtype = ProtoDType(attrs.at("dtype").type());
      // Arguments are added in topological order, and so are the feeds.
      values_[i] = {main_.AddArgument(
          node.name(),
          mlir::RankedTensorType::get(shape, DTypeToMlir(dtype, context_)))};
      continue;
    }
    mlir::FailureOr<llvm::SmallVector<Value>> value = BuildNode(node);
    if (mlir::succeeded(value))
      values_[i] = *value;
  }
  diagnostics_ = nullptr;
  for (const std::string &e : diagnostics.errors())
    errors_.push_back(e);
  if (!errors_.empty())
    return ErrorStatus();

  // Results are the fetches; MainBuilder drops what they do not need.
  llvm::SmallVector<Value> results;
  for (const InputRef &ref : fetch_refs)
    results.push_back(ValueOf(ref));
  return main_.Finish(results, fetches, diagnostics);
}

mlir::FailureOr<llvm::SmallVector<Value>>
Importer::RunSubgraph(mlir::ValueRange feeds) {
  CheckStructure();
  const SignatureDef &sig = graph_.signature();
  if (sig.feed_size() != static_cast<int>(feeds.size()))
    errors_.push_back(absl::StrCat("its signature names ", sig.feed_size(),
                                   " feeds; it takes ", feeds.size()));
  std::map<std::string, Value> bound;
  for (int k = 0; k < sig.feed_size() && k < static_cast<int>(feeds.size());
       ++k) {
    auto it = index_.find(sig.feed(k));
    if (it == index_.end() || graph_.node(it->second).op() != "Placeholder")
      errors_.push_back(
          absl::StrCat("feed '", sig.feed(k), "' names no Placeholder"));
    else
      bound[sig.feed(k)] = feeds[k];
  }
  std::vector<InputRef> fetch_refs;
  for (const std::string &f : sig.fetch()) {
    InputRef ref;
    if (!ParseInputRef(f, &ref) || !index_.count(ref.node) ||
        ref.output >= NumOutputs(graph_.node(index_.at(ref.node))))
      errors_.push_back(absl::StrCat("fetch '", f,
                                     "' names no output of a "
                                     "node of it"));
    else
      fetch_refs.push_back(ref);
  }
  if (sig.fetch_size() == 0)
    errors_.push_back("its signature names no fetches");
  if (errors_.empty())
    SortTopologically();
  if (!errors_.empty())
    return mlir::failure();
  for (int i : order_) {
    const NodeDef &node = graph_.node(i);
    if (diagnostics_)
      diagnostics_->SetOpType(node.name(), node.op());
    if (node.op() == "Placeholder") {
      auto it = bound.find(node.name());
      if (it == bound.end()) {
        Error(node, "a Placeholder of a subgraph must be one of its "
                    "signature's feeds");
        continue;
      }
      const auto &attrs = node.attr();
      std::vector<int64_t> shape(attrs.at("shape").shape().dim().begin(),
                                 attrs.at("shape").shape().dim().end());
      mlir::Type elem =
          DTypeToMlir(ProtoDType(attrs.at("dtype").type()), context_);
      auto given = mlir::cast<mlir::RankedTensorType>(it->second.getType());
      // -1 takes the given value's size.
      std::vector<int64_t> fitted = shape;
      bool fits = given.getElementType() == elem &&
                  given.getRank() == static_cast<int64_t>(shape.size());
      for (size_t d = 0; fits && d < shape.size(); ++d) {
        fits = shape[d] == -1 || shape[d] == given.getDimSize(d);
        fitted[d] = given.getDimSize(d);
      }
      if (!fits) {
        Error(node, absl::StrCat("declared ", DTypeName(MlirToDType(elem)),
                                 ShapeToString(shape), " but given ",
                                 TypeString(given)));
        continue;
      }
      values_[i] = {it->second};
      continue;
    }
    mlir::FailureOr<llvm::SmallVector<Value>> value = BuildNode(node);
    if (mlir::succeeded(value))
      values_[i] = *value;
  }
  llvm::SmallVector<Value> results;
  for (const InputRef &ref : fetch_refs) {
    Value v = ValueOf(ref);
    if (!v)
      return mlir::failure();
    results.push_back(v);
  }
  if (!errors_.empty())
    return mlir::failure();
  return results;
}

void Importer::CheckControlFlow(const NodeDef &node) {
  for (const std::string &attr : SubgraphAttrs(node.op())) {
    auto found = node.attr().find(attr);
    if (found == node.attr().end() || !found->second.has_graph())
      Error(node, absl::StrCat("needs attribute '", attr, "', a graph"));
  }
  for (const auto &[name, value] : node.attr()) {
    std::vector<std::string> known = SubgraphAttrs(node.op());
    if (node.op() == "While")
      known.push_back("max_iterations");
    if (std::find(known.begin(), known.end(), name) == known.end())
      Error(node, absl::StrCat("unknown attribute '", name, "'"));
  }
  if (node.op() == "If" && node.input_size() != 1)
    Error(node, absl::StrCat("takes 1 input (the condition), got ",
                             node.input_size()));
  if (node.op() == "While") {
    auto max = node.attr().find("max_iterations");
    if (max != node.attr().end() &&
        (!max->second.has_i() || max->second.i() < 0))
      Error(node, "'max_iterations' must be an int of at least 0 (or left "
                  "out: the loop runs while cond holds)");
    if (node.input_size() == 0)
      Error(node, "takes the loop values as inputs, at least one");
  }
}

mlir::FailureOr<llvm::SmallVector<Value>>
Importer::ImportSubgraph(const NodeDef &node, const std::string &attr,
                         mlir::ValueRange feeds) {
  Importer child(node.attr().at(attr).graph(), *this);
  mlir::FailureOr<llvm::SmallVector<Value>> outs = child.RunSubgraph(feeds);
  for (const std::string &e : child.errors())
    Error(node, absl::StrCat("in ", attr, ": ", e));
  if (mlir::failed(outs) && child.errors().empty())
    Error(node, absl::StrCat("its ", attr, " cannot be built"));
  return outs;
}

/// A tensor<i1> from a one-element bool tensor; null when it is not one.
Value AsCondition(mlir::OpBuilder &b, mlir::Location loc, Value v) {
  auto t = mlir::cast<mlir::RankedTensorType>(v.getType());
  if (t.getNumElements() != 1 || !t.getElementType().isInteger(1))
    return Value();
  if (t.getRank() == 0)
    return v;
  mlir::FailureOr<llvm::SmallVector<Value>> r =
      BuildOpByName(b, loc, ReshapeOp::getOperationName(), {v},
                    {b.getNamedAttr("shape", b.getDenseI64ArrayAttr({})),
                     b.getNamedAttr("allowzero", b.getI64IntegerAttr(1))});
  return mlir::succeeded(r) ? (*r)[0] : Value();
}

mlir::FailureOr<llvm::SmallVector<Value>>
Importer::BuildControlFlow(const NodeDef &node,
                           llvm::ArrayRef<Value> operands) {
  mlir::Location loc =
      NodeLocation(builder_.getContext(), node.name(), node.op());
  // A detached block with `types` arguments, filled by `fill`.
  auto inBlock = [&](mlir::TypeRange types, auto fill) -> mlir::Block * {
    auto *block = new mlir::Block();
    for (mlir::Type t : types)
      block->addArgument(t, loc);
    mlir::OpBuilder::InsertionGuard guard(builder_);
    builder_.setInsertionPointToStart(block);
    if (mlir::failed(fill(block))) {
      block->dropAllDefinedValueUses();
      delete block;
      return nullptr;
    }
    return block;
  };
  if (node.op() == "If") {
    Value cond = AsCondition(builder_, loc, operands[0]);
    if (!cond) {
      Error(node, "the condition must hold one bool");
      return mlir::failure();
    }
    llvm::SmallVector<Value> outs[2];
    mlir::Block *blocks[2];
    const char *attrs[2] = {"then_branch", "else_branch"};
    for (int k = 0; k < 2; ++k) {
      blocks[k] = inBlock({}, [&](mlir::Block *block) -> mlir::LogicalResult {
        mlir::FailureOr<llvm::SmallVector<Value>> o =
            ImportSubgraph(node, attrs[k], {});
        if (mlir::failed(o))
          return mlir::failure();
        outs[k] = *o;
        return mlir::success();
      });
      if (!blocks[k]) {
        if (k == 1) {
          blocks[0]->dropAllDefinedValueUses();
          delete blocks[0];
        }
        return mlir::failure();
      }
    }
    llvm::SmallVector<mlir::Type> types;
    std::string problem;
    if (outs[0].size() != outs[1].size())
      problem = absl::StrCat("its branches give ", outs[0].size(), " and ",
                             outs[1].size(), " values");
    for (size_t k = 0; problem.empty() && k < outs[0].size(); ++k) {
      if (outs[0][k].getType() != outs[1][k].getType())
        problem = absl::StrCat(
            "output ", k, " is ", TypeString(outs[0][k].getType()),
            " in then_branch but ", TypeString(outs[1][k].getType()),
            " in else_branch; both must give one type");
      types.push_back(outs[0][k].getType());
    }
    if (!problem.empty()) {
      Error(node, problem);
      for (mlir::Block *b : blocks) {
        b->dropAllDefinedValueUses();
        delete b;
      }
      return mlir::failure();
    }
    for (int k = 0; k < 2; ++k) {
      mlir::OpBuilder::InsertionGuard guard(builder_);
      builder_.setInsertionPointToEnd(blocks[k]);
      builder_.create<YieldOp>(loc, outs[k]);
    }
    auto op = builder_.create<IfOp>(loc, types, cond);
    op.getThenRegion().push_back(blocks[0]);
    op.getElseRegion().push_back(blocks[1]);
    return llvm::SmallVector<Value>(op.getResults());
  }
  // While: cond(v) before the first iteration; each iteration v = body(v),
  // then cond(v) for the next.
  llvm::SmallVector<mlir::Type> types;
  for (Value v : operands)
    types.push_back(v.getType());
  mlir::FailureOr<llvm::SmallVector<Value>> first =
      ImportSubgraph(node, "cond", operands);
  if (mlir::failed(first))
    return mlir::failure();
  Value cond0 =
      first->size() == 1 ? AsCondition(builder_, loc, (*first)[0]) : Value();
  if (!cond0) {
    Error(node, "its cond must fetch one bool");
    return mlir::failure();
  }
  auto &b = builder_;
  llvm::SmallVector<mlir::Type> argTypes = {
      mlir::RankedTensorType::get({}, b.getI64Type()),
      mlir::RankedTensorType::get({}, b.getI1Type())};
  argTypes.append(types);
  mlir::Block *block =
      inBlock(argTypes, [&](mlir::Block *block) -> mlir::LogicalResult {
        mlir::FailureOr<llvm::SmallVector<Value>> next =
            ImportSubgraph(node, "body", block->getArguments().drop_front(2));
        if (mlir::failed(next))
          return mlir::failure();
        if (next->size() != operands.size()) {
          Error(node, absl::StrCat("its body fetches ", next->size(),
                                   " values; the loop has ", operands.size()));
          return mlir::failure();
        }
        for (size_t k = 0; k < next->size(); ++k)
          if ((*next)[k].getType() != types[k]) {
            Error(node, absl::StrCat("loop value ", k, " goes in as ",
                                     TypeString(types[k]),
                                     " and comes out of the body as ",
                                     TypeString((*next)[k].getType()),
                                     ": it must keep its type"));
            return mlir::failure();
          }
        mlir::FailureOr<llvm::SmallVector<Value>> again =
            ImportSubgraph(node, "cond", *next);
        if (mlir::failed(again))
          return mlir::failure();
        Value cond = again->size() == 1
                         ? AsCondition(builder_, loc, (*again)[0])
                         : Value();
        if (!cond) {
          Error(node, "its cond must fetch one bool");
          return mlir::failure();
        }
        llvm::SmallVector<Value> yielded = {cond};
        yielded.append(next->begin(), next->end());
        builder_.create<YieldOp>(loc, yielded);
        return mlir::success();
      });
  if (!block)
    return mlir::failure();
  auto op = builder_.create<LoopOp>(
      loc, types, cond0, operands,
      b.getI64IntegerAttr(node.attr().contains("max_iterations")
                              ? node.attr().at("max_iterations").i()
                              : -1));
  op.getBody().push_back(block);
  return llvm::SmallVector<Value>(op.getResults());
}

} // namespace

namespace {
constexpr char kUnknownDimension[] =
    " is unknown; Kiln compiles for the shape it is fed";
} // namespace

std::string UnknownDimensionError(const std::string &input,
                                  const std::vector<int64_t> &declared,
                                  size_t dim, const std::string &symbol) {
  std::vector<std::string> example;
  for (int64_t d : declared)
    example.push_back(d >= 0 ? absl::StrCat(d) : "N");
  return absl::StrCat(
      "input '", input, "' of shape ", ShapeToString(declared), ": dimension ",
      dim, symbol.empty() ? "" : absl::StrCat(" ('", symbol, "')"),
      kUnknownDimension,
      " (Session::Run, graph-compile --feed), or give it with graph-compile "
      "--input-shape ",
      input, "=", absl::StrJoin(example, "x"));
}

bool IsUnknownDimensionProblem(std::string_view problem) {
  return problem.find(kUnknownDimension) != std::string_view::npos;
}

bool ShapeFits(const std::vector<int64_t> &declared,
               const std::vector<int64_t> &shape) {
  if (declared.size() != shape.size())
    return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (declared[i] != -1 && declared[i] != shape[i])
      return false;
  return true;
}

bool OnlyUnknownDimensions(const absl::Status &status) {
  if (status.code() != absl::StatusCode::kInvalidArgument)
    return false;
  // "invalid graph: N problems:" then one indented line per problem.
  std::vector<std::string> lines =
      absl::StrSplit(status.message(), '\n', absl::SkipEmpty());
  if (lines.size() < 2)
    return false;
  for (size_t i = 1; i < lines.size(); ++i)
    if (!IsUnknownDimensionProblem(lines[i]))
      return false;
  return true;
}

absl::StatusOr<ImportedGraph>
ImportGraphDef(const GraphDef &graph, const std::vector<std::string> &fetches,
               mlir::MLIRContext &context,
               const std::map<std::string, Tensor> &frozen,
               const std::map<std::string, std::vector<int64_t>> &shapes) {
  return Importer(graph, context, frozen, shapes).Run(fetches);
}

mlir::DenseElementsAttr HostTensorToAttr(const Tensor &tensor,
                                         mlir::MLIRContext &context) {
  auto type = mlir::RankedTensorType::get(tensor.shape(),
                                          DTypeToMlir(tensor.dtype(), context));
  if (tensor.dtype() == DType::kBool) {
    llvm::SmallVector<bool> values;
    for (int64_t i = 0; i < tensor.num_elements(); ++i)
      values.push_back(static_cast<const uint8_t *>(tensor.raw_data())[i]);
    return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<bool>(values));
  }
  return mlir::DenseElementsAttr::getFromRawBuffer(
      type, llvm::ArrayRef<char>(static_cast<const char *>(tensor.raw_data()),
                                 tensor.size_bytes()));
}

} // namespace kiln
