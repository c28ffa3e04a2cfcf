//===- InsertChecks.cc - Run-time checks of indices and divisors ----------===//
//
// Part of Kiln. Ops whose operands must obey a rule their types cannot
// express (an index within its axis, an integer divisor other than 0)
// declare it (RuntimeCheckOpInterface). A constant operand is checked here,
// at compile time; any other gets a kiln.check, whose result @main returns
// after the fetches, with its message in @main's kiln.checks attribute. The
// runtime reads each result after a run and fails the run with the message
// of the first check that counted a bad value (runtime/executable.h).
//
//===----------------------------------------------------------------------===//
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>

#include "ir/Diagnostics.h"
#include "ir/Dialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringExtras.h"

namespace kiln {
#define GEN_PASS_DEF_INSERTCHECKS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// "Gather" for kiln.gather, "GatherElements" for kiln.gather_elements,
/// "GatherND" for kiln.gather_nd: the op as ONNX and the GraphDef name it,
/// for ops whose location does not say (NodeOpType).
std::string UserOpType(Operation *op) {
  SmallVector<StringRef> words;
  op->getName().stripDialect().split(words, '_');
  std::string out;
  for (StringRef word : words)
    out += word == "nd"
               ? "ND"
               : (Twine(llvm::toUpper(word.front())) + word.drop_front()).str();
  return out;
}

/// Whether `v` at position `position` of the last axis obeys `rule`.
bool Obeys(const RuntimeRule &rule, int64_t v, int64_t position) {
  size_t p = rule.lower.size() == 1 ? 0 : position;
  bool inRange = rule.lower[p] <= v && v <= rule.upper[p];
  return inRange == rule.inside;
}

/// Whether `values` already passed a kiln.in_range (through reshapes) that
/// implies `rule`: a converter's stricter rule makes the op's own one
/// redundant (NegativeLogLikelihoodLoss's targets in [0, C) before its
/// GatherElements, which takes [-C, C)).
bool ImpliedByInRange(Value values, const RuntimeRule &rule) {
  while (auto reshape = values.getDefiningOp<ReshapeOp>())
    values = reshape.getData();
  auto range = values.getDefiningOp<InRangeOp>();
  if (!range || !rule.inside)
    return false;
  int64_t lower = static_cast<int64_t>(range.getLower()),
          upper = static_cast<int64_t>(range.getUpper());
  for (size_t p = 0; p < rule.lower.size(); ++p)
    if (lower < rule.lower[p] || upper > rule.upper[p])
      return false;
  return true;
}

/// The range [lo, hi] every element of `v` lies in, where it follows
/// from how v is made: a scalar constant, the iteration number of a
/// kiln.loop with a trip count ([0, trips - 1]), sums and differences of
/// such, through reshapes. What Scan's slices and `x[i]` in a loop body
/// read is in range by construction, so their gathers need no check.
std::optional<std::pair<int64_t, int64_t>> KnownRange(Value v, int depth = 0) {
  if (depth > 8)
    return std::nullopt;
  while (auto reshape = v.getDefiningOp<ReshapeOp>())
    v = reshape.getData();
  DenseIntElementsAttr constant;
  if (matchPattern(v, m_Constant(&constant)) && constant.isSplat() &&
      !constant.getElementType().isUnsignedInteger() &&
      constant.getElementType().getIntOrFloatBitWidth() <= 64) {
    int64_t c = constant.getSplatValue<APInt>().getSExtValue();
    return std::make_pair(c, c);
  }
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto loop = dyn_cast_or_null<LoopOp>(arg.getOwner()->getParentOp());
    int64_t trips = loop ? static_cast<int64_t>(loop.getTripCount()) : -1;
    if (loop && arg.getArgNumber() == 0 && trips >= 1)
      return std::make_pair(int64_t{0}, trips - 1);
    return std::nullopt;
  }
  Operation *def = v.getDefiningOp();
  if (!def || !isa<AddOp, SubOp>(def))
    return std::nullopt;
  auto a = KnownRange(def->getOperand(0), depth + 1);
  auto b = KnownRange(def->getOperand(1), depth + 1);
  constexpr int64_t kLimit = int64_t{1} << 40; // far from overflow
  if (!a || !b || std::abs(a->first) > kLimit || std::abs(a->second) > kLimit ||
      std::abs(b->first) > kLimit || std::abs(b->second) > kLimit)
    return std::nullopt;
  if (isa<AddOp>(def))
    return std::make_pair(a->first + b->first, a->second + b->second);
  return std::make_pair(a->first - b->second, a->second - b->first);
}

std::string WithValue(const std::string &message, int64_t value) {
  std::string out = message;
  if (size_t at = out.find("{value}"); at != std::string::npos)
    out.replace(at, 7, std::to_string(value));
  return out;
}

/// [0, INT64_MIN]: what a kiln.check gives when nothing is bad.
Value NothingBad(OpBuilder &b, Location loc) {
  auto type = RankedTensorType::get({2}, b.getI64Type());
  auto value = DenseElementsAttr::get(
      type, ArrayRef<int64_t>{0, std::numeric_limits<int64_t>::min()});
  return b.create<ConstantOp>(loc, type, value);
}

/// Two check results as one: the counts added, the larger bad value.
Value CombineChecks(OpBuilder &b, Location loc, Value a, Value c) {
  Value sum = b.create<AddOp>(loc, ValueRange{a, c});
  Value larger = b.create<MaxOp>(loc, ValueRange{a, c});
  auto maskType = RankedTensorType::get({2}, b.getI1Type());
  Value countFirst = b.create<ConstantOp>(
      loc, maskType,
      DenseElementsAttr::get(maskType, ArrayRef<bool>{true, false}));
  return b.create<WhereOp>(loc, ValueRange{countFirst, sum, larger});
}

/// Replaces `from` (a result of an op about to be erased) with `to`, in
/// its uses and among the `checks` @main will return (a check already
/// threaded out of this op).
void Replace(Value from, Value to, SmallVectorImpl<Value> &checks) {
  from.replaceAllUsesWith(to);
  for (Value &c : checks)
    if (c == from)
      c = to;
}

/// `loop` rebuilt with one more carried value that accumulates `check`
/// (made in its body) over the iterations; returns the accumulated result.
/// The lowering keeps a carried value once the condition is false, so
/// iterations that do not run count nothing; the condition turns false
/// once a bad value is counted.
Value ThreadOutOfLoop(LoopOp loop, Value check,
                      SmallVectorImpl<Value> &checks) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  size_t carried = loop.getInits().size();
  SmallVector<Value> inits(loop.getInits());
  inits.push_back(NothingBad(b, loc));
  SmallVector<Type> types(loop.getResultTypes());
  types.insert(types.begin() + carried, check.getType());
  auto rebuilt = b.create<LoopOp>(loc, types, loop.getCond(), inits,
                                  loop.getTripCountAttr());
  rebuilt.getBody().takeBody(loop.getBody());
  Block &body = rebuilt.getBody().front();
  BlockArgument sofar = body.insertArgument(2 + carried, check.getType(), loc);
  auto yield = cast<YieldOp>(body.getTerminator());
  OpBuilder yb(yield);
  Value next = CombineChecks(yb, check.getLoc(), sofar, check);
  yield->insertOperands(1 + carried, next);
  // The loop stops at the first iteration that counted a bad value (the run
  // then fails): an index read as 0 in its place must not keep a loop
  // ended by its condition running forever.
  auto i64 = RankedTensorType::get({}, yb.getI64Type());
  Value first = yb.create<ConstantOp>(
      loc, i64, DenseElementsAttr::get(i64, ArrayRef<int64_t>{0}));
  Value count = yb.create<GatherOp>(loc, ValueRange{next, first},
                                    ArrayRef<NamedAttribute>{yb.getNamedAttr(
                                        "axis", yb.getI64IntegerAttr(0))});
  Value none = yb.create<EqualOp>(loc, ValueRange{count, first});
  yield->setOperand(
      0, yb.create<AndOp>(loc, ValueRange{yield->getOperand(0), none}));
  for (OpResult r : loop->getResults())
    Replace(r,
            rebuilt.getResult(r.getResultNumber() < carried
                                  ? r.getResultNumber()
                                  : r.getResultNumber() + 1),
            checks);
  loop.erase();
  return rebuilt.getResult(carried);
}

/// `branch` rebuilt with one more result: `check` from the region that
/// made it, nothing bad from the other.
Value ThreadOutOfIf(IfOp branch, Value check, SmallVectorImpl<Value> &checks) {
  OpBuilder b(branch);
  SmallVector<Type> types(branch.getResultTypes());
  types.push_back(check.getType());
  auto rebuilt = b.create<IfOp>(branch.getLoc(), types, branch.getCond());
  for (auto [from, to] :
       {std::pair{&branch.getThenRegion(), &rebuilt.getThenRegion()},
        std::pair{&branch.getElseRegion(), &rebuilt.getElseRegion()}}) {
    to->takeBody(*from);
    auto yield = cast<YieldOp>(to->front().getTerminator());
    OpBuilder yb(yield);
    yield->insertOperands(yield->getNumOperands(),
                          check.getParentRegion() == to
                              ? check
                              : NothingBad(yb, branch.getLoc()));
  }
  for (OpResult r : branch->getResults())
    Replace(r, rebuilt.getResult(r.getResultNumber()), checks);
  branch.erase();
  return rebuilt.getResults().back();
}

struct InsertChecksPass : public impl::InsertChecksBase<InsertChecksPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal())
      return;
    SmallVector<Value> results;
    SmallVector<Attribute> messages;
    // One check per value and message: a bidirectional layer's directions
    // share their sequence lengths.
    std::set<std::pair<const void *, std::string>> made;
    bool failed = false;
    main.walk([&](RuntimeCheckOpInterface op) {
      SmallVector<RuntimeRule> rules;
      op.getRuntimeRules(rules);
      for (const RuntimeRule &rule : rules) {
        Value values = op->getOperand(rule.operand);
        auto type = cast<RankedTensorType>(values.getType());
        if (type.getNumElements() == 0)
          continue;
        bool isUnsigned = type.getElementType().isUnsignedInteger() ||
                          type.getElementType().isInteger(1);
        DenseIntElementsAttr constant;
        if (matchPattern(values, m_Constant(&constant))) {
          int64_t last = type.getRank() ? type.getShape().back() : 1;
          int64_t i = 0;
          for (const APInt &element : constant.getValues<APInt>()) {
            int64_t v = isUnsigned
                            ? static_cast<int64_t>(element.getZExtValue())
                            : element.getSExtValue();
            if (!Obeys(rule, v, i++ % std::max<int64_t>(last, 1))) {
              // At the node, not the op: no IR in the message.
              mlir::emitError(op->getLoc(), WithValue(rule.message, v));
              failed = true;
              break;
            }
          }
          continue;
        }
        if (ImpliedByInRange(values, rule))
          continue;
        if (auto known = KnownRange(values);
            known && rule.inside && rule.lower.size() == 1 &&
            rule.lower[0] <= known->first && known->second <= rule.upper[0])
          continue;
        OpBuilder b(op);
        std::string opType = NodeOpType(op->getLoc());
        std::string message = DescribeLocation(op->getLoc()) + " (" +
                              (opType.empty() ? UserOpType(op) : opType) +
                              "): " + rule.message;
        if (!made.insert({values.getAsOpaquePointer(), message}).second)
          continue;
        auto check = b.create<CheckOp>(
            op->getLoc(), values, b.getDenseI64ArrayAttr(rule.lower),
            b.getDenseI64ArrayAttr(rule.upper), b.getBoolAttr(rule.inside),
            b.getStringAttr(message));
        results.push_back(check.getResult());
        messages.push_back(b.getStringAttr(message));
      }
    });
    if (failed)
      return signalPassFailure();
    if (results.empty())
      return;
    // A check inside a kiln.if or kiln.loop reaches @main's return as a
    // result of each op around it.
    Region &top = main.getBody();
    // Rebuilding an op replaces the checks already threaded out of it.
    for (size_t i = 0; i < results.size(); ++i)
      while (results[i].getParentRegion() != &top) {
        Value r = results[i];
        Operation *around = r.getParentRegion()->getParentOp();
        if (auto loop = dyn_cast<LoopOp>(around))
          results[i] = ThreadOutOfLoop(loop, r, results);
        else if (auto branch = dyn_cast<IfOp>(around))
          results[i] = ThreadOutOfIf(branch, r, results);
        else
          break; // Not made by this pass's walk (no such op holds checks).
      }
    auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
    ret->insertOperands(ret.getNumOperands(), results);
    SmallVector<Type> resultTypes(main.getResultTypes());
    for (Value r : results)
      resultTypes.push_back(r.getType());
    // The fetches' result attributes stay; the checks' results have none.
    SmallVector<DictionaryAttr> resultAttrs;
    main.getAllResultAttrs(resultAttrs);
    main.setType(
        FunctionType::get(&getContext(), main.getArgumentTypes(), resultTypes));
    resultAttrs.resize(resultTypes.size(), DictionaryAttr::get(&getContext()));
    main.setAllResultAttrs(resultAttrs);
    main->setAttr(KilnDialect::kChecksAttr,
                  ArrayAttr::get(&getContext(), messages));
  }
};

} // namespace
} // namespace kiln
