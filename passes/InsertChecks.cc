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

std::string WithValue(const std::string &message, int64_t value) {
  std::string out = message;
  if (size_t at = out.find("{value}"); at != std::string::npos)
    out.replace(at, 7, std::to_string(value));
  return out;
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
      // Inside a kiln.if or kiln.loop a check's result could not reach
      // @main's return: those ops' rules are not checked (their kernels
      // still never read or write out of bounds).
      if (op->getParentOfType<IfOp>() || op->getParentOfType<LoopOp>())
        return;
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
