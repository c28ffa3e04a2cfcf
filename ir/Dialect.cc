//===- Dialect.cc - the kiln dialect --------------------------------------===//
//
// Part of Kiln. The dialect's registration, constant materialization, the
// fusion op's verifier and the op classes ODS generates; type inference,
// folders and index arithmetic are in TypeInference.cc, Folders.cc and
// Geometry.cc.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "ir/OpsInternal.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

#include "ir/KilnDialect.cpp.inc"
#include "ir/KilnInterfaces.cpp.inc"

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/KilnOps.cpp.inc"
      >();
}

LogicalResult KilnDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  if (name == kParallelAttr || name == kScratchAttr || name == kWholeAttr) {
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitError("'") << name << "' must be a unit attribute";
    return success();
  }
  if (name == kKernelAttr) {
    if (!isa<StringAttr>(attr.getValue()))
      return op->emitError("'kiln.kernel' must be a string");
    return success();
  }
  if (name == kChecksAttr) {
    auto messages = dyn_cast<ArrayAttr>(attr.getValue());
    if (!messages || !llvm::all_of(messages, llvm::IsaPred<StringAttr>))
      return op->emitError("'kiln.checks' must be an array of strings");
    auto func = dyn_cast<FunctionOpInterface>(op);
    if (!func ||
        messages.size() > func.getNumResults() + func.getNumArguments())
      return op->emitError("'kiln.checks' belongs on a function with a "
                           "result (or, after bufferization, an argument) "
                           "per check");
    return success();
  }
  if (name == kLaunchesAttr) {
    auto launches = dyn_cast<ArrayAttr>(attr.getValue());
    auto isLaunch = [](Attribute a) {
      auto fields = dyn_cast<ArrayAttr>(a);
      if (!fields || fields.size() < 4 || fields.size() > 5 ||
          !isa<StringAttr>(fields[0]) || !isa<StringAttr>(fields[1]))
        return false;
      auto isI64 = [](Attribute f) {
        auto n = dyn_cast<IntegerAttr>(f);
        return n && n.getType().isInteger(64);
      };
      if (!llvm::all_of(fields.getValue().slice(2, 2), [&](Attribute f) {
            return isI64(f) && cast<IntegerAttr>(f).getInt() >= 0;
          }))
        return false;
      auto library = fields.size() == 5 ? dyn_cast<ArrayAttr>(fields[4])
                                        : ArrayAttr::get(a.getContext(), {});
      return library && llvm::all_of(library, isI64);
    };
    if (!launches || !llvm::all_of(launches, isLaunch))
      return op->emitError("'kiln.launches' must be an array of [kernel, "
                           "function, threads, threads per block] (string, "
                           "string, i64, i64), a library call's with its "
                           "fields (an array of i64) fifth");
    return success();
  }
  if (name != kArenaBytesAttr && name != kArenaLowerBoundAttr &&
      name != kUnplannedBytesAttr)
    return op->emitError("unknown attribute '") << name << "'";
  auto value = dyn_cast<IntegerAttr>(attr.getValue());
  if (!value || !value.getType().isInteger(64) || value.getInt() < 0)
    return op->emitError("'") << name << "' must be a non-negative i64";
  if (!isa<FunctionOpInterface>(op))
    return op->emitError("'") << name << "' belongs on a function";
  return success();
}

/// kiln.name on a function's argument or result: the feed or fetch; or
/// kiln.arena on the argument that is the arena, kiln.local on a kernel's
/// argument that no other op uses, kiln.constant on a kernel's argument
/// that is a constant.
static LogicalResult verifyArgAttr(Operation *op, NamedAttribute attr,
                                   bool isResult) {
  StringRef name = attr.getName().strref();
  if ((name == KilnDialect::kArenaAttr || name == KilnDialect::kLocalAttr ||
       name == KilnDialect::kConstantAttr) &&
      !isResult) {
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitError("'") << name << "' must be a unit attribute";
    return success();
  }
  if (name != KilnDialect::kNameAttr)
    return op->emitError("unknown argument or result attribute '")
           << name << "'";
  if (!isa<StringAttr>(attr.getValue()))
    return op->emitError("'kiln.name' must be a string");
  return success();
}

LogicalResult KilnDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                    unsigned,
                                                    NamedAttribute attr) {
  return verifyArgAttr(op, attr, /*isResult=*/false);
}

LogicalResult KilnDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                       unsigned,
                                                       NamedAttribute attr) {
  return verifyArgAttr(op, attr, /*isResult=*/true);
}

Operation *KilnDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}

LogicalResult kiln::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b,
                                    SmallVectorImpl<int64_t> &result) {
  result.clear();
  return success(OpTrait::util::getBroadcastedShape(a, b, result));
}

int64_t kiln::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return -1;
  return axis < 0 ? axis + rank : axis;
}

LogicalResult FusionOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("has ") << getInputs().size() << " inputs but "
                               << body.getNumArguments() << " block arguments";
  for (auto [arg, input] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError("block argument types differ from the inputs'");
  auto yield = cast<YieldOp>(body.getTerminator());
  if (TypeRange(yield.getValues()) != getResultTypes())
    return emitOpError("yields types that differ from its results");
  int heroes = 0;
  for (Operation &op : body.without_terminator())
    heroes += op.hasTrait<KilnFusionHero>();
  if (heroes > 1)
    return emitOpError("holds ") << heroes
                                 << " fusion heroes; a kernel has "
                                    "at most one";
  return success();
}

LogicalResult IfOp::verify() {
  for (Region *region : {&getThenRegion(), &getElseRegion()}) {
    auto yield = dyn_cast<YieldOp>(region->front().getTerminator());
    if (!yield)
      return emitOpError("regions must end in kiln.yield");
    if (TypeRange(yield.getValues()) != getResultTypes())
      return emitOpError("a branch yields types that differ from the "
                         "results'");
  }
  if (getCond().getType().getNumElements() != 1)
    return emitOpError("the condition must hold one bool");
  return success();
}

LogicalResult LoopOp::verify() {
  Block &body = getBody().front();
  size_t carried = getInits().size();
  if (body.getNumArguments() != 2 + carried)
    return emitOpError("body takes the iteration number, the condition and ")
           << carried << " carried values, not " << body.getNumArguments()
           << " arguments";
  auto scalar = [](Type t, Type elem) {
    auto r = dyn_cast<RankedTensorType>(t);
    return r && r.getRank() == 0 && r.getElementType() == elem;
  };
  Builder b(getContext());
  if (!scalar(body.getArgument(0).getType(), b.getI64Type()) ||
      !scalar(body.getArgument(1).getType(), b.getI1Type()))
    return emitOpError("body's first arguments must be tensor<i64> and "
                       "tensor<i1>");
  // I64Attr's getter reads the bits as unsigned.
  int64_t trips = static_cast<int64_t>(getTripCount());
  if (trips < -1)
    return emitOpError("trip count must be -1 (none) or at least 0");
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().size() < 1 + carried)
    return emitOpError("body must yield the condition and the carried "
                       "values");
  if (!scalar(yield.getValues()[0].getType(), b.getI1Type()))
    return emitOpError("body must yield the condition first, a tensor<i1>");
  size_t scans = yield.getValues().size() - 1 - carried;
  if (scans > 0 && trips < 0)
    return emitOpError("scan outputs need a trip count");
  if (getNumResults() != carried + scans)
    return emitOpError("has ")
           << getNumResults() << " results; expected " << carried + scans;
  for (size_t i = 0; i < carried; ++i) {
    Type t = getInits()[i].getType();
    if (body.getArgument(2 + i).getType() != t ||
        yield.getValues()[1 + i].getType() != t || getResult(i).getType() != t)
      return emitOpError("carried value ")
             << i << " must keep its type " << t << " through the body";
  }
  for (size_t k = 0; k < scans; ++k) {
    auto per =
        cast<RankedTensorType>(yield.getValues()[1 + carried + k].getType());
    SmallVector<int64_t> shape = {static_cast<int64_t>(getTripCount())};
    shape.append(per.getShape().begin(), per.getShape().end());
    if (getResult(carried + k).getType() !=
        RankedTensorType::get(shape, per.getElementType()))
      return emitOpError("scan output ")
             << k << " must stack the body's " << per << " values";
  }
  return success();
}

LogicalResult GatherOp::verify() {
  // Constant indices are checked here, where the user's node is named;
  // fed ones can only be checked at run time.
  auto constant = getIndices().getDefiningOp<ConstantOp>();
  auto values =
      constant ? dyn_cast<DenseIntElementsAttr>(constant.getValue()) : nullptr;
  auto data = getData().getType();
  int64_t axis = normalizeAxis(getAxis(), data.getRank());
  if (!values || axis < 0 || data.isDynamicDim(axis))
    return success();
  int64_t size = data.getDimSize(axis);
  for (const APInt &v : values.getValues<APInt>()) {
    int64_t index = v.getSExtValue();
    if (index < -size || index >= size)
      return emitOpError("index ")
             << index << " is out of range for axis " << axis << " of size "
             << size << " (indices must lie in [" << -size << ", " << size - 1
             << "])";
  }
  return success();
}

LogicalResult CheckOp::verify() {
  size_t n = getLower().size();
  if (n == 0 || getUpper().size() != n)
    return emitOpError(
        "needs lower and upper bounds of one length, at least 1");
  auto type = getValues().getType();
  if (n > 1 && (type.getRank() == 0 ||
                type.getShape().back() != static_cast<int64_t>(n)))
    return emitOpError("has ") << n
                               << " bounds, not one per position of the last "
                                  "axis of its values";
  return success();
}

/// The activations an RNN, GRU or LSTM cell may name (ONNX's list).
static bool isRecurrentActivation(StringRef name) {
  return llvm::is_contained({"Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu",
                             "ThresholdedRelu", "ScaledTanh", "HardSigmoid",
                             "Elu", "Softsign", "Softplus"},
                            name);
}

LogicalResult RecurrenceOp::verify() {
  StringRef cell = getCell();
  int64_t gates = cell == "rnn"    ? 1
                  : cell == "gru"  ? 3
                  : cell == "lstm" ? 4
                                   : 0;
  if (gates == 0)
    return emitOpError("cell must be \"rnn\", \"gru\" or \"lstm\", not \"")
           << cell << "\"";
  size_t functions = cell == "lstm" ? 3 : cell == "gru" ? 2 : 1;
  if (getActivations().size() != functions ||
      getActivationAlpha().size() != functions ||
      getActivationBeta().size() != functions)
    return emitOpError("a ") << cell << " cell takes " << functions
                             << " activations, each with an alpha and a beta";
  for (Attribute a : getActivations())
    if (!isRecurrentActivation(cast<StringAttr>(a).getValue()))
      return emitOpError("unknown activation '")
             << cast<StringAttr>(a).getValue() << "'";
  auto inputs = getInputs().getType();
  int64_t seq = inputs.getDimSize(0), batch = inputs.getDimSize(1);
  int64_t hidden = getRecurrence().getType().getDimSize(0);
  auto expect = [&](Value v, ArrayRef<int64_t> shape,
                    StringRef what) -> LogicalResult {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getShape() != shape)
      return emitOpError() << what << " is " << shapeStr(type.getShape())
                           << ", not " << shapeStr(shape);
    if (v != getSequenceLens() &&
        type.getElementType() != inputs.getElementType())
      return emitOpError() << what << " has another element type than inputs";
    return success();
  };
  if (failed(expect(getInputs(), {seq, batch, gates * hidden}, "inputs")) ||
      failed(expect(getRecurrence(), {hidden, gates * hidden}, "recurrence")) ||
      failed(expect(getBias(), {gates * hidden}, "bias")) ||
      failed(expect(getInitialH(), {batch, hidden}, "initial_h")) ||
      failed(expect(getInitialC(), {batch, hidden}, "initial_c")) ||
      failed(expect(getPeepholes(), {3 * hidden}, "peepholes")))
    return failure();
  if (getSequenceLens() &&
      failed(expect(getSequenceLens(), {batch}, "sequence_lens")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Run-time rules (RuntimeCheckOpInterface)
//===----------------------------------------------------------------------===//

/// Indices into an axis of `size`: [-size, size - 1].
static RuntimeRule axisIndexRule(unsigned operand, int64_t axis, int64_t size) {
  RuntimeRule rule;
  rule.operand = operand;
  rule.lower = {-size};
  rule.upper = {size - 1};
  rule.message = size == 0 ? ("index {value} is out of range: axis " +
                              Twine(axis) + " has size 0")
                                 .str()
                           : ("index {value} is out of range [" + Twine(-size) +
                              ", " + Twine(size - 1) + "] of axis " +
                              Twine(axis) + " (size " + Twine(size) + ")")
                                 .str();
  return rule;
}

/// Index tuples whose j-th coordinate indexes data's axis first + j.
static RuntimeRule tupleIndexRule(unsigned operand, RankedTensorType data,
                                  int64_t first, int64_t k) {
  RuntimeRule rule;
  rule.operand = operand;
  std::string sizes;
  for (int64_t j = 0; j < k; ++j) {
    int64_t size = data.getDimSize(first + j);
    rule.lower.push_back(-size);
    rule.upper.push_back(size - 1);
    sizes += (j ? ", " : "") + std::to_string(size);
  }
  rule.message =
      ("index {value} is out of range for its axis (the index "
       "tuples address axes " +
       Twine(first) + " to " + Twine(first + k - 1) + " of sizes [" + sizes +
       "]; each index lies in [-size, "
       "size - 1])")
          .str();
  return rule;
}

void GatherOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  auto data = getData().getType();
  int64_t axis = normalizeAxis(getAxis(), data.getRank());
  if (axis >= 0)
    rules.push_back(axisIndexRule(1, axis, data.getDimSize(axis)));
}

void GatherElementsOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  auto data = getData().getType();
  int64_t axis = normalizeAxis(getAxis(), data.getRank());
  if (axis >= 0)
    rules.push_back(axisIndexRule(1, axis, data.getDimSize(axis)));
}

void ScatterElementsOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  auto data = getData().getType();
  int64_t axis = normalizeAxis(getAxis(), data.getRank());
  if (axis >= 0)
    rules.push_back(axisIndexRule(1, axis, data.getDimSize(axis)));
}

void GatherNDOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  rules.push_back(tupleIndexRule(1, getData().getType(), getBatchDims(),
                                 getIndices().getType().getShape().back()));
}

void ScatterNDOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  rules.push_back(tupleIndexRule(1, getData().getType(), 0,
                                 getIndices().getType().getShape().back()));
}

void InRangeOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  RuntimeRule rule;
  rule.operand = 0;
  rule.lower = {static_cast<int64_t>(getLower())};
  rule.upper = {static_cast<int64_t>(getUpper())};
  rule.message = (getWhat() + " {value} is out of range [" +
                  Twine(rule.lower[0]) + ", " + Twine(rule.upper[0]) + "]")
                     .str();
  rules.push_back(std::move(rule));
}

void RecurrenceOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  if (!getSequenceLens())
    return;
  int64_t seq = getInputs().getType().getDimSize(0);
  RuntimeRule rule;
  rule.operand = 6; // after the six tensors the cell always takes
  rule.lower = {0};
  rule.upper = {seq};
  rule.message =
      ("sequence length {value} is out of range [0, " + Twine(seq) + "]").str();
  rules.push_back(std::move(rule));
}

/// An integer divisor (operand 1) must not be 0.
static void nonZeroDivisorRule(Value divisor,
                               SmallVectorImpl<RuntimeRule> &rules) {
  if (!isa<IntegerType>(getElementTypeOrSelf(divisor.getType())))
    return;
  RuntimeRule rule;
  rule.operand = 1;
  rule.lower = {0};
  rule.upper = {0};
  rule.inside = false;
  rule.message = "integer division by zero";
  rules.push_back(std::move(rule));
}

void DivOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  nonZeroDivisorRule(getB(), rules);
}

void ModOp::getRuntimeRules(SmallVectorImpl<RuntimeRule> &rules) {
  nonZeroDivisorRule(getB(), rules);
}

LogicalResult ModOp::verify() {
  if (getFmod() != 0 && getFmod() != 1)
    return emitOpError("fmod must be 0 or 1, not ") << getFmod();
  if (getFmod() == 0 && !isa<IntegerType>(getElementTypeOrSelf(getA())))
    return emitOpError("fmod = 0 needs integers; floats take fmod = 1");
  return success();
}

LogicalResult BitShiftOp::verify() {
  if (getDirection() != "LEFT" && getDirection() != "RIGHT")
    return emitOpError("direction must be \"LEFT\" or \"RIGHT\", not \"")
           << getDirection() << "\"";
  return success();
}

LogicalResult DispatchOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto kernel = symbols.lookupNearestSymbolFrom<FunctionOpInterface>(
      *this, getKernelAttr());
  if (!kernel)
    return emitOpError("names no function: ") << getKernel();
  // The kernel takes the buffers, then the tile range [begin, end).
  ArrayRef<Type> inputs = kernel.getArgumentTypes();
  TypeRange buffers = getBuffers().getTypes();
  if (inputs.size() != buffers.size() + 2 ||
      TypeRange(inputs.drop_back(2)) != buffers ||
      !llvm::all_of(inputs.take_back(2), [](Type t) { return t.isIndex(); }))
    return emitOpError("passes buffers ")
           << buffers << " to @" << getKernel() << ", which takes " << inputs
           << " (its buffers, then two index tile bounds)";
  if (getGrid() < 1)
    return emitOpError("has a grid of ") << getGrid() << " tiles";
  return success();
}

#define GET_OP_CLASSES
#include "ir/KilnOps.cpp.inc"
