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

namespace {

struct InputRef {
  std::string node;
  int output = 0;
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

class Importer {
public:
  Importer(const GraphDef &graph, mlir::MLIRContext &context,
           const std::map<std::string, Tensor> &frozen,
           const std::map<std::string, std::vector<int64_t>> &shapes)
      : graph_(graph), context_(context), main_(context),
        builder_(main_.builder()), frozen_(frozen), shapes_(shapes) {}

  absl::StatusOr<ImportedGraph> Run(std::vector<std::string> fetches);

private:
  void Error(const NodeDef &node, const std::string &message) {
    errors_.push_back(
        absl::StrCat("node '", node.name(), "' (", node.op(), "): ", message));
  }
  void CheckStructure();
  void CheckPlaceholder(const NodeDef &node);
  void CheckAttributes(const NodeDef &node, const OpSpec &spec);
  void SortTopologically();
  mlir::FailureOr<Value> BuildNode(const NodeDef &node);
  absl::Status ErrorStatus() const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid graph: ", errors_.size(), " problem",
                     errors_.size() == 1 ? "" : "s", ":\n  ",
                     absl::StrJoin(errors_, "\n  ")));
  }

  const GraphDef &graph_;
  mlir::MLIRContext &context_;
  MainBuilder main_;
  mlir::OpBuilder &builder_; ///< main_'s, inserting into @main.
  const std::map<std::string, Tensor> &frozen_;
  const std::map<std::string, std::vector<int64_t>> &shapes_;
  std::vector<std::string> errors_;
  std::map<std::string, int> index_; ///< node name -> position in graph_
  std::vector<std::vector<InputRef>> inputs_;
  std::vector<int> order_; ///< topological order of node positions
  std::map<int, Value> values_;
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
    if (unknown != dims.end())
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
        Error(node, absl::StrCat("input '", text, "' names no node"));
        continue;
      }
      if (ref.output != 0) {
        Error(node, absl::StrCat("input '", text, "': node '", ref.node,
                                 "' has only output 0"));
        continue;
      }
      inputs_[i].push_back(ref);
    }
  }
  if (!unknown_ops.empty()) {
    std::set<std::string> unique(unknown_ops.begin(), unknown_ops.end());
    errors_.push_back(absl::StrCat(
        "unknown ops: ", absl::StrJoin(unique, ", "),
        " (Kiln knows: ", absl::StrJoin(SupportedOps(), ", "), ")"));
  }
}

void Importer::SortTopologically() {
  int n = graph_.node_size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (int i = 0; i < n; ++i) {
    for (const InputRef &ref : inputs_[i]) {
      int producer = index_.at(ref.node);
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

mlir::FailureOr<Value> Importer::BuildNode(const NodeDef &node) {
  const OpSpec &spec = *LookupOp(node.op());
  mlir::Location loc =
      NodeLocation(builder_.getContext(), node.name(), node.op());
  llvm::SmallVector<Value> operands;
  for (const InputRef &ref : inputs_[index_.at(node.name())]) {
    auto it = values_.find(index_.at(ref.node));
    if (it == values_.end())
      return mlir::failure(); // The producer failed and was reported.
    operands.push_back(it->second);
  }
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
  return (*results)[0];
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
    else if (ref.output != 0)
      errors_.push_back(absl::StrCat("fetch '", f, "': node '", ref.node,
                                     "' has only output 0"));
    else
      fetch_refs.push_back(ref);
  }
  if (errors_.empty())
    SortTopologically();
  if (!errors_.empty())
    return ErrorStatus();

  DiagnosticCollector diagnostics(context_);
  for (int i : order_) {
    const NodeDef &node = graph_.node(i);
    diagnostics.SetOpType(node.name(), node.op());
    if (node.op() == "Placeholder" && frozen_.count(node.name())) {
      values_[i] = main_.AddConstant(
          node.name(), HostTensorToAttr(frozen_.at(node.name()), context_));
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
      values_[i] = main_.AddArgument(
          node.name(),
          mlir::RankedTensorType::get(shape, DTypeToMlir(dtype, context_)));
      continue;
    }
    mlir::FailureOr<Value> value = BuildNode(node);
    if (mlir::succeeded(value))
      values_[i] = *value;
  }
  for (const std::string &e : diagnostics.errors())
    errors_.push_back(e);
  if (!errors_.empty())
    return ErrorStatus();

  // Results are the fetches; MainBuilder drops what they do not need.
  llvm::SmallVector<Value> results;
  for (const InputRef &ref : fetch_refs)
    results.push_back(values_.at(index_.at(ref.node)));
  return main_.Finish(results, fetches, diagnostics);
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
