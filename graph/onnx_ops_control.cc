//===- onnx_ops_control.cc - ONNX control flow ----------------------------===//
//
// Part of Kiln. If, Loop and Scan.
//
// An If whose condition is known at compile time (a constant, or computed
// from inputs frozen with graph-compile --freeze or GraphSource::Freeze)
// imports the branch taken in the If's place; the other never is. On a
// condition known only at run time it becomes a kiln.if whose regions hold
// the two branches. Loop and Scan become a kiln.loop (of trip count -1
// for a Loop whose M is not known at compile time: an scf.while): its
// body is the Loop's body, or, for a Scan, the body reading each scan
// input's slice for the iteration (a Gather at the iteration number) and
// stacking its scan outputs. Scan-8 nests that loop in one over its
// batch entries. Each body is
// imported into a block of its own, detached until the op that holds it
// is built, since the op's result types are known only then.
//
//===----------------------------------------------------------------------===//
#include "absl/strings/str_cat.h"
#include "graph/importer.h"
#include "graph/onnx_ops.h"
#include "graph/op_table.h"
#include "mlir/IR/Matchers.h"
#include "runtime/tensor.h"

namespace kiln {

using mlir::FailureOr;
using namespace onnx_ops;

namespace {

using Attr = onnx::AttributeProto;

using mlir::Value;

mlir::RankedTensorType typeOf(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// Whether control flow can carry `v`: a static shape (Kiln plans every
/// buffer before the run), of any element type.
bool carriable(NodeContext &ctx, mlir::Value v, const std::string &what) {
  if (!typeOf(v).hasStaticShape()) {
    ctx.unsupported(absl::StrCat(what, " is ", TypeString(v.getType()),
                                 ": control flow carries static shapes"));
    return false;
  }
  return true;
}

/// Imports `graph` into a new detached block with arguments of
/// `argTypes` bound to its inputs; the block and the outputs, or failure.
FailureOr<std::pair<mlir::Block *, Values>>
importBody(NodeContext &ctx, const onnx::GraphProto &graph,
           mlir::TypeRange argTypes,
           llvm::function_ref<FailureOr<Values>(mlir::Block *)> inputs) {
  auto *block = new mlir::Block();
  for (mlir::Type t : argTypes)
    block->addArgument(t, ctx.loc());
  mlir::OpBuilder::InsertionGuard guard(ctx.builder());
  ctx.builder().setInsertionPointToStart(block);
  FailureOr<Values> bound = inputs(block);
  FailureOr<Values> outputs = mlir::failed(bound)
                                  ? FailureOr<Values>(mlir::failure())
                                  : ctx.importSubgraph(graph, *bound);
  if (mlir::failed(outputs)) {
    block->dropAllDefinedValueUses();
    delete block;
    return mlir::failure();
  }
  return std::make_pair(block, *outputs);
}

/// Ends `block` with a kiln.yield of `values`.
void yieldFrom(NodeContext &ctx, mlir::Block *block, mlir::ValueRange values) {
  mlir::OpBuilder::InsertionGuard guard(ctx.builder());
  ctx.builder().setInsertionPointToEnd(block);
  ctx.builder().create<YieldOp>(ctx.loc(), values);
}

/// An If on a condition known only at run time: a kiln.if.
FailureOr<Values> convertRuntimeIf(NodeContext &ctx) {
  if (typeOf(ctx.input(0)).getNumElements() != 1 ||
      !typeOf(ctx.input(0)).getElementType().isInteger(1)) {
    ctx.error("the condition must hold one bool");
    return mlir::failure();
  }
  FailureOr<Value> cond = ctx.input(0);
  if (typeOf(*cond).getRank() != 0)
    cond = ctx.reshape(ctx.input(0), {});
  if (mlir::failed(cond))
    return mlir::failure();
  std::pair<mlir::Block *, Values> branches[2] = {{nullptr, {}}, {nullptr, {}}};
  auto cleanup = [&] {
    for (auto &b : branches)
      if (b.first) {
        b.first->dropAllDefinedValueUses();
        delete b.first;
        b.first = nullptr;
      }
  };
  const char *names[2] = {"then_branch", "else_branch"};
  for (int i = 0; i < 2; ++i) {
    const Attr *graph = ctx.attr(names[i], Attr::GRAPH);
    if (!graph) {
      if (!ctx.reported())
        ctx.error(absl::StrCat("missing attribute '", names[i], "'"));
      cleanup();
      return mlir::failure();
    }
    auto body = importBody(ctx, graph->g(), {}, [](mlir::Block *) {
      return FailureOr<Values>(Values{});
    });
    if (mlir::failed(body)) {
      ctx.unsupported(absl::StrCat("its ", names[i], " cannot be compiled"));
      cleanup();
      return mlir::failure();
    }
    branches[i] = *body;
  }
  Values &thenOut = branches[0].second, &elseOut = branches[1].second;
  if (thenOut.size() != static_cast<size_t>(ctx.node().output_size()) ||
      elseOut.size() != thenOut.size()) {
    ctx.error(absl::StrCat("its branches have ", thenOut.size(), " and ",
                           elseOut.size(), " outputs; the If has ",
                           ctx.node().output_size()));
    cleanup();
    return mlir::failure();
  }
  llvm::SmallVector<mlir::Type> types;
  for (size_t k = 0; k < thenOut.size(); ++k) {
    if (thenOut[k].getType() != elseOut[k].getType()) {
      ctx.unsupported(absl::StrCat(
          "output ", k, " is ", TypeString(thenOut[k].getType()),
          " in then_branch and ", TypeString(elseOut[k].getType()),
          " in else_branch: Kiln compiles static shapes, so both branches "
          "must give one type"));
      cleanup();
      return mlir::failure();
    }
    if (!carriable(ctx, thenOut[k], absl::StrCat("output ", k))) {
      cleanup();
      return mlir::failure();
    }
    types.push_back(thenOut[k].getType());
  }
  for (auto &b : branches)
    yieldFrom(ctx, b.first, b.second);
  auto op = ctx.builder().create<IfOp>(ctx.loc(), types, *cond);
  op.getThenRegion().push_back(branches[0].first);
  op.getElseRegion().push_back(branches[1].first);
  return Values(op.getResults());
}

FailureOr<Values> convertIf(NodeContext &ctx) {
  std::optional<mlir::DenseElementsAttr> cond = ctx.constantInput(0);
  if (!cond)
    return convertRuntimeIf(ctx);
  if (cond->getNumElements() != 1 || !cond->getElementType().isInteger(1)) {
    ctx.error("the condition must hold one bool");
    return mlir::failure();
  }
  bool taken = *cond->getValues<bool>().begin();
  const char *branch = taken ? "then_branch" : "else_branch";
  const Attr *graph = ctx.attr(branch, Attr::GRAPH);
  if (!graph) {
    if (!ctx.reported())
      ctx.error(absl::StrCat("missing attribute '", branch, "'"));
    return mlir::failure();
  }
  FailureOr<Values> outputs = ctx.importSubgraph(graph->g());
  if (mlir::failed(outputs)) {
    // Its nodes said why.
    ctx.unsupported(absl::StrCat("its ", branch, " cannot be compiled"));
    return mlir::failure();
  }
  if (outputs->size() != static_cast<size_t>(ctx.node().output_size())) {
    ctx.error(absl::StrCat(branch, " has ", outputs->size(),
                           " outputs; the If has ", ctx.node().output_size()));
    return mlir::failure();
  }
  return outputs;
}

/// A constant bool tensor<i1>.
Value constantBool(NodeContext &ctx, bool v) {
  auto type = mlir::RankedTensorType::get({}, ctx.builder().getI1Type());
  return ctx.constant(mlir::DenseElementsAttr::get(type, v));
}

bool isConstantTrue(Value v) {
  mlir::DenseElementsAttr attr;
  return mlir::matchPattern(v, mlir::m_Constant(&attr)) &&
         attr.getNumElements() == 1 && attr.getElementType().isInteger(1) &&
         *attr.getValues<bool>().begin();
}

/// The kiln.loop of a Loop or Scan whose body (already imported into
/// `block`, arguments iteration, condition, carried) gave `condOut`,
/// `carriedOut` and `scanOut`; checks what the body gave and yields it.
FailureOr<LoopOp> buildLoop(NodeContext &ctx, mlir::Block *block, int64_t trips,
                            Value cond, mlir::ValueRange inits, Value condOut,
                            mlir::ValueRange carriedOut,
                            mlir::ValueRange scanOut, bool mayStop) {
  auto fail = [&]() -> FailureOr<LoopOp> {
    block->dropAllDefinedValueUses();
    delete block;
    return mlir::failure();
  };
  llvm::SmallVector<mlir::Type> types;
  for (size_t k = 0; k < inits.size(); ++k) {
    if (carriedOut[k].getType() != inits[k].getType()) {
      ctx.unsupported(absl::StrCat(
          "loop-carried value ", k, " goes in as ",
          TypeString(inits[k].getType()), " and comes out of the body as ",
          TypeString(carriedOut[k].getType()),
          ": Kiln compiles static shapes, so it must keep its type"));
      return fail();
    }
    types.push_back(inits[k].getType());
  }
  if (!scanOut.empty() && mayStop) {
    ctx.unsupported("its scan outputs would have as many entries as the loop "
                    "runs iterations, which is decided at run time (by its "
                    "condition, or by a trip count not known at compile "
                    "time); Kiln compiles static shapes: a Loop can have "
                    "scan outputs when its trip count is known at compile "
                    "time (a constant, or an input frozen with --freeze) "
                    "and its condition stays true (a constant, or passed "
                    "through by the body)");
    return fail();
  }
  for (auto [k, v] : llvm::enumerate(scanOut)) {
    if (!carriable(ctx, v, absl::StrCat("scan output ", k)))
      return fail();
    llvm::SmallVector<int64_t> shape = {trips};
    shape.append(typeOf(v).getShape().begin(), typeOf(v).getShape().end());
    types.push_back(
        mlir::RankedTensorType::get(shape, typeOf(v).getElementType()));
  }
  llvm::SmallVector<Value> yielded = {condOut};
  yielded.append(carriedOut.begin(), carriedOut.end());
  yielded.append(scanOut.begin(), scanOut.end());
  yieldFrom(ctx, block, yielded);
  auto op = ctx.builder().create<LoopOp>(
      ctx.loc(), types, cond, inits, ctx.builder().getI64IntegerAttr(trips));
  op.getBody().push_back(block);
  return op;
}

/// Loop: a kiln.loop with M as its trip count when M is known at compile
/// time (up to 2^31), or without one (-1) otherwise, M then joining the
/// condition; the condition may be computed at run time.
FailureOr<Values> convertLoop(NodeContext &ctx) {
  // The trip count: known at compile time (an scf.for), or known only at
  // run time (then part of the condition), or absent (-1 both ways: the
  // loop runs while its condition holds).
  int64_t trips = -1;
  Value runTimeTrips;
  if (Value m = ctx.input(0)) {
    if (typeOf(m).getNumElements() != 1 ||
        !typeOf(m).getElementType().isInteger(64)) {
      ctx.error("the trip count M must hold one int64");
      return mlir::failure();
    }
    FailureOr<double> given = ctx.constantInput(0)
                                  ? ctx.constantScalar(0, "M (the trip count)")
                                  : FailureOr<double>(-1.0);
    if (mlir::failed(given))
      return mlir::failure();
    // A huge constant M (INT64_MAX with a condition: how exporters write a
    // while loop) bounds the loop like one known only at run time.
    if (ctx.constantInput(0) &&
        *given <= static_cast<double>(int64_t{1} << 31)) {
      // A negative trip count runs no iteration (as ONNX Runtime does).
      trips = std::max<int64_t>(0, static_cast<int64_t>(*given));
    } else {
      runTimeTrips = m;
      if (typeOf(m).getRank() != 0) {
        FailureOr<Value> scalar = ctx.reshape(m, {});
        if (mlir::failed(scalar))
          return mlir::failure();
        runTimeTrips = *scalar;
      }
    }
  } else if (!ctx.input(1)) {
    ctx.error("has neither a trip count M nor a condition: it would run "
              "forever");
    return mlir::failure();
  }
  if (runTimeTrips && ctx.constantInput(0) && !ctx.input(1)) {
    FailureOr<llvm::SmallVector<int64_t>> m = ctx.constantInts(0, "M");
    if (mlir::succeeded(m))
      ctx.error(absl::StrCat("the trip count M is ", m->front(),
                             " and there is no condition to end the loop "
                             "sooner"));
    return mlir::failure();
  }
  Value cond = constantBool(ctx, true);
  bool mayStop = trips < 0;
  if (ctx.input(1)) {
    if (typeOf(ctx.input(1)).getNumElements() != 1 ||
        !typeOf(ctx.input(1)).getElementType().isInteger(1)) {
      ctx.error("the condition must hold one bool");
      return mlir::failure();
    }
    cond = ctx.input(1);
    if (typeOf(cond).getRank() != 0) {
      FailureOr<Value> c = ctx.reshape(cond, {});
      if (mlir::failed(c))
        return mlir::failure();
      cond = *c;
    }
    mayStop = mayStop || !isConstantTrue(cond);
  }
  auto &b = ctx.builder();
  auto i64Type = b.getI64Type();
  // A trip count known at run time: the loop runs while i < M too.
  auto withinTrips = [&](Value c, Value i) -> FailureOr<Value> {
    if (!runTimeTrips)
      return c;
    FailureOr<Value> below = ctx.build<LessOp>({i, runTimeTrips});
    if (mlir::failed(below))
      return mlir::failure();
    return ctx.build<AndOp>({c, *below});
  };
  FailureOr<Value> first = withinTrips(cond, ctx.scalar(i64Type, 0));
  if (mlir::failed(first))
    return mlir::failure();
  cond = *first;
  Values inits;
  for (size_t i = 2; i < ctx.numInputs(); ++i) {
    if (!ctx.input(i) ||
        !carriable(ctx, ctx.input(i), absl::StrCat("input ", i)))
      return mlir::failure();
    inits.push_back(ctx.input(i));
  }
  const Attr *graph = ctx.attr("body", Attr::GRAPH);
  if (!graph)
    return mlir::failure();
  llvm::SmallVector<mlir::Type> argTypes = {
      mlir::RankedTensorType::get({}, i64Type),
      mlir::RankedTensorType::get({}, b.getI1Type())};
  for (Value v : inits)
    argTypes.push_back(v.getType());
  auto body = importBody(ctx, graph->g(), argTypes, [](mlir::Block *block) {
    return FailureOr<Values>(Values(block->getArguments()));
  });
  if (mlir::failed(body)) {
    ctx.unsupported("its body cannot be compiled");
    return mlir::failure();
  }
  auto [block, outs] = *body;
  if (outs.size() < 1 + inits.size()) {
    block->dropAllDefinedValueUses();
    delete block;
    ctx.error(absl::StrCat("its body gives ", outs.size(), " outputs; it ",
                           "must give the condition and the ", inits.size(),
                           " carried values"));
    return mlir::failure();
  }
  Value condOut = outs[0];
  if (typeOf(condOut).getNumElements() != 1 ||
      !typeOf(condOut).getElementType().isInteger(1)) {
    block->dropAllDefinedValueUses();
    delete block;
    ctx.error("its body's first output must be the condition, one bool");
    return mlir::failure();
  }
  if (typeOf(condOut).getRank() != 0) {
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(block);
    FailureOr<Value> c = ctx.reshape(condOut, {});
    if (mlir::failed(c)) {
      block->dropAllDefinedValueUses();
      delete block;
      return mlir::failure();
    }
    condOut = *c;
  }
  if (runTimeTrips) {
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(block);
    FailureOr<Value> nextIteration =
        ctx.build<AddOp>({block->getArgument(0), ctx.scalar(i64Type, 1)});
    FailureOr<Value> c = mlir::failed(nextIteration)
                             ? FailureOr<Value>(mlir::failure())
                             : withinTrips(condOut, *nextIteration);
    if (mlir::failed(c)) {
      block->dropAllDefinedValueUses();
      delete block;
      return mlir::failure();
    }
    condOut = *c;
  }
  // The condition stays as it came in when the body passes it through.
  Value passed = condOut;
  while (auto copy = passed.getDefiningOp<IdentityOp>())
    passed = copy.getX();
  mayStop =
      mayStop || !(isConstantTrue(condOut) || passed == block->getArgument(1));
  mlir::ValueRange all(outs);
  FailureOr<LoopOp> loop = buildLoop(ctx, block, trips, cond, inits, condOut,
                                     all.slice(1, inits.size()),
                                     all.drop_front(1 + inits.size()), mayStop);
  if (mlir::failed(loop))
    return mlir::failure();
  return Values(loop->getResults());
}

/// Whether each of a Scan's directions is 0 (forward) or 1 (reverse);
/// reports the first that is not.
bool validDirections(NodeContext &ctx, llvm::ArrayRef<int64_t> dirs,
                     const char *name) {
  for (int64_t d : dirs)
    if (d != 0 && d != 1) {
      ctx.error(
          absl::StrCat(name, " holds ", d, "; 0 is forward, 1 is reverse"));
      return false;
    }
  return true;
}

/// The scan of `scanInputs` (along `inAxes`, reversed where `inDirs` is 1)
/// carrying `inits`: a kiln.loop over the scan axis, the body reading each
/// scan input's slice at the iteration (from the back when reversed) and
/// its scan outputs stacked, reversed and moved to their axes after.
FailureOr<Values> buildScan(NodeContext &ctx, const Values &inits,
                            const Values &scanInputs,
                            llvm::SmallVector<int64_t> inAxes,
                            llvm::ArrayRef<int64_t> inDirs) {
  int64_t states = static_cast<int64_t>(inits.size());
  int64_t scans = static_cast<int64_t>(scanInputs.size());
  auto list = [&](const char *name, int64_t count) {
    std::optional<llvm::SmallVector<int64_t>> v = ctx.getInts(name);
    return v ? *v : llvm::SmallVector<int64_t>(count, 0);
  };
  for (int64_t i = 0; i < states; ++i)
    if (!carriable(ctx, inits[i], absl::StrCat("state ", i)))
      return mlir::failure();
  int64_t trips = -1;
  for (int64_t j = 0; j < scans; ++j) {
    auto t = typeOf(scanInputs[j]);
    int64_t axis = normalizeAxis(inAxes[j], t.getRank());
    if (axis < 0) {
      ctx.error(absl::StrCat("scan input ", j, ": axis ", inAxes[j],
                             " is out of range for rank ", t.getRank()));
      return mlir::failure();
    }
    inAxes[j] = axis;
    if (trips >= 0 && t.getDimSize(axis) != trips) {
      ctx.error(absl::StrCat("scan input ", j, " has ", t.getDimSize(axis),
                             " entries along its axis; the first has ", trips));
      return mlir::failure();
    }
    trips = t.getDimSize(axis);
  }
  const Attr *graph = ctx.attr("body", Attr::GRAPH);
  if (!graph)
    return mlir::failure();
  auto &b = ctx.builder();
  auto i64Type = b.getI64Type();
  llvm::SmallVector<mlir::Type> argTypes = {
      mlir::RankedTensorType::get({}, i64Type),
      mlir::RankedTensorType::get({}, b.getI1Type())};
  for (Value v : inits)
    argTypes.push_back(v.getType());
  auto body = importBody(
      ctx, graph->g(), argTypes, [&](mlir::Block *block) -> FailureOr<Values> {
        Values bound(block->getArguments().drop_front(2));
        Value iteration = block->getArgument(0);
        for (int64_t j = 0; j < scans; ++j) {
          Value at = iteration;
          if (inDirs[j] != 0) {
            FailureOr<Value> back = ctx.build<SubOp>(
                {ctx.scalar(i64Type, static_cast<double>(trips - 1)),
                 iteration});
            if (mlir::failed(back))
              return mlir::failure();
            at = *back;
          }
          FailureOr<Value> slice = ctx.build<GatherOp>(
              {scanInputs[j], at}, {named(ctx, "axis", i64(ctx, inAxes[j]))});
          if (mlir::failed(slice))
            return mlir::failure();
          bound.push_back(*slice);
        }
        return bound;
      });
  if (mlir::failed(body)) {
    ctx.unsupported("its body cannot be compiled");
    return mlir::failure();
  }
  auto [block, outs] = *body;
  if (static_cast<int64_t>(outs.size()) < states) {
    block->dropAllDefinedValueUses();
    delete block;
    ctx.error(absl::StrCat("its body gives ", outs.size(), " outputs; it ",
                           "must give the ", states, " states first"));
    return mlir::failure();
  }
  mlir::ValueRange all(outs);
  int64_t outputs = static_cast<int64_t>(outs.size()) - states;
  llvm::SmallVector<int64_t> outAxes = list("scan_output_axes", outputs),
                             outDirs = list("scan_output_directions", outputs);
  if (static_cast<int64_t>(outAxes.size()) != outputs ||
      static_cast<int64_t>(outDirs.size()) != outputs) {
    block->dropAllDefinedValueUses();
    delete block;
    ctx.error("scan_output_axes and scan_output_directions need one value "
              "per scan output");
    return mlir::failure();
  }
  if (!validDirections(ctx, outDirs, "scan_output_directions")) {
    block->dropAllDefinedValueUses();
    delete block;
    return mlir::failure();
  }
  FailureOr<LoopOp> loop = buildLoop(
      ctx, block, trips, constantBool(ctx, true), inits, block->getArgument(1),
      all.take_front(states), all.drop_front(states), /*mayStop=*/false);
  if (mlir::failed(loop))
    return mlir::failure();
  Values results(loop->getResults().take_front(states));
  for (int64_t k = 0; k < outputs; ++k) {
    Value v = loop->getResult(states + k);
    auto t = typeOf(v);
    if (outDirs[k] != 0) {
      std::vector<int64_t> reversed(trips);
      for (int64_t i = 0; i < trips; ++i)
        reversed[i] = trips - 1 - i;
      FailureOr<Value> r =
          ctx.build<GatherOp>({v, int64Constant(ctx, reversed, {trips})},
                              {named(ctx, "axis", i64(ctx, 0))});
      if (mlir::failed(r))
        return mlir::failure();
      v = *r;
    }
    int64_t axis = normalizeAxis(outAxes[k], t.getRank());
    if (axis < 0) {
      ctx.error(absl::StrCat("scan output ", k, ": axis ", outAxes[k],
                             " is out of range for rank ", t.getRank()));
      return mlir::failure();
    }
    if (axis != 0) {
      llvm::SmallVector<int64_t> perm;
      for (int64_t d = 1; d < t.getRank(); ++d)
        perm.push_back(d);
      perm.insert(perm.begin() + axis, 0);
      FailureOr<Value> moved =
          ctx.build<TransposeOp>(v, {named(ctx, "perm", ints(ctx, perm))});
      if (mlir::failed(moved))
        return mlir::failure();
      v = *moved;
    }
    results.push_back(v);
  }
  return results;
}

/// The form of Scan's inputs: `states` leading states, then the scan
/// inputs; reports a num_scan_inputs the node cannot have.
FailureOr<int64_t> scanStates(NodeContext &ctx, int64_t first) {
  int64_t scans = ctx.getInt("num_scan_inputs", 0);
  int64_t n = static_cast<int64_t>(ctx.numInputs()) - first;
  if (scans < 1 || scans > n) {
    ctx.error(absl::StrCat("num_scan_inputs is ", scans, "; the node has ", n,
                           " state and scan inputs"));
    return mlir::failure();
  }
  for (int64_t i = first; i < first + n; ++i)
    if (!ctx.input(i)) {
      ctx.error(absl::StrCat(
          "input ", i, " (", i - first < n - scans ? "a state" : "a scan input",
          ") has no name: every state and scan input must be given"));
      return mlir::failure();
    }
  return n - scans;
}

/// One value per scan input from the list attribute `name` (zeros when
/// absent), its values 0 or 1 when `isDirection`.
FailureOr<llvm::SmallVector<int64_t>> perScanInput(NodeContext &ctx,
                                                   const char *name,
                                                   int64_t scans,
                                                   bool isDirection) {
  std::optional<llvm::SmallVector<int64_t>> v = ctx.getInts(name);
  llvm::SmallVector<int64_t> values =
      v ? *v : llvm::SmallVector<int64_t>(scans, 0);
  if (static_cast<int64_t>(values.size()) != scans) {
    ctx.error(absl::StrCat(name, " needs one value per scan input (", scans,
                           "); it has ", values.size()));
    return mlir::failure();
  }
  if (isDirection && !validDirections(ctx, values, name))
    return mlir::failure();
  return values;
}

/// Scan (opset 9 on): the scan inputs along their scan_input_axes.
FailureOr<Values> convertScan(NodeContext &ctx) {
  FailureOr<int64_t> states = scanStates(ctx, 0);
  if (mlir::failed(states))
    return mlir::failure();
  int64_t scans = static_cast<int64_t>(ctx.numInputs()) - *states;
  FailureOr<llvm::SmallVector<int64_t>> axes =
      perScanInput(ctx, "scan_input_axes", scans, false);
  FailureOr<llvm::SmallVector<int64_t>> dirs =
      perScanInput(ctx, "scan_input_directions", scans, true);
  if (mlir::failed(axes) || mlir::failed(dirs))
    return mlir::failure();
  Values inits, scanInputs;
  for (int64_t i = 0; i < *states; ++i)
    inits.push_back(ctx.input(i));
  for (int64_t j = 0; j < scans; ++j)
    scanInputs.push_back(ctx.input(*states + j));
  return buildScan(ctx, inits, scanInputs, *axes, *dirs);
}

/// Scan-8: states and scan inputs have a leading batch axis (the scan
/// axis is 1), and the body sees one batch entry: a loop over the entries
/// around the entry's scan, stacking their results along the batch axis.
/// Sequence lengths shorter than the scan axis are refused.
FailureOr<Values> convertScan8(NodeContext &ctx) {
  FailureOr<int64_t> states = scanStates(ctx, 1);
  if (mlir::failed(states))
    return mlir::failure();
  int64_t scans = static_cast<int64_t>(ctx.numInputs()) - 1 - *states;
  FailureOr<llvm::SmallVector<int64_t>> dirs =
      perScanInput(ctx, "directions", scans, true);
  if (mlir::failed(dirs))
    return mlir::failure();
  Values all;
  for (size_t i = 1; i < ctx.numInputs(); ++i)
    all.push_back(ctx.input(i));
  int64_t batch = -1, length = -1;
  for (auto [i, v] : llvm::enumerate(all)) {
    auto t = typeOf(v);
    bool scan = static_cast<int64_t>(i) >= *states;
    if (t.getRank() < (scan ? 2 : 1) ||
        (batch >= 0 && t.getDimSize(0) != batch) ||
        (scan && length >= 0 && t.getDimSize(1) != length)) {
      ctx.error(absl::StrCat(
          scan ? "scan input " : "state ", scan ? i - *states : i, " is ",
          TypeString(v.getType()),
          ": Scan-8 takes [batch, ...] states and [batch, sequence, ...] "
          "scan inputs, the same batch and sequence for all"));
      return mlir::failure();
    }
    batch = t.getDimSize(0);
    if (scan)
      length = t.getDimSize(1);
  }
  Value go = constantBool(ctx, true);
  // Kiln scans every entry whole: sequence_lens must be the full length,
  // checked now when constant and when the graph runs otherwise.
  if (Value lens = ctx.input(0)) {
    mlir::DenseIntElementsAttr given;
    if (mlir::matchPattern(lens, mlir::m_Constant(&given)) &&
        llvm::any_of(given.getValues<llvm::APInt>(), [&](const llvm::APInt &n) {
          return n.getSExtValue() != length;
        })) {
      ctx.unsupported(absl::StrCat(
          "sequence_lens other than the full length (", length,
          ") of every batch entry is not supported (Scan-8's per-entry "
          "lengths; opset 9's Scan has none)"));
      return mlir::failure();
    }
    FailureOr<Value> checked = ctx.build<InRangeOp>(
        lens, {named(ctx, "lower", i64(ctx, length)),
               named(ctx, "upper", i64(ctx, length)),
               named(ctx, "what",
                     ctx.builder().getStringAttr(
                         "sequence length (Kiln scans whole sequences)"))});
    if (mlir::failed(checked))
      return mlir::failure();
    // The entries are scanned when their lengths are whole (which the
    // check makes sure of): the loop's condition reads the checked lengths.
    FailureOr<Value> shortest =
        ctx.build<ReduceMinOp>(*checked, {named(ctx, "keepdims", i64(ctx, 0))});
    FailureOr<Value> whole =
        mlir::failed(shortest)
            ? FailureOr<Value>(mlir::failure())
            : ctx.build<EqualOp>(
                  {*shortest, ctx.scalar(typeOf(*shortest).getElementType(),
                                         static_cast<double>(length))});
    if (mlir::failed(whole))
      return mlir::failure();
    go = *whole;
  }
  // One kiln.loop over the batch entries, its body the entry's scan (a
  // kiln.loop of its own) and its scan outputs the entry's results.
  auto &b = ctx.builder();
  auto *block = new mlir::Block();
  block->addArgument(mlir::RankedTensorType::get({}, b.getI64Type()),
                     ctx.loc());
  block->addArgument(mlir::RankedTensorType::get({}, b.getI1Type()), ctx.loc());
  FailureOr<Values> results = [&]() -> FailureOr<Values> {
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(block);
    Values inits, scanInputs;
    for (auto [i, v] : llvm::enumerate(all)) {
      FailureOr<Value> entry = ctx.build<GatherOp>(
          {v, block->getArgument(0)}, {named(ctx, "axis", i64(ctx, 0))});
      if (mlir::failed(entry))
        return mlir::failure();
      (static_cast<int64_t>(i) < *states ? inits : scanInputs)
          .push_back(*entry);
    }
    return buildScan(ctx, inits, scanInputs,
                     llvm::SmallVector<int64_t>(scans, 0), *dirs);
  }();
  if (mlir::failed(results)) {
    block->dropAllDefinedValueUses();
    delete block;
    return mlir::failure();
  }
  FailureOr<LoopOp> loop =
      buildLoop(ctx, block, batch, go, {}, block->getArgument(1), {}, *results,
                /*mayStop=*/false);
  if (mlir::failed(loop))
    return mlir::failure();
  return Values(loop->getResults());
}

} // namespace

void RegisterControlOnnxOps(OnnxRegistry &r) {
  //       op type  since  converter   inputs  required attributes
  r.onOp("If", 1, convertIf, 1, 1, {"then_branch", "else_branch"});
  r.onOp("Loop", 1, convertLoop, 2, kVariadic, {"body"});
  // Scan-8 had a batch axis and sequence lengths, which opset 9 dropped.
  r.onOp("Scan", 1, convertScan8, 2, kVariadic, {"body", "num_scan_inputs"});
  r.onOp("Scan", 9, convertScan, 1, kVariadic, {"body", "num_scan_inputs"});
}

} // namespace kiln
