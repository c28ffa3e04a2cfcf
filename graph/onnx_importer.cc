//===- onnx_importer.cc - ONNX models to the kiln dialect -----------------===//
//
// Part of Kiln. Loading, tensors, the per-node context, and the import loop;
// the per-op converters are in onnx_ops.cc.
//
//===----------------------------------------------------------------------===//
#include "graph/onnx_importer.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/build_op.h"
#include "graph/main_builder.h"
#include "graph/onnx_internal.h"
#include "graph/op_table.h"
#include "graph/source.h"
#include "ir/Diagnostics.h"
#include "ir/Dialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "onnx/checker.h"
#include "onnx/defs/schema.h"

namespace onnx::checker {
// Exported by libonnx 1.12 but not declared in its header: the form of
// check_model that knows the model's directory (for external data), which
// check_model(path) uses.
void check_model(const ModelProto &model, CheckerContext &ctx);
} // namespace onnx::checker

namespace kiln {

using mlir::Value;

namespace {

/// The newest opset Debian's libonnx (1.12) has schemas for.
constexpr int kMaxKnownOpset = 17;

/// "; did you mean 'Relu'?" for an op type near one Kiln converts, or "".
std::string OpSuggestion(const std::string &op_type) {
  std::string near = SuggestOp(op_type, OnnxConverterNames());
  return near.empty() ? "" : absl::StrCat("; did you mean '", near, "'?");
}

std::string ReadFile(const std::string &path, bool *ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string DirName(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

/// Decodes a TensorProto into a host tensor.
absl::StatusOr<Tensor> DecodeTensor(const onnx::TensorProto &proto,
                                    const std::string &base_dir) {
  DType dtype = DTypeFromOnnx(proto.data_type());
  if (dtype == DType::kInvalid)
    return absl::UnimplementedError(absl::StrCat(
        "element type ", OnnxTypeName(proto.data_type()), " is not supported"));
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  absl::StatusOr<int64_t> n = NumElements(shape);
  if (!n.ok())
    return n.status();
  if (!ShapeWithinLimit(shape, kMaxConstantElements))
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", proto.name(), "' of shape ", ShapeToString(shape),
        " is larger than Kiln's limit of 2^31 elements for a constant"));
  int64_t bytes = *n * DTypeSize(dtype);
  std::string external;
  const std::string *raw = proto.has_raw_data() ? &proto.raw_data() : nullptr;
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const onnx::StringStringEntryProto &e : proto.external_data()) {
      if (e.key() == "location") {
        location = e.value();
      } else if (e.key() == "offset" || e.key() == "length") {
        int64_t v;
        if (!absl::SimpleAtoi(e.value(), &v) || v < 0)
          return absl::InvalidArgumentError(
              absl::StrCat("tensor '", proto.name(), "': external data ",
                           e.key(), " '", e.value(), "' is not a count"));
        (e.key() == "offset" ? offset : length) = v;
      }
    }
    if (location.empty() || location.find("..") != std::string::npos ||
        location[0] == '/')
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", proto.name(),
                       "': bad external data location '", location, "'"));
    bool ok;
    std::string file = ReadFile(base_dir + "/" + location, &ok);
    if (!ok)
      return absl::NotFoundError(absl::StrCat(
          "tensor '", proto.name(), "': cannot read external data file ",
          base_dir, "/", location));
    if (length < 0)
      length = static_cast<int64_t>(file.size()) - offset;
    if (offset < 0 || offset > static_cast<int64_t>(file.size()) ||
        length > static_cast<int64_t>(file.size()) - offset)
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", proto.name(), "': external data out of range"));
    external = file.substr(offset, length);
    raw = &external;
  }
  absl::StatusOr<Tensor> t = Tensor::Allocate(dtype, shape);
  if (!t.ok())
    return t.status();
  auto mismatch = [&](int64_t count) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", proto.name(), "' has ", count,
                     " values for shape ", ShapeToString(shape)));
  };
  if (raw) {
    if (static_cast<int64_t>(raw->size()) != bytes)
      return mismatch(static_cast<int64_t>(raw->size()) / DTypeSize(dtype));
    std::memcpy(t->raw_data(), raw->data(), bytes);
    return t;
  }
  auto copy = [&](const auto &field, auto *out) -> absl::Status {
    if (field.size() != *n)
      return mismatch(field.size());
    for (int64_t i = 0; i < *n; ++i)
      out[i] = static_cast<std::remove_pointer_t<decltype(out)>>(field[i]);
    return absl::OkStatus();
  };
  absl::Status s;
  switch (dtype) {
  case DType::kF32:
    s = copy(proto.float_data(), t->data<float>());
    break;
  case DType::kF64:
    s = copy(proto.double_data(), t->data<double>());
    break;
  case DType::kI32:
    s = copy(proto.int32_data(), t->data<int32_t>());
    break;
  case DType::kI64:
    s = copy(proto.int64_data(), t->data<int64_t>());
    break;
  case DType::kBool:
    s = copy(proto.int32_data(), t->data<uint8_t>());
    break;
  case DType::kI8:
    s = copy(proto.int32_data(), t->data<int8_t>());
    break;
  case DType::kI16:
    s = copy(proto.int32_data(), t->data<int16_t>());
    break;
  case DType::kF16:
  case DType::kBF16: // the bit patterns, in int32_data
    s = copy(proto.int32_data(), t->data<uint16_t>());
    break;
  case DType::kU8:
    s = copy(proto.int32_data(), t->data<uint8_t>());
    break;
  case DType::kU16:
    s = copy(proto.int32_data(), t->data<uint16_t>());
    break;
  case DType::kU32:
    s = copy(proto.uint64_data(), t->data<uint32_t>());
    break;
  case DType::kU64:
    s = copy(proto.uint64_data(), t->data<uint64_t>());
    break;
  default:
    break;
  }
  if (!s.ok())
    return s;
  return t;
}

} // namespace

mlir::Type OnnxElementType(int data_type, mlir::MLIRContext &context) {
  return DTypeToMlir(DTypeFromOnnx(data_type), context);
}

std::string OnnxTypeName(int data_type) {
  if (onnx::TensorProto::DataType_IsValid(data_type))
    return onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(data_type));
  return absl::StrCat("<", data_type, ">");
}

absl::StatusOr<mlir::DenseElementsAttr>
OnnxTensorToAttr(const onnx::TensorProto &proto, const std::string &base_dir,
                 mlir::MLIRContext &context) {
  absl::StatusOr<Tensor> t = DecodeTensor(proto, base_dir);
  if (!t.ok())
    return t.status();
  auto type =
      mlir::RankedTensorType::get(t->shape(), DTypeToMlir(t->dtype(), context));
  if (t->dtype() == DType::kBool) {
    llvm::SmallVector<bool> values;
    for (int64_t i = 0; i < t->num_elements(); ++i)
      values.push_back(t->data<uint8_t>()[i] != 0);
    return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<bool>(values));
  }
  llvm::ArrayRef<char> raw(static_cast<const char *>(t->raw_data()),
                           t->size_bytes());
  return mlir::DenseElementsAttr::getFromRawBuffer(type, raw);
}

absl::StatusOr<Tensor> ReadOnnxTensorFile(const std::string &path) {
  bool ok;
  std::string bytes = ReadFile(path, &ok);
  if (!ok)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes))
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a serialized onnx.TensorProto"));
  absl::StatusOr<Tensor> t = DecodeTensor(proto, DirName(path));
  if (!t.ok())
    return absl::Status(t.status().code(),
                        absl::StrCat(path, ": ", t.status().message()));
  return t;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

NodeContext::NodeContext(const onnx::NodeProto &node, std::string name,
                         int opset, mlir::OpBuilder &builder,
                         llvm::SmallVector<Value> inputs,
                         const std::string &base_dir,
                         std::vector<std::string> *unsupported,
                         std::vector<std::string> *errors)
    : node_(node), name_(std::move(name)), opset_(opset), builder_(builder),
      loc_(mlir::NameLoc::get(builder.getStringAttr(name_))),
      inputs_(std::move(inputs)), base_dir_(base_dir),
      unsupported_(unsupported), errors_(errors) {}

mlir::RankedTensorType NodeContext::type(size_t i) const {
  return mlir::cast<mlir::RankedTensorType>(input(i).getType());
}

std::optional<mlir::DenseElementsAttr>
NodeContext::constantInput(size_t i) const {
  mlir::DenseElementsAttr attr;
  if (input(i) && mlir::matchPattern(input(i), mlir::m_Constant(&attr)))
    return attr;
  return std::nullopt;
}

mlir::FailureOr<llvm::SmallVector<int64_t>>
NodeContext::constantInts(size_t i, const char *what) {
  std::optional<mlir::DenseElementsAttr> attr = constantInput(i);
  if (!attr) {
    unsupported(absl::StrCat(what, " (input ", i,
                             ") must be an integer constant known at compile "
                             "time"));
    return mlir::failure();
  }
  mlir::Type elem = attr->getElementType();
  if (!elem.isInteger() || elem.isInteger(1)) {
    error(absl::StrCat(what, " (input ", i, ") must hold integers, got ",
                       DTypeName(MlirToDType(elem))));
    return mlir::failure();
  }
  llvm::SmallVector<int64_t> values;
  for (const llvm::APInt &v : attr->getValues<llvm::APInt>())
    values.push_back(elem.isUnsignedInteger() ? int64_t(v.getZExtValue())
                                              : v.getSExtValue());
  return values;
}

mlir::FailureOr<double> NodeContext::constantScalar(size_t i,
                                                    const char *what) {
  std::optional<mlir::DenseElementsAttr> attr = constantInput(i);
  if (!attr) {
    unsupported(absl::StrCat(what, " (input ", i,
                             ") must be a scalar known at compile time"));
    return mlir::failure();
  }
  if (attr->getNumElements() != 1) {
    error(absl::StrCat(what, " (input ", i, ") must hold one value, got ",
                       attr->getNumElements()));
    return mlir::failure();
  }
  mlir::Attribute v = *attr->value_begin<mlir::Attribute>();
  if (auto f = mlir::dyn_cast<mlir::FloatAttr>(v))
    return f.getValueAsDouble();
  if (auto n = mlir::dyn_cast<mlir::IntegerAttr>(v)) {
    mlir::Type elem = attr->getElementType();
    if (elem.isInteger(1))
      return n.getValue().getBoolValue() ? 1.0 : 0.0;
    return elem.isUnsignedInteger() ? double(n.getValue().getZExtValue())
                                    : double(n.getValue().getSExtValue());
  }
  error(absl::StrCat(what, " (input ", i, ") must be a number"));
  return mlir::failure();
}

std::string OnnxAttrTypeName(int type) {
  if (onnx::AttributeProto::AttributeType_IsValid(type))
    return onnx::AttributeProto::AttributeType_Name(
        static_cast<onnx::AttributeProto::AttributeType>(type));
  return absl::StrCat("<", type, ">");
}

bool NodeContext::hasAttr(const std::string &name) const {
  for (const onnx::AttributeProto &a : node_.attribute())
    if (a.name() == name)
      return true;
  return false;
}

const onnx::AttributeProto *
NodeContext::attr(const std::string &name,
                  onnx::AttributeProto::AttributeType type) {
  for (const onnx::AttributeProto &a : node_.attribute()) {
    if (a.name() != name)
      continue;
    if (a.type() != type) {
      error(absl::StrCat("attribute '", name, "' is ",
                         OnnxAttrTypeName(a.type()), ", expected ",
                         OnnxAttrTypeName(type)));
      return nullptr;
    }
    return &a;
  }
  return nullptr;
}

int64_t NodeContext::getInt(const std::string &name, int64_t fallback) {
  const onnx::AttributeProto *a = attr(name, onnx::AttributeProto::INT);
  return a ? a->i() : fallback;
}

float NodeContext::getFloat(const std::string &name, float fallback) {
  const onnx::AttributeProto *a = attr(name, onnx::AttributeProto::FLOAT);
  return a ? a->f() : fallback;
}

std::string NodeContext::getString(const std::string &name,
                                   const std::string &fallback) {
  const onnx::AttributeProto *a = attr(name, onnx::AttributeProto::STRING);
  return a ? a->s() : fallback;
}

std::optional<llvm::SmallVector<int64_t>>
NodeContext::getInts(const std::string &name) {
  const onnx::AttributeProto *a = attr(name, onnx::AttributeProto::INTS);
  if (!a)
    return std::nullopt;
  return llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

mlir::FailureOr<Value>
NodeContext::buildNamed(llvm::StringRef op, mlir::ValueRange operands,
                        llvm::ArrayRef<mlir::NamedAttribute> attrs) {
  // Nothing is built for a node past a reported problem: a mistyped
  // attribute leaves a getter's fallback, which need not suit the op.
  if (reported_)
    return mlir::failure();
  mlir::FailureOr<llvm::SmallVector<Value>> results = BuildOpByName(
      builder_, loc_, op, operands, attrs, /*foldConstants=*/true);
  if (mlir::failed(results))
    return mlir::failure();
  return (*results)[0];
}

mlir::FailureOr<llvm::SmallVector<Value>>
NodeContext::buildAllNamed(llvm::StringRef op, mlir::ValueRange operands,
                           llvm::ArrayRef<mlir::NamedAttribute> attrs) {
  if (reported_)
    return mlir::failure();
  return BuildOpByName(builder_, loc_, op, operands, attrs,
                       /*foldConstants=*/true);
}

mlir::FailureOr<Value> NodeContext::reshape(Value v,
                                            llvm::ArrayRef<int64_t> shape) {
  return build<ReshapeOp>(
      v, {builder_.getNamedAttr("shape", builder_.getDenseI64ArrayAttr(shape)),
          builder_.getNamedAttr("allowzero", builder_.getI64IntegerAttr(1))});
}

Value NodeContext::constant(mlir::DenseElementsAttr value) {
  return builder_.create<ConstantOp>(loc_, value.getType(), value);
}

Value NodeContext::scalar(mlir::Type elem, double value) {
  auto type = mlir::RankedTensorType::get({}, elem);
  mlir::Attribute v = mlir::isa<mlir::FloatType>(elem)
                          ? mlir::Attribute(builder_.getFloatAttr(elem, value))
                          : mlir::Attribute(builder_.getIntegerAttr(
                                elem, static_cast<int64_t>(value)));
  return constant(mlir::DenseElementsAttr::get(type, v));
}

void NodeContext::unsupported(const std::string &what) {
  reported_ = true;
  unsupported_->push_back(absl::StrCat("node '", name_, "' (", node_.op_type(),
                                       ", opset ", opset_, "): ", what));
}

void NodeContext::error(const std::string &what) {
  reported_ = true;
  errors_->push_back(
      absl::StrCat("node '", name_, "' (", node_.op_type(), "): ", what));
}

/// Converts one ONNX attribute as an AttrSpec asks, or explains why not.
static mlir::FailureOr<mlir::Attribute>
ConvertOnnxAttr(NodeContext &ctx, const onnx::AttributeProto &a,
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
    absl::StatusOr<mlir::DenseElementsAttr> t =
        OnnxTensorToAttr(a.t(), ctx.base_dir(), ctx.context());
    if (!t.ok()) {
      if (t.status().code() == absl::StatusCode::kUnimplemented)
        ctx.unsupported(std::string(t.status().message()));
      else
        ctx.error(std::string(t.status().message()));
      return mlir::failure();
    }
    return mlir::Attribute(*t);
  }
  }
  return mistyped();
}

/// Why `node` does not fit ONNX's schema for it (how many inputs there
/// are, a required one left out as "", a required attribute missing, an
/// attribute given twice), or "" when it does. Converters can then rely on what
/// the schema requires. libonnx knows opsets up to kMaxKnownOpset; a node of a
/// newer opset is checked only against what Kiln's converter for it declares
/// (the arity and required attribute of the op's newest form), never against an
/// older schema, which may take other inputs (ReduceMax's `axes` became an
/// input in opset 18).
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
    int min_inputs, max_inputs;
    std::vector<std::string> required;
    if (const OnnxConverterEntry *e = LookupOnnxConverter(node.op_type())) {
      min_inputs = e->min_inputs;
      max_inputs = e->max_inputs;
      if (e->required_attr)
        required.push_back(e->required_attr);
    } else if (const OpSpec *spec = LookupOp(node.op_type())) {
      min_inputs = spec->min_inputs;
      max_inputs = spec->max_inputs;
      for (const AttrSpec &a : spec->attrs)
        if (a.required)
          required.push_back(a.name);
    } else {
      return "";
    }
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
  mlir::FailureOr<Value> v = ctx.buildNamed(spec.kiln_op, operands, attrs);
  if (mlir::failed(v))
    return mlir::failure();
  return llvm::SmallVector<Value>{*v};
}

//===----------------------------------------------------------------------===//
// The model source and the import loop
//===----------------------------------------------------------------------===//

namespace {

class OnnxSource : public GraphSource {
public:
  OnnxSource(onnx::ModelProto model, std::string base_dir, int opset)
      : model_(std::move(model)), base_dir_(std::move(base_dir)),
        opset_(opset) {
    for (const onnx::TensorProto &t : model_.graph().initializer())
      initializers_.insert(t.name());
    for (const onnx::ValueInfoProto &v : model_.graph().value_info())
      inferred_[v.name()] = &v;
    for (const onnx::ValueInfoProto &v : model_.graph().output())
      inferred_[v.name()] = &v;
  }

  absl::StatusOr<ImportedGraph>
  Import(const std::vector<std::string> &fetches,
         mlir::MLIRContext &context) const override;

  std::vector<std::string> DefaultFetches() const override {
    std::vector<std::string> names;
    for (const onnx::ValueInfoProto &v : model_.graph().output())
      names.push_back(v.name());
    return names;
  }
  std::vector<std::string> AllFetchable() const override {
    std::vector<std::string> names = DefaultFetches();
    for (const onnx::NodeProto &n : model_.graph().node())
      for (const std::string &o : n.output())
        if (!o.empty())
          names.push_back(o);
    return names;
  }
  std::vector<std::string> InputNames() const override {
    std::vector<std::string> names;
    for (const onnx::ValueInfoProto &v : model_.graph().input())
      if (!initializers_.count(v.name()) && !frozen_.count(v.name()))
        names.push_back(v.name());
    return names;
  }
  std::string WhyNotFeedable(const std::string &name) const override {
    if (frozen_.count(name))
      return "is frozen to a constant at compile time";
    for (const onnx::ValueInfoProto &v : model_.graph().input())
      if (v.name() == name)
        return initializers_.count(name)
                   ? "names an initializer, which cannot be fed"
                   : "";
    return "names no input of the ONNX graph";
  }

private:
  const onnx::ModelProto model_;
  const std::string base_dir_;
  const int opset_;
  std::set<std::string> initializers_;
  /// Types the model declares (graph outputs and value_info).
  std::map<std::string, const onnx::ValueInfoProto *> inferred_;
};

/// "f32[2,3]" from an ONNX type, or "" when not fully known.
std::string KnownType(const onnx::ValueInfoProto &info) {
  if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape())
    return "";
  DType dtype = DTypeFromOnnx(info.type().tensor_type().elem_type());
  if (dtype == DType::kInvalid)
    return "";
  std::vector<int64_t> shape;
  for (const auto &d : info.type().tensor_type().shape().dim()) {
    if (!d.has_dim_value())
      return "";
    shape.push_back(d.dim_value());
  }
  return DTypeName(dtype) + ShapeToString(shape);
}

std::string TypeOf(mlir::Type type) {
  auto t = mlir::cast<mlir::RankedTensorType>(type);
  return DTypeName(MlirToDType(t.getElementType())) +
         ShapeToString({t.getShape().begin(), t.getShape().end()});
}

absl::StatusOr<ImportedGraph>
OnnxSource::Import(const std::vector<std::string> &requested,
                   mlir::MLIRContext &context) const {
  const onnx::GraphProto &graph = model_.graph();
  std::vector<std::string> unsupported, errors;
  std::vector<std::string> fetches =
      requested.empty() ? DefaultFetches() : requested;

  // Every unsupported op, up front.
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    std::string name = node.name().empty()
                           ? absl::StrCat(node.op_type(), "_", i)
                           : node.name();
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      unsupported.push_back(absl::StrCat("node '", name, "' (", node.op_type(),
                                         "): domain '", node.domain(),
                                         "' is not supported"));
    else if (!LookupOnnxConverter(node.op_type()) && !LookupOp(node.op_type()))
      unsupported.push_back(absl::StrCat(
          "node '", name, "' (", node.op_type(), ", opset ", opset_,
          "): operator not supported", OpSuggestion(node.op_type())));
  }
  if (!unsupported.empty())
    return absl::UnimplementedError(absl::StrCat(
        "unsupported ONNX model: ", unsupported.size(), " node",
        unsupported.size() == 1 ? "" : "s", " cannot be compiled:\n  ",
        absl::StrJoin(unsupported, "\n  ")));

  MainBuilder main(context);
  mlir::OpBuilder &builder = main.builder();
  DiagnosticCollector diagnostics(context);

  std::map<std::string, Value> values;
  for (const onnx::TensorProto &t : graph.initializer()) {
    absl::StatusOr<mlir::DenseElementsAttr> attr =
        OnnxTensorToAttr(t, base_dir_, context);
    if (!attr.ok()) {
      (attr.status().code() == absl::StatusCode::kUnimplemented ? unsupported
                                                                : errors)
          .push_back(absl::StrCat("initializer '", t.name(),
                                  "': ", attr.status().message()));
      continue;
    }
    values[t.name()] = main.AddConstant(t.name(), *attr);
  }
  std::set<std::string> producedByNode, graphInputs;
  for (const onnx::NodeProto &n : graph.node())
    for (const std::string &o : n.output())
      producedByNode.insert(o);
  for (const onnx::ValueInfoProto &input : graph.input())
    graphInputs.insert(input.name());
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (initializers_.count(input.name()))
      continue;
    if (auto frozen = frozen_.find(input.name()); frozen != frozen_.end()) {
      values[input.name()] = main.AddConstant(
          input.name(), HostTensorToAttr(frozen->second, context));
      continue;
    }
    const auto &tt = input.type().tensor_type();
    mlir::Type elem = OnnxElementType(tt.elem_type(), context);
    if (!input.type().has_tensor_type() || !elem) {
      unsupported.push_back(
          absl::StrCat("input '", input.name(), "': element type ",
                       OnnxTypeName(tt.elem_type()), " is not supported"));
      continue;
    }
    llvm::SmallVector<int64_t> shape;
    bool dynamic = !tt.has_shape();
    for (const auto &d : tt.shape().dim()) {
      if (!d.has_dim_value()) {
        dynamic = true;
        break;
      }
      shape.push_back(d.dim_value());
    }
    if (dynamic) {
      unsupported.push_back(absl::StrCat(
          "input '", input.name(),
          "' has a dynamic or unknown shape; Kiln compiles static shapes"));
      continue;
    }
    if (!ShapeWithinLimit(shape)) {
      bool negative = llvm::any_of(shape, [](int64_t d) { return d < 0; });
      errors.push_back(absl::StrCat(
          "input '", input.name(), "' of shape ",
          ShapeToString({shape.begin(), shape.end()}),
          negative ? " has a negative dimension"
                   : " is larger than Kiln's limit of 2^32 elements"));
      continue;
    }
    values[input.name()] = main.AddArgument(
        input.name(), mlir::RankedTensorType::get(shape, elem));
  }

  std::set<std::string> madeEarlier; // Outputs of the nodes before node i.
  for (int i = 0; i < graph.node_size(); ++i) {
    if (i > 0)
      for (const std::string &o : graph.node(i - 1).output())
        madeEarlier.insert(o);
    const onnx::NodeProto &node = graph.node(i);
    std::string name = node.name().empty()
                           ? absl::StrCat(node.op_type(), "_", i)
                           : node.name();
    llvm::SmallVector<Value> inputs;
    bool missing = false;
    for (const std::string &in : node.input()) {
      if (in.empty()) {
        inputs.push_back(Value());
        continue;
      }
      auto it = values.find(in);
      if (it == values.end()) {
        missing = true;
        // Values that exist but failed earlier were reported there.
        if (!producedByNode.count(in) && !graphInputs.count(in) &&
            !initializers_.count(in))
          errors.push_back(absl::StrCat("node '", name, "' (", node.op_type(),
                                        "): input '", in,
                                        "' names no value of the graph"));
        else if (producedByNode.count(in) && !madeEarlier.count(in))
          errors.push_back(absl::StrCat(
              "node '", name, "' (", node.op_type(), "): input '", in,
              "' is made by a later node (ONNX nodes must be in "
              "topological order)"));
        break;
      }
      inputs.push_back(it->second);
    }
    if (missing)
      continue; // An earlier problem (or a dangling input, reported below).
    NodeContext ctx(node, name, opset_, builder, inputs, base_dir_,
                    &unsupported, &errors);
    diagnostics.SetOpType(name, node.op_type());
    if (std::string why = CheckAgainstSchema(node, inputs, opset_);
        !why.empty()) {
      ctx.error(why);
      continue;
    }
    size_t diagnosed = diagnostics.errors().size();
    mlir::FailureOr<llvm::SmallVector<Value>> outputs;
    if (const OnnxConverterEntry *e = LookupOnnxConverter(node.op_type()))
      outputs = e->convert(ctx);
    else
      outputs = ConvertWithTable(ctx, *LookupOp(node.op_type()));
    // Every failure names its node; one that did not would let the import
    // go on without the node's outputs.
    if (mlir::failed(outputs) && !ctx.reported() &&
        diagnostics.errors().size() == diagnosed)
      ctx.error("cannot be converted");
    // A converter may go on past a reported problem (a mistyped attribute
    // read through a getter yields its fallback); its results are dropped.
    if (mlir::failed(outputs) || ctx.reported())
      continue;
    for (int k = 0; k < node.output_size(); ++k) {
      const std::string &out = node.output(k);
      if (out.empty())
        continue;
      if (k >= static_cast<int>(outputs->size())) {
        ctx.unsupported(
            absl::StrCat("output ", k, " ('", out, "') is not supported"));
        continue;
      }
      Value v = (*outputs)[k];
      values[out] = v;
      // Cross-check Kiln's inference against ONNX's where ONNX knows.
      auto known = inferred_.find(out);
      if (known != inferred_.end()) {
        std::string want = KnownType(*known->second);
        if (!want.empty() && want != TypeOf(v.getType()))
          errors.push_back(absl::StrCat(
              "node '", name, "' (", node.op_type(), "): output '", out,
              "' is ", TypeOf(v.getType()), " but ONNX expects ", want));
      }
    }
  }
  for (const std::string &e : diagnostics.errors())
    errors.push_back(e);
  llvm::SmallVector<Value> results;
  for (const std::string &f : fetches) {
    auto it = values.find(f);
    if (it != values.end()) {
      results.push_back(it->second);
      // A graph output that is an input or initializer, not a node's
      // output (those are checked above), must have the type declared.
      auto declared = inferred_.find(f);
      if (declared != inferred_.end() && !producedByNode.count(f)) {
        std::string want = KnownType(*declared->second);
        if (!want.empty() && want != TypeOf(it->second.getType()))
          errors.push_back(absl::StrCat("output '", f, "' is declared ", want,
                                        " but is ",
                                        TypeOf(it->second.getType())));
      }
      continue;
    }
    if (!producedByNode.count(f) && !initializers_.count(f))
      errors.push_back(
          absl::StrCat("fetch '", f, "' names no value of the ONNX graph"));
    else if (errors.empty() && unsupported.empty())
      // Every way a value goes missing should have been reported above;
      // never return fewer results than fetches.
      errors.push_back(absl::StrCat("fetch '", f, "' could not be computed"));
  }
  if (!unsupported.empty())
    return absl::UnimplementedError(absl::StrCat(
        "unsupported ONNX model:\n  ", absl::StrJoin(unsupported, "\n  "),
        errors.empty() ? "" : "\n  ", absl::StrJoin(errors, "\n  ")));
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ONNX model: ", errors.size(), " problem",
        errors.size() == 1 ? "" : "s", ":\n  ", absl::StrJoin(errors, "\n  ")));

  return main.Finish(results, fetches, diagnostics);
}

} // namespace

absl::StatusOr<std::unique_ptr<GraphSource>>
ParseOnnxSource(const std::string &bytes, const std::string &base_dir,
                const std::string &source_name) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": not a valid ONNX model"));
  int opset = -1;
  for (const onnx::OperatorSetIdProto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = static_cast<int>(o.version());
  if (opset < 1)
    return absl::UnimplementedError(absl::StrCat(
        source_name, ": the model imports no version of the default ONNX "
                     "opset; only that domain is supported"));
  if (opset <= kMaxKnownOpset) {
    // ONNX's own checker, where libonnx knows the opset. Its shape
    // inference is not run: fuzzing found libonnx 1.12's crashing on
    // malformed models, some of which Kiln's checks let through
    // (tests/fuzz/regressions/onnx). Kiln infers every type itself and
    // checks them against the types the model declares.
    try {
      onnx::checker::CheckerContext checker;
      checker.set_model_dir(base_dir);
      onnx::checker::check_model(model, checker);
    } catch (const std::exception &e) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_name, ": ONNX's checker refuses the model: ", e.what()));
    }
  }
  return std::unique_ptr<GraphSource>(
      new OnnxSource(std::move(model), base_dir, opset));
}

absl::StatusOr<std::unique_ptr<GraphSource>>
LoadOnnxSource(const std::string &path) {
  bool ok;
  std::string bytes = ReadFile(path, &ok);
  if (!ok)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  return ParseOnnxSource(bytes, DirName(path), path);
}

} // namespace kiln
