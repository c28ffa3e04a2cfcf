//===- onnx_node.cc - One ONNX node, as its converter sees it -------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "graph/onnx_node.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/build_op.h"
#include "graph/importer.h"
#include "graph/onnx_tensor.h"
#include "ir/Diagnostics.h"
#include "ir/Dialect.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APSInt.h"

namespace kiln {

using mlir::Value;

NodeContext::NodeContext(const onnx::NodeProto &node, std::string name,
                         int opset, mlir::OpBuilder &builder,
                         llvm::SmallVector<Value> inputs,
                         const std::string &base_dir,
                         std::vector<std::string> *unsupported,
                         std::vector<std::string> *errors)
    : node_(node), name_(std::move(name)), opset_(opset), builder_(builder),
      loc_(NodeLocation(builder.getContext(), name_, node.op_type())),
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

mlir::FailureOr<std::optional<std::vector<double>>>
NodeContext::constantDoubles(size_t i, const char *what) {
  if (!input(i))
    return std::optional<std::vector<double>>();
  std::optional<mlir::DenseElementsAttr> attr = constantInput(i);
  if (!attr) {
    unsupported(absl::StrCat(what, " (input ", i,
                             ") must be a constant known at compile time"));
    return mlir::failure();
  }
  if (attr->getNumElements() == 0)
    return std::optional<std::vector<double>>();
  mlir::Type elem = attr->getElementType();
  std::vector<double> values;
  if (mlir::isa<mlir::FloatType>(elem)) {
    for (const llvm::APFloat &v : attr->getValues<llvm::APFloat>()) {
      llvm::APFloat d = v;
      bool lost = false;
      d.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                &lost);
      values.push_back(d.convertToDouble());
    }
  } else if (mlir::isa<mlir::IntegerType>(elem)) {
    for (const llvm::APInt &v : attr->getValues<llvm::APInt>())
      values.push_back(elem.isUnsignedInteger() || elem.isInteger(1)
                           ? double(v.getZExtValue())
                           : double(v.getSExtValue()));
  } else {
    error(absl::StrCat(what, " (input ", i, ") must hold numbers"));
    return mlir::failure();
  }
  return std::optional<std::vector<double>>(std::move(values));
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

std::optional<std::vector<float>>
NodeContext::getFloats(const std::string &name) {
  const onnx::AttributeProto *a = attr(name, onnx::AttributeProto::FLOATS);
  if (!a)
    return std::nullopt;
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

std::optional<std::vector<std::string>>
NodeContext::getStrings(const std::string &name) {
  const onnx::AttributeProto *a = attr(name, onnx::AttributeProto::STRINGS);
  if (!a)
    return std::nullopt;
  return std::vector<std::string>(a->strings().begin(), a->strings().end());
}

mlir::FailureOr<mlir::DenseElementsAttr>
NodeContext::decodeTensor(const onnx::TensorProto &tensor) {
  absl::StatusOr<mlir::DenseElementsAttr> t =
      OnnxTensorToAttr(tensor, base_dir_, context());
  if (t.ok())
    return *t;
  if (t.status().code() == absl::StatusCode::kUnimplemented)
    unsupported(std::string(t.status().message()));
  else
    error(std::string(t.status().message()));
  return mlir::failure();
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

/// `value` converted to an integer of `type`'s width and signedness: truncated
/// toward zero and saturated at the type's range (NaN becomes 0), so a float
/// attribute applied to an integer tensor (Shrink's lambd, ThresholdedRelu's
/// alpha) never overflows the conversion.
static llvm::APInt SaturatingInteger(mlir::IntegerType type, double value) {
  unsigned width = type.getWidth();
  bool isUnsigned = type.isUnsigned() || width == 1;
  llvm::APSInt result(width, isUnsigned);
  if (std::isnan(value))
    return result;
  double lo = isUnsigned ? 0.0 : -std::ldexp(1.0, width - 1);
  double hi = std::ldexp(1.0, isUnsigned ? width : width - 1);
  if (value <= lo)
    return isUnsigned ? llvm::APInt::getMinValue(width)
                      : llvm::APInt::getSignedMinValue(width);
  if (value >= hi)
    return isUnsigned ? llvm::APInt::getMaxValue(width)
                      : llvm::APInt::getSignedMaxValue(width);
  bool exact = false;
  llvm::APFloat(value).convertToInteger(result, llvm::APFloat::rmTowardZero,
                                        &exact);
  return result;
}

Value NodeContext::scalar(mlir::Type elem, double value) {
  auto type = mlir::RankedTensorType::get({}, elem);
  mlir::Attribute v =
      mlir::isa<mlir::FloatType>(elem)
          ? mlir::Attribute(builder_.getFloatAttr(elem, value))
          : mlir::Attribute(builder_.getIntegerAttr(
                elem,
                SaturatingInteger(mlir::cast<mlir::IntegerType>(elem), value)));
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

} // namespace kiln
