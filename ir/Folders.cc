//===- Folders.cc - kiln dialect: constant folders ------------------------===//
//
// Part of Kiln. Folders evaluate ops whose operands are constants (the
// shape arithmetic exporters emit, small weight transforms), each bounded
// in the elements it creates.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "ir/OpsInternal.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
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

namespace {

/// The element of `in` that element `index` of a broadcast result of shape
/// `out` reads.
int64_t broadcastSource(ArrayRef<int64_t> out, ShapedType in, int64_t index) {
  int64_t offset = out.size() - in.getRank(), result = 0, stride = 1;
  for (int64_t d = out.size() - 1; d >= 0; --d) {
    int64_t coord = index % out[d];
    index /= out[d];
    if (d < offset)
      continue;
    int64_t dim = in.getDimSize(d - offset);
    result += (dim == 1 ? 0 : coord) * stride;
    stride *= dim;
  }
  return result;
}

/// Constant-folds a broadcasting comparison (a bool result) on constants
/// of up to 2^16 result elements: what an If's condition computed from
/// frozen inputs needs (sample_rate == 16000). The predicates are the ones
/// the op's scalar body uses (ScalarBodies.cc), so folding and running
/// agree: ordered for floats, signed or unsigned for integers.
OpFoldResult foldCompare(ArrayRef<Attribute> operands, Type resultType,
                         arith::CmpFPredicate floatPredicate,
                         arith::CmpIPredicate signedPredicate,
                         arith::CmpIPredicate unsignedPredicate) {
  if (operands.size() != 2 || !operands[0] || !operands[1])
    return {};
  auto lhs = dyn_cast<DenseElementsAttr>(operands[0]);
  auto rhs = dyn_cast<DenseElementsAttr>(operands[1]);
  auto outType = dyn_cast<RankedTensorType>(resultType);
  if (!lhs || !rhs || !outType || !outType.hasStaticShape() ||
      outType.getNumElements() > (1 << 16))
    return {};
  auto at = [&](DenseElementsAttr v, int64_t i) {
    return v.isSplat() ? 0
                       : broadcastSource(outType.getShape(), v.getType(), i);
  };
  Type elem = lhs.getType().getElementType();
  int64_t n = outType.getNumElements();
  SmallVector<bool> values;
  if (isa<FloatType>(elem)) {
    SmallVector<APFloat> a(lhs.getValues<APFloat>()),
        b(rhs.getValues<APFloat>());
    for (int64_t i = 0; i < n; ++i)
      values.push_back(arith::applyCmpPredicate(floatPredicate, a[at(lhs, i)],
                                                b[at(rhs, i)]));
  } else {
    arith::CmpIPredicate predicate =
        elem.isUnsignedInteger() || elem.isInteger(1) ? unsignedPredicate
                                                      : signedPredicate;
    SmallVector<APInt> a(lhs.getValues<APInt>()), b(rhs.getValues<APInt>());
    for (int64_t i = 0; i < n; ++i)
      values.push_back(
          arith::applyCmpPredicate(predicate, a[at(lhs, i)], b[at(rhs, i)]));
  }
  return DenseElementsAttr::get(outType, ArrayRef<bool>(values));
}

/// Constant-folds a broadcasting binary op on constants (up to 2^16
/// result elements, the shape arithmetic exporters emit).
OpFoldResult
foldBinary(ArrayRef<Attribute> operands, Type resultType,
           function_ref<APFloat(APFloat, APFloat)> floatFn,
           function_ref<std::optional<APInt>(APInt, APInt)> intFn) {
  if (operands.size() != 2 || !operands[0] || !operands[1])
    return {};
  auto lhs = dyn_cast<DenseElementsAttr>(operands[0]);
  auto rhs = dyn_cast<DenseElementsAttr>(operands[1]);
  auto outType = dyn_cast<RankedTensorType>(resultType);
  if (!lhs || !rhs || !outType || !outType.hasStaticShape() ||
      outType.getNumElements() > (1 << 16))
    return {};
  Type elem = lhs.getType().getElementType();
  if (elem.isInteger(1) || (!isa<FloatType>(elem) && !intFn))
    return {};
  auto source = [&](ShapedType in, int64_t index) {
    return broadcastSource(outType.getShape(), in, index);
  };
  int64_t n = outType.getNumElements();
  if (isa<FloatType>(elem)) {
    SmallVector<APFloat> a(lhs.getValues<APFloat>()),
        b(rhs.getValues<APFloat>());
    SmallVector<APFloat> values;
    for (int64_t i = 0; i < n; ++i)
      values.push_back(
          floatFn(a[lhs.isSplat() ? 0 : source(lhs.getType(), i)],
                  b[rhs.isSplat() ? 0 : source(rhs.getType(), i)]));
    return DenseElementsAttr::get(outType, values);
  }
  // Any element whose computation is undefined stops the fold.
  SmallVector<APInt> a(lhs.getValues<APInt>()), b(rhs.getValues<APInt>());
  SmallVector<APInt> values;
  for (int64_t i = 0; i < n; ++i) {
    std::optional<APInt> r =
        intFn(a[lhs.isSplat() ? 0 : source(lhs.getType(), i)],
              b[rhs.isSplat() ? 0 : source(rhs.getType(), i)]);
    if (!r)
      return {};
    values.push_back(*r);
  }
  return DenseElementsAttr::get(outType, values);
}

/// Constant-folds a float unary op element by element in double precision.
OpFoldResult foldUnaryFloat(Attribute operand,
                            const std::function<double(double)> &fn) {
  auto input = dyn_cast_or_null<DenseElementsAttr>(operand);
  if (!input || !isa<FloatType>(input.getType().getElementType()))
    return {};
  const llvm::fltSemantics &sem =
      cast<FloatType>(input.getType().getElementType()).getFloatSemantics();
  SmallVector<APFloat> values;
  for (APFloat x : input.getValues<APFloat>()) {
    APFloat r(fn(x.convertToDouble()));
    bool lost;
    r.convert(sem, APFloat::rmNearestTiesToEven, &lost);
    values.push_back(r);
  }
  return DenseElementsAttr::get(input.getType(), values);
}

} // namespace

//===----------------------------------------------------------------------===//
// Identity elements (IdentityElementOpInterface), for kiln-simplify
//===----------------------------------------------------------------------===//

namespace {

enum class Splat { kNone, kPositiveZero, kNegativeZero, kIntZero, kOne };

/// What splat constant `attr` is, as far as identities go.
Splat splatKind(DenseElementsAttr attr) {
  if (!attr || !attr.isSplat())
    return Splat::kNone;
  Type elem = attr.getElementType();
  if (isa<FloatType>(elem)) {
    APFloat x = attr.getSplatValue<APFloat>();
    if (x.isZero())
      return x.isNegative() ? Splat::kNegativeZero : Splat::kPositiveZero;
    if (x.isExactlyValue(1.0))
      return Splat::kOne;
    return Splat::kNone;
  }
  if (elem.isInteger(1))
    return Splat::kNone;
  APInt x = attr.getSplatValue<APInt>();
  if (x.isZero())
    return Splat::kIntZero;
  if (x.isOne())
    return Splat::kOne;
  return Splat::kNone;
}

} // namespace

// x + (-0.0) == x for every x; x + (+0.0) turns -0.0 into +0.0.
bool AddOp::isIdentityElement(DenseElementsAttr constant, unsigned) {
  Splat k = splatKind(constant);
  return k == Splat::kNegativeZero || k == Splat::kIntZero;
}
// x - (+0.0) == x for every x, including -0.0; 0 - x is not x.
bool SubOp::isIdentityElement(DenseElementsAttr constant, unsigned side) {
  Splat k = splatKind(constant);
  return side == 0 && (k == Splat::kPositiveZero || k == Splat::kIntZero);
}
bool MulOp::isIdentityElement(DenseElementsAttr constant, unsigned) {
  return splatKind(constant) == Splat::kOne;
}
bool DivOp::isIdentityElement(DenseElementsAttr constant, unsigned side) {
  return side == 0 && splatKind(constant) == Splat::kOne;
}

//===----------------------------------------------------------------------===//
// Folders
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

// Comparisons: ordered for floats (NaN compares false).
OpFoldResult EqualOp::fold(FoldAdaptor adaptor) {
  return foldCompare(adaptor.getOperands(), getType(),
                     arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq,
                     arith::CmpIPredicate::eq);
}
OpFoldResult LessOp::fold(FoldAdaptor adaptor) {
  return foldCompare(adaptor.getOperands(), getType(),
                     arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt,
                     arith::CmpIPredicate::ult);
}
OpFoldResult GreaterOp::fold(FoldAdaptor adaptor) {
  return foldCompare(adaptor.getOperands(), getType(),
                     arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt,
                     arith::CmpIPredicate::ugt);
}
OpFoldResult LessOrEqualOp::fold(FoldAdaptor adaptor) {
  return foldCompare(adaptor.getOperands(), getType(),
                     arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle,
                     arith::CmpIPredicate::ule);
}
OpFoldResult GreaterOrEqualOp::fold(FoldAdaptor adaptor) {
  return foldCompare(adaptor.getOperands(), getType(),
                     arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge,
                     arith::CmpIPredicate::uge);
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](APFloat a, APFloat b) { return a + b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a + b; });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](APFloat a, APFloat b) { return a - b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a - b; });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](APFloat a, APFloat b) { return a * b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a * b; });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (cast<RankedTensorType>(getType()).getElementType().isUnsignedInteger())
    return foldBinary(
        adaptor.getOperands(), getType(),
        [](APFloat a, APFloat b) { return a / b; },
        [](APInt a, APInt b) -> std::optional<APInt> {
          if (b.isZero())
            return std::nullopt;
          return a.udiv(b);
        });
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](APFloat a, APFloat b) { return a / b; },
      [](APInt a, APInt b) -> std::optional<APInt> {
        // Division by zero and INT_MIN / -1 are left to run time.
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt;
        return a.sdiv(b);
      });
}

/// Constant-folds an integer unary op element by element.
static OpFoldResult foldUnaryInt(Attribute operand,
                                 function_ref<APInt(const APInt &)> fn) {
  auto input = dyn_cast_or_null<DenseElementsAttr>(operand);
  if (!input || !input.getType().getElementType().isSignlessInteger() ||
      input.getType().getElementType().isInteger(1))
    return {}; // Unsigned Relu, say, would need other rules.
  SmallVector<APInt> values;
  for (const APInt &x : input.getValues<APInt>())
    values.push_back(fn(x));
  return DenseElementsAttr::get(input.getType(), values);
}

OpFoldResult ReluOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult r = foldUnaryInt(adaptor.getX(), [](const APInt &x) {
        return x.isNegative() ? APInt::getZero(x.getBitWidth()) : x;
      }))
    return r;
  // NaN stays NaN, as the kernel's maximumf gives (docs/semantics.md).
  return foldUnaryFloat(adaptor.getX(), [](double x) {
    return std::isnan(x) || x > 0 ? x : 0.0;
  });
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult r =
          foldUnaryInt(adaptor.getX(), [](const APInt &x) { return -x; }))
    return r;
  return foldUnaryFloat(adaptor.getX(), [](double x) { return -x; });
}

OpFoldResult SigmoidOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(),
                        [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
}

OpFoldResult TanhOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::tanh(x); });
}

OpFoldResult ExpOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::exp(x); });
}

OpFoldResult LogOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::log(x); });
}

OpFoldResult SqrtOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::sqrt(x); });
}

// Exact in double for every float type; Round rounds half to even, as
// the kernel's roundeven does.
OpFoldResult FloorOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::floor(x); });
}

OpFoldResult CeilOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::ceil(x); });
}

OpFoldResult RoundOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(),
                        [](double x) { return std::nearbyint(x); });
}

OpFoldResult IdentityOp::fold(FoldAdaptor) { return getX(); }

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getData().getType() == getType())
    return getData();
  if (auto input = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData()))
    return input.reshape(getType());
  return {};
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  SmallVector<int64_t> perm =
      transposePermutation(getPerm(), getData().getType().getRank());
  if (llvm::all_of(llvm::enumerate(perm), [](auto ip) {
        return static_cast<int64_t>(ip.index()) == ip.value();
      }))
    return getData();
  // A constant is stored transposed (weights that exporters transpose before
  // a MatMul).
  if (auto data = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData()))
    return transposeElements(data, perm);
  return {};
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto input = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  if (!input)
    return {};
  Type from = input.getElementType(), to = getTo();
  auto type = cast<ShapedType>(getType());
  // Convert through double (floats) or int64 (integers): exact for the
  // small shape tensors this folds in practice.
  SmallVector<Attribute> values;
  for (Attribute a : input.getValues<Attribute>()) {
    double d = 0;
    int64_t i = 0;
    bool isFloat = isa<FloatType>(from);
    if (isFloat)
      d = cast<FloatAttr>(a).getValueAsDouble();
    else if (from.isInteger(1))
      i = cast<IntegerAttr>(a).getValue().getBoolValue();
    else if (from.isUnsignedInteger())
      i = static_cast<int64_t>(cast<IntegerAttr>(a).getValue().getZExtValue());
    else
      i = cast<IntegerAttr>(a).getValue().getSExtValue();
    if (isa<FloatType>(to))
      values.push_back(FloatAttr::get(to, isFloat ? d : double(i)));
    else if (to.isInteger(1))
      values.push_back(IntegerAttr::get(to, isFloat ? d != 0 : i != 0));
    else if (isFloat && !(std::isfinite(d) && std::fabs(d) < 9.2e18))
      return {};
    else
      values.push_back(IntegerAttr::get(to, isFloat ? int64_t(d) : i));
  }
  return DenseElementsAttr::get(type, values);
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1)
    return getInputs()[0];
  SmallVector<SmallVector<Attribute>> parts;
  for (Attribute a : adaptor.getInputs()) {
    auto d = dyn_cast_or_null<DenseElementsAttr>(a);
    if (!d)
      return {};
    parts.push_back(SmallVector<Attribute>(d.getValues<Attribute>()));
  }
  auto outType = cast<RankedTensorType>(getType());
  if (outType.getNumElements() > (1 << 16))
    return {};
  int64_t axis = normalizeAxis(getAxis(), outType.getRank());
  // Each output element reads input k at the axis offset within it.
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < outType.getRank(); ++d)
    inner *= outType.getDimSize(d);
  SmallVector<Attribute> values;
  int64_t outer = outType.getNumElements() /
                  std::max<int64_t>(1, outType.getDimSize(axis) * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (auto [k, input] : llvm::enumerate(getInputs())) {
      int64_t chunk =
          cast<RankedTensorType>(input.getType()).getDimSize(axis) * inner;
      for (int64_t i = 0; i < chunk; ++i)
        values.push_back(parts[k][o * chunk + i]);
    }
  return DenseElementsAttr::get(outType, values);
}

/// Element `index` (C order) of an `outShape` result reads which element of
/// the input; shared by the data-movement folders.
/// Results over `maxElements` are left unfolded: a folder may run in the
/// canonicalizer, which has no byte budget.
static OpFoldResult
foldByIndex(Attribute input, ShapedType outType,
            function_ref<int64_t(ArrayRef<int64_t> coords)> source,
            int64_t maxElements = 1 << 16) {
  auto data = dyn_cast_or_null<DenseElementsAttr>(input);
  if (!data || outType.getNumElements() > maxElements)
    return {};
  if (data.isSplat())
    return data.resizeSplat(outType);
  // Calls `fn(i, source)` for each result element i, in order; false when
  // a source is out of range.
  auto eachSource = [&](function_ref<void(int64_t, int64_t)> fn) {
    SmallVector<int64_t> coords(outType.getRank(), 0);
    for (int64_t i = 0; i < outType.getNumElements(); ++i) {
      int64_t rem = i;
      for (int64_t d = outType.getRank() - 1; d >= 0; --d) {
        coords[d] = rem % outType.getDimSize(d);
        rem /= outType.getDimSize(d);
      }
      int64_t src = source(coords);
      if (src < 0)
        return false;
      fn(i, src);
    }
    return true;
  };
  int64_t bits = outType.getElementTypeBitWidth();
  if (bits % 8 == 0 && !isa<ComplexType>(outType.getElementType())) {
    // Whole-byte elements move as bytes: fast enough for weight matrices.
    int64_t size = bits / 8;
    ArrayRef<char> raw = data.getRawData();
    std::vector<char> out(outType.getNumElements() * size);
    if (!eachSource([&](int64_t i, int64_t src) {
          std::memcpy(&out[i * size], &raw[src * size], size);
        }))
      return {};
    return DenseElementsAttr::getFromRawBuffer(outType, out);
  }
  SmallVector<Attribute> in(data.getValues<Attribute>());
  SmallVector<Attribute> out;
  if (!eachSource([&](int64_t, int64_t src) { out.push_back(in[src]); }))
    return {};
  return DenseElementsAttr::get(outType, out);
}

DenseElementsAttr kiln::constantThroughFusion(Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    if (auto fusion = dyn_cast<FusionOp>(arg.getOwner()->getParentOp()))
      value = fusion.getInputs()[arg.getArgNumber()];
  DenseElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return nullptr;
  return attr;
}

/// C-order offset of `coords` in `shape`.
static int64_t linearIndex(ArrayRef<int64_t> shape, ArrayRef<int64_t> coords) {
  int64_t index = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    index = index * shape[d] + coords[d];
  return index;
}

DenseElementsAttr kiln::transposeElements(DenseElementsAttr data,
                                          ArrayRef<int64_t> perm) {
  auto inType = cast<ShapedType>(data.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(inType.getDimSize(p));
  auto outType = RankedTensorType::get(shape, inType.getElementType());
  int64_t bits = inType.getElementTypeBitWidth();
  if (!data.isSplat() && bits % 8 == 0 && bits > 0 &&
      !isa<ComplexType>(inType.getElementType())) {
    // Whole-byte elements: walk the result in order with an odometer over
    // its coordinates, moving the source offset by the input's strides, no
    // division per element (weights of millions of elements are
    // transposed while a model is imported).
    int64_t size = bits / 8, rank = inType.getRank();
    SmallVector<int64_t> inStrides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * inType.getDimSize(d + 1);
    SmallVector<int64_t> stride(rank), coord(rank, 0);
    for (int64_t d = 0; d < rank; ++d)
      stride[d] = inStrides[perm[d]];
    ArrayRef<char> raw = data.getRawData();
    std::vector<char> out(outType.getNumElements() * size);
    int64_t src = 0;
    for (int64_t i = 0, n = outType.getNumElements(); i < n; ++i) {
      std::memcpy(&out[i * size], &raw[src * size], size);
      for (int64_t d = rank - 1; d >= 0; --d) {
        src += stride[d];
        if (++coord[d] < shape[d])
          break;
        src -= stride[d] * shape[d];
        coord[d] = 0;
      }
    }
    return DenseElementsAttr::getFromRawBuffer(outType, out);
  }
  SmallVector<int64_t> in(inType.getRank());
  // No bigger than what it replaces, so any size.
  OpFoldResult result = foldByIndex(
      data, outType,
      [&](ArrayRef<int64_t> c) {
        for (auto [i, p] : llvm::enumerate(perm))
          in[p] = c[i];
        return linearIndex(inType.getShape(), in);
      },
      std::numeric_limits<int64_t>::max());
  return dyn_cast_or_null<DenseElementsAttr>(
      llvm::dyn_cast_if_present<Attribute>(result));
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  RankedTensorType in = getData().getType();
  if (in == getType()) {
    auto dims = computeSlice(std::nullopt, in.getShape(), getStarts(),
                             getEnds(), getAxes(), getSteps());
    if (succeeded(dims) && llvm::all_of(*dims, [](const SliceDim &d) {
          return d.start == 0 && d.step == 1;
        }))
      return getData();
  }
  auto dims = computeSlice(std::nullopt, in.getShape(), getStarts(), getEnds(),
                           getAxes(), getSteps());
  if (failed(dims))
    return {};
  return foldByIndex(adaptor.getData(), getType(), [&](ArrayRef<int64_t> c) {
    SmallVector<int64_t> src;
    for (size_t d = 0; d < c.size(); ++d)
      src.push_back((*dims)[d].start + c[d] * (*dims)[d].step);
    return linearIndex(in.getShape(), src);
  });
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto indices = dyn_cast_or_null<DenseElementsAttr>(adaptor.getIndices());
  if (!indices)
    return {};
  RankedTensorType in = getData().getType();
  int64_t axis = normalizeAxis(getAxis(), in.getRank());
  int64_t dim = in.getDimSize(axis);
  SmallVector<int64_t> idx;
  for (APInt v : indices.getValues<APInt>())
    idx.push_back(v.getSExtValue());
  int64_t irank = indices.getType().getRank();
  return foldByIndex(adaptor.getData(), getType(), [&](ArrayRef<int64_t> c) {
    SmallVector<int64_t> src(c.take_front(axis));
    int64_t flat = 0;
    for (int64_t d = 0; d < irank; ++d)
      flat = flat * indices.getType().getDimSize(d) + c[axis + d];
    int64_t i = idx[flat] < 0 ? idx[flat] + dim : idx[flat];
    if (i < 0 || i >= dim)
      return int64_t(-1);
    src.push_back(i);
    src.append(c.begin() + axis + irank, c.end());
    return linearIndex(in.getShape(), src);
  });
}

std::optional<SmallVector<Value>> kiln::foldToConstants(Operation *op) {
  SmallVector<Attribute> operands;
  for (Value v : op->getOperands()) {
    Attribute a;
    if (!matchPattern(v, m_Constant(&a)))
      return std::nullopt;
    operands.push_back(a);
  }
  SmallVector<OpFoldResult> folded;
  if (op->getNumResults() == 0 || failed(op->fold(operands, folded)) ||
      folded.size() != op->getNumResults())
    return std::nullopt;
  // Check every result before creating any constant.
  for (auto [result, f] : llvm::zip(op->getResults(), folded)) {
    if (isa<Value>(f))
      continue;
    auto attr = dyn_cast<ElementsAttr>(f.get<Attribute>());
    if (!attr || attr.getType() != result.getType())
      return std::nullopt;
  }
  OpBuilder builder(op);
  SmallVector<Value> replacements;
  for (auto [result, f] : llvm::zip(op->getResults(), folded)) {
    if (auto v = dyn_cast<Value>(f))
      replacements.push_back(v);
    else
      replacements.push_back(
          builder.create<ConstantOp>(op->getLoc(), result.getType(),
                                     cast<ElementsAttr>(f.get<Attribute>())));
  }
  return replacements;
}
