//===- onnx_registry.cc - ONNX op types to their converters ---------------===//
//
// Part of Kiln. The registry, the table-driven converter, and the check of
// a node against ONNX's schema (or, past libonnx's opsets, the registry's
// arity).
//
//===----------------------------------------------------------------------===//
#include "graph/onnx_registry.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "graph/onnx_ops.h"
#include "graph/onnx_tensor.h"
#include "graph/op_table.h"
#include "onnx/defs/schema.h"

namespace kiln {

using mlir::Value;

namespace {

/// Converts one ONNX attribute as an AttrSpec asks, or explains why not.
mlir::FailureOr<mlir::Attribute> ConvertOnnxAttr(NodeContext &ctx,
                                                 const onnx::AttributeProto &a,
                                                 const AttrSpec &spec) {
  mlir::Builder b(&ctx.context());
  onnx::AttributeProto::AttributeType want = onnx::AttributeProto::UNDEFINED;
  auto mistyped = [&]() {
    ctx.error(absl::StrCat("attribute '", a.name(), "' is ",
                           OnnxAttrTypeName(a.type()), ", expected ",
                           OnnxAttrTypeName(want)));
    return mlir::failure();
  };
  switch (spec.kind) {
  case AttrKind::kInt:
  case AttrKind::kType:
    want = onnx::AttributeProto::INT;
    break;
  case AttrKind::kFloat:
  case AttrKind::kDouble:
    want = onnx::AttributeProto::FLOAT;
    break;
  case AttrKind::kInts:
    want = onnx::AttributeProto::INTS;
    break;
  case AttrKind::kString:
    want = onnx::AttributeProto::STRING;
    break;
  case AttrKind::kTensor:
    want = onnx::AttributeProto::TENSOR;
    break;
  }
  if (a.type() != want)
    return mistyped();
  switch (spec.kind) {
  case AttrKind::kInt:
    return mlir::Attribute(b.getI64IntegerAttr(a.i()));
  case AttrKind::kFloat:
    return mlir::Attribute(b.getF32FloatAttr(a.f()));
  case AttrKind::kDouble:
    return mlir::Attribute(b.getF64FloatAttr(a.f()));
  case AttrKind::kInts:
    return mlir::Attribute(b.getDenseI64ArrayAttr(
        llvm::SmallVector<int64_t>(a.ints().begin(), a.ints().end())));
  case AttrKind::kString:
    return mlir::Attribute(b.getStringAttr(a.s()));
  case AttrKind::kType: {
    mlir::Type t = OnnxElementType(static_cast<int>(a.i()), ctx.context());
    if (!t) {
      ctx.unsupported(absl::StrCat("element type ",
                                   OnnxTypeName(static_cast<int>(a.i())),
                                   " is not supported"));
      return mlir::failure();
    }
    return mlir::Attribute(mlir::TypeAttr::get(t));
  }
  case AttrKind::kTensor: {
    mlir::FailureOr<mlir::DenseElementsAttr> t = ctx.decodeTensor(a.t());
    if (mlir::failed(t))
      return mlir::failure();
    return mlir::Attribute(*t);
  }
  }
  return mistyped();
}

} // namespace

//===----------------------------------------------------------------------===//
// The registry
//===----------------------------------------------------------------------===//

void OnnxRegistry::onOp(const std::string &op_type, int since_version,
                        OnnxConverter convert, int min_inputs, int max_inputs,
                        std::vector<std::string> required_attrs) {
  std::vector<OnnxOpEntry> &forms = entries_[op_type];
  auto at = llvm::find_if(forms, [&](const OnnxOpEntry &e) {
    return e.since_version >= since_version;
  });
  assert((at == forms.end() || at->since_version != since_version) &&
         "an op type registered twice for one opset");
  forms.insert(at,
               OnnxOpEntry{op_type, since_version, std::move(convert),
                           min_inputs, max_inputs, std::move(required_attrs)});
}

void OnnxRegistry::onTableOp(const std::string &op_type, int since_version) {
  const OpSpec *spec = LookupOp(op_type);
  assert(spec && "a table op the op table does not have");
  std::vector<std::string> required;
  for (const AttrSpec &a : spec->attrs)
    if (a.required)
      required.push_back(a.name);
  onOp(
      op_type, since_version,
      [spec](NodeContext &ctx) { return ConvertWithTable(ctx, *spec); },
      spec->min_inputs, spec->max_inputs, std::move(required));
}

const OnnxOpEntry *OnnxRegistry::lookup(std::string_view op_type,
                                        int opset) const {
  const OnnxOpEntry *found = nullptr;
  for (const OnnxOpEntry &e : forms(op_type))
    if (e.since_version <= opset)
      found = &e;
  return found;
}

const std::vector<OnnxOpEntry> &
OnnxRegistry::forms(std::string_view op_type) const {
  static const std::vector<OnnxOpEntry> kNone;
  auto it = entries_.find(op_type);
  return it == entries_.end() ? kNone : it->second;
}

std::vector<std::string> OnnxRegistry::opTypes() const {
  std::vector<std::string> names;
  for (const auto &[name, forms] : entries_)
    names.push_back(name);
  return names;
}

const OnnxRegistry &OnnxOps() {
  static const OnnxRegistry *registry = [] {
    auto *r = new OnnxRegistry;
    RegisterElementwiseOnnxOps(*r);
    RegisterShapeOnnxOps(*r);
    RegisterNNOnnxOps(*r);
    RegisterControlOnnxOps(*r);
    RegisterResizeOnnxOps(*r);
    RegisterQuantOnnxOps(*r);
    RegisterSignalOnnxOps(*r);
    // Every other op of the table converts as the table says.
    for (const std::string &op : SupportedOps())
      if (LookupOp(op) && r->forms(op).empty())
        r->onTableOp(op);
    return r;
  }();
  return *registry;
}

//===----------------------------------------------------------------------===//
// Checking a node, converting it through the table
//===----------------------------------------------------------------------===//

std::string CheckAgainstSchema(const onnx::NodeProto &node,
                               llvm::ArrayRef<Value> inputs, int opset) {
  int n = static_cast<int>(inputs.size());
  std::set<std::string> names;
  for (const onnx::AttributeProto &a : node.attribute())
    if (!names.insert(a.name()).second)
      return absl::StrCat("attribute '", a.name(), "' is given twice");
  auto given = [&](const std::string &attr_name) {
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.name() == attr_name)
        return true;
    return false;
  };
  if (opset > kMaxKnownOpset) {
    const OnnxOpEntry *e = OnnxOps().lookup(node.op_type(), opset);
    if (!e)
      return "";
    int min_inputs = e->min_inputs, max_inputs = e->max_inputs;
    const std::vector<std::string> &required = e->required_attrs;
    if (n < min_inputs || n > max_inputs)
      return absl::StrCat("takes ", min_inputs, " to ",
                          std::min(max_inputs, 1000), " inputs, got ", n);
    for (int i = 0; i < min_inputs; ++i)
      if (!inputs[i])
        return absl::StrCat("input ", i, " is required but left out");
    for (const std::string &r : required)
      if (!given(r))
        return absl::StrCat("attribute '", r, "' is required");
    return "";
  }
  const onnx::OpSchema *schema =
      onnx::OpSchemaRegistry::Schema(node.op_type(), opset);
  if (!schema)
    return "";
  if (n < schema->min_input() || n > schema->max_input())
    return absl::StrCat("takes ", schema->min_input(), " to ",
                        std::min(schema->max_input(), 1000), " inputs, got ",
                        n);
  const auto &formal = schema->inputs();
  for (int i = 0; i < n && i < static_cast<int>(formal.size()); ++i)
    if (!inputs[i] &&
        formal[i].GetOption() == onnx::OpSchema::FormalParameterOption::Single)
      return absl::StrCat("input ", i, " ('", formal[i].GetName(),
                          "') is required but left out");
  for (const auto &[attr_name, attr] : schema->attributes())
    if (attr.required && !given(attr_name))
      return absl::StrCat("attribute '", attr_name, "' is required");
  return "";
}

mlir::FailureOr<llvm::SmallVector<Value>>
ConvertWithTable(NodeContext &ctx, const OpSpec &spec,
                 llvm::ArrayRef<llvm::StringRef> ignored) {
  if (static_cast<int>(ctx.numInputs()) < spec.min_inputs ||
      static_cast<int>(ctx.numInputs()) > spec.max_inputs) {
    ctx.error(absl::StrCat("takes ", spec.min_inputs, " to ",
                           std::min(spec.max_inputs, 1000), " inputs, got ",
                           ctx.numInputs()));
    return mlir::failure();
  }
  llvm::SmallVector<Value> operands;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    if (ctx.input(i))
      operands.push_back(ctx.input(i));
  mlir::FailureOr<llvm::SmallVector<mlir::NamedAttribute>> attrs =
      TableAttributes(ctx, spec, ignored);
  if (mlir::failed(attrs))
    return mlir::failure();
  mlir::FailureOr<Value> v = ctx.buildNamed(spec.kiln_op, operands, *attrs);
  if (mlir::failed(v))
    return mlir::failure();
  return llvm::SmallVector<Value>{*v};
}

mlir::FailureOr<llvm::SmallVector<mlir::NamedAttribute>>
TableAttributes(NodeContext &ctx, const OpSpec &spec,
                llvm::ArrayRef<llvm::StringRef> ignored) {
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  for (const onnx::AttributeProto &a : ctx.node().attribute()) {
    // Attributes of old opsets that numpy broadcasting and static shapes
    // make meaningless.
    if (ctx.opset() < 7 &&
        (a.name() == "broadcast" || a.name() == "consumed_inputs" ||
         a.name() == "is_test" || a.name() == "spatial"))
      continue;
    if (llvm::is_contained(ignored, a.name()))
      continue;
    const AttrSpec *found = nullptr;
    for (const AttrSpec &s : spec.attrs)
      if (a.name() == s.name)
        found = &s;
    if (!found) {
      ctx.unsupported(
          absl::StrCat("attribute '", a.name(), "' is not supported"));
      continue;
    }
    // Every attribute is checked, so that all mistyped ones are reported.
    mlir::FailureOr<mlir::Attribute> attr = ConvertOnnxAttr(ctx, a, *found);
    if (mlir::succeeded(attr))
      attrs.push_back(ctx.builder().getNamedAttr(a.name(), *attr));
  }
  if (ctx.reported())
    return mlir::failure();
  // Attributes left out take the defaults of ONNX's schema for this opset.
  if (const onnx::OpSchema *schema = onnx::OpSchemaRegistry::Schema(
          ctx.node().op_type(), std::min(ctx.opset(), kMaxKnownOpset))) {
    for (const AttrSpec &s : spec.attrs) {
      if (ctx.hasAttr(s.name))
        continue;
      auto found = schema->attributes().find(s.name);
      if (found == schema->attributes().end() ||
          found->second.default_value.type() == onnx::AttributeProto::UNDEFINED)
        continue;
      mlir::FailureOr<mlir::Attribute> attr =
          ConvertOnnxAttr(ctx, found->second.default_value, s);
      if (mlir::failed(attr))
        return mlir::failure();
      attrs.push_back(ctx.builder().getNamedAttr(s.name, *attr));
    }
  }
  return attrs;
}

} // namespace kiln
