//===- compile_fuzzer.cc - libFuzzer target for the whole compiler --------===//
//
// Part of Kiln. Feeds arbitrary bytes to the ONNX importer as a serialized
// ModelProto and, for what imports, runs everything a user's Session does:
// the optimization pipeline, lowering, LLVM's JIT, and a run on small
// deterministic feeds (sin(i) for floats, small integers, zeros among them,
// for integers). Each model is compiled twice, with and without memory
// reuse, and run twice with reuse: all three runs must agree bit for bit
// (docs/semantics.md and the design promise deterministic results, and the
// memory plan must not change them). A model whose tensors all hold
// integers or bools is compiled once more with its inputs frozen to the
// same values, so that constant folding computes it: that must agree bit
// for bit too. A disagreement aborts, so libFuzzer records it as a
// finding.
//
// To keep each input fast, models with more than kMaxNodes nodes, or any
// tensor (initializer, input, op result) of more than kMaxElements
// elements, are skipped before anything is compiled. Run with
// tools/fuzz.sh compile.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "graph/importer.h"
#include "graph/onnx_importer.h"
#include "graph/source.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "onnx/onnx_pb.h"
#include "session/session.h"
#include "llvm/ADT/APFloat.h"

namespace {

constexpr int kMaxNodes = 24;
constexpr int64_t kMaxElements = 4096;
/// Ops in the imported module (decompositions add some per node).
constexpr int kMaxOps = 96;
constexpr const char *kNoDir = "/nonexistent-kiln-fuzz";

bool SmallDims(const google::protobuf::RepeatedField<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || d > kMaxElements)
      return false;
    n *= d;
    if (n > kMaxElements)
      return false;
  }
  return true;
}

/// Cheap checks on the raw model, before the importer runs.
bool SmallModel(const onnx::ModelProto &model) {
  const onnx::GraphProto &g = model.graph();
  if (g.node_size() > kMaxNodes)
    return false;
  for (const onnx::TensorProto &t : g.initializer())
    if (!SmallDims(t.dims()))
      return false;
  for (const onnx::NodeProto &n : g.node())
    for (const onnx::AttributeProto &a : n.attribute())
      if (a.has_t() && !SmallDims(a.t().dims()))
        return false;
  return true;
}

bool SmallType(mlir::Type type) {
  auto t = mlir::dyn_cast<mlir::RankedTensorType>(type);
  return !t || (t.hasStaticShape() && t.getNumElements() <= kMaxElements);
}

/// Whether every tensor in the module holds integers or bools: then
/// constant folding and the kernels must agree exactly. (Folders compute
/// transcendental float functions in double and round once, so float
/// results may differ from the kernels' in the last bit.)
bool IntegersOnly(mlir::ModuleOp module) {
  bool ints = true;
  module.walk([&](mlir::Operation *op) {
    for (mlir::Value v : op->getResults())
      if (auto t = mlir::dyn_cast<mlir::RankedTensorType>(v.getType()))
        ints &= t.getElementType().isInteger();
  });
  return ints;
}

/// Every value of the imported module is small, and there are few ops.
bool SmallModule(mlir::ModuleOp module) {
  int ops = 0;
  bool small = true;
  module.walk([&](mlir::Operation *op) {
    ++ops;
    for (mlir::Type t : op->getResultTypes())
      small &= SmallType(t);
    for (mlir::Region &r : op->getRegions())
      for (mlir::Block &b : r)
        for (mlir::BlockArgument a : b.getArguments())
          small &= SmallType(a.getType());
  });
  return small && ops <= kMaxOps;
}

uint16_t HalfBits(double v, const llvm::fltSemantics &sem) {
  llvm::APFloat f(v);
  bool lost;
  f.convert(sem, llvm::APFloat::rmNearestTiesToEven, &lost);
  return static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
}

/// sin(i + 1) for floats, (i % 7) - 3 for signed integers (so zeros and
/// negative values occur), i % 7 for unsigned ones, i % 2 for bools.
kiln::Tensor Feed(const kiln::TensorSpec &spec) {
  kiln::Tensor t = *kiln::Tensor::Allocate(spec.dtype, spec.shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    double f = std::sin(double(i + 1));
    int64_t s = i % 7 - 3, u = i % 7;
    switch (spec.dtype) {
    case kiln::DType::kF32:
      t.data<float>()[i] = float(f);
      break;
    case kiln::DType::kF64:
      t.data<double>()[i] = f;
      break;
    case kiln::DType::kF16:
      t.data<uint16_t>()[i] = HalfBits(f, llvm::APFloat::IEEEhalf());
      break;
    case kiln::DType::kBF16:
      t.data<uint16_t>()[i] = HalfBits(f, llvm::APFloat::BFloat());
      break;
    case kiln::DType::kI8:
      t.data<int8_t>()[i] = int8_t(s);
      break;
    case kiln::DType::kI16:
      t.data<int16_t>()[i] = int16_t(s);
      break;
    case kiln::DType::kI32:
      t.data<int32_t>()[i] = int32_t(s);
      break;
    case kiln::DType::kI64:
      t.data<int64_t>()[i] = s;
      break;
    case kiln::DType::kBool:
      t.data<uint8_t>()[i] = uint8_t(i % 2);
      break;
    case kiln::DType::kU8:
      t.data<uint8_t>()[i] = uint8_t(u);
      break;
    case kiln::DType::kU16:
      t.data<uint16_t>()[i] = uint16_t(u);
      break;
    case kiln::DType::kU32:
      t.data<uint32_t>()[i] = uint32_t(u);
      break;
    case kiln::DType::kU64:
      t.data<uint64_t>()[i] = uint64_t(u);
      break;
    case kiln::DType::kInvalid:
      break;
    }
  }
  return t;
}

/// KILN_FUZZ_VERBOSE=1 says what became of each input (on stderr).
void Note(const std::string &what) {
  static const bool verbose = std::getenv("KILN_FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "compile_fuzzer: %s\n", what.c_str());
}

[[noreturn]] void Fail(const std::string &what) {
  std::fprintf(stderr, "compile_fuzzer: %s\n", what.c_str());
  std::abort();
}

/// Compiles the model and runs it on `feeds`; false when the model is
/// refused (cleanly, with an error), which is not a finding. With `frozen`,
/// the feeds are frozen into the model as constants instead, so that
/// constant folding computes what the kernels compute otherwise.
bool CompileAndRun(const std::string &bytes, bool reuse_memory,
                   const kiln::Session::Feeds &feeds, int runs,
                   std::vector<std::vector<kiln::Tensor>> *outputs,
                   bool frozen = false) {
  absl::StatusOr<std::unique_ptr<kiln::GraphSource>> source =
      kiln::ParseOnnxSource(bytes, kNoDir, "fuzz.onnx");
  if (!source.ok())
    Fail("the model parsed once but not twice");
  if (frozen)
    for (const auto &[name, value] : feeds)
      if (absl::Status s = (*source)->Freeze(name, value); !s.ok())
        Fail("cannot freeze feed '" + name + "': " + std::string(s.message()));
  kiln::SessionOptions options;
  options.pipeline.reuse_memory = reuse_memory;
  absl::StatusOr<std::unique_ptr<kiln::Session>> session =
      kiln::Session::Create(*std::move(source), options);
  if (!session.ok()) {
    Note("refused: " + std::string(session.status().message()));
    return false;
  }
  for (int r = 0; r < runs; ++r) {
    outputs->emplace_back();
    // The feeds match the imported signature, so Run must not refuse them;
    // their values may break a run-time check (an index out of range, a
    // divisor of 0), which is an answer, not a finding.
    if (absl::Status s = (*session)->Run(
            frozen ? kiln::Session::Feeds{} : feeds, &outputs->back());
        !s.ok()) {
      if (s.code() == absl::StatusCode::kOutOfRange && !frozen) {
        Note("run-time check: " + std::string(s.message()));
        return false;
      }
      Fail("Run refused the feeds of the model's own signature: " +
           std::string(s.message()));
    }
  }
  return true;
}

void ExpectSame(const std::vector<kiln::Tensor> &a,
                const std::vector<kiln::Tensor> &b, const char *what) {
  if (a.size() != b.size())
    Fail(std::string(what) + ": different numbers of outputs");
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].TypeString() != b[k].TypeString() ||
        a[k].size_bytes() != b[k].size_bytes() ||
        (a[k].size_bytes() > 0 &&
         std::memcmp(a[k].raw_data(), b[k].raw_data(), a[k].size_bytes())))
      Fail(std::string(what) + ": output " + std::to_string(k) + " is " +
           a[k].ValuesString() + " in one and " + b[k].ValuesString() +
           " in the other");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes) || !SmallModel(model))
    return 0;
  absl::StatusOr<std::unique_ptr<kiln::GraphSource>> source =
      kiln::ParseOnnxSource(bytes, kNoDir, "fuzz.onnx");
  if (!source.ok()) {
    Note("not parsed: " + std::string(source.status().message()));
    return 0;
  }
  if ((*source)->DefaultFetches().empty())
    return 0;
  kiln::Session::Feeds feeds;
  bool integers_only;
  {
    mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
    absl::StatusOr<kiln::ImportedGraph> imported =
        (*source)->Import({}, context);
    if (!imported.ok()) {
      Note("not imported: " + std::string(imported.status().message()));
      return 0;
    }
    if (!SmallModule(*imported->module)) {
      Note("skipped: too large");
      return 0;
    }
    for (const kiln::TensorSpec &spec : imported->feeds)
      feeds.emplace_back(spec.name, Feed(spec));
    integers_only = IntegersOnly(*imported->module);
  }
  std::vector<std::vector<kiln::Tensor>> planned, unplanned;
  if (!CompileAndRun(bytes, /*reuse_memory=*/true, feeds, 2, &planned))
    return 0;
  ExpectSame(planned[0], planned[1], "two runs of one compilation");
  if (!CompileAndRun(bytes, /*reuse_memory=*/false, feeds, 1, &unplanned))
    Fail("the model compiles with memory reuse but not without");
  ExpectSame(planned[0], unplanned[0], "memory reuse on and off");
  if (integers_only && !feeds.empty()) {
    std::vector<std::vector<kiln::Tensor>> folded;
    if (!CompileAndRun(bytes, /*reuse_memory=*/true, feeds, 1, &folded,
                       /*frozen=*/true))
      Fail("the model compiles with its inputs fed but not frozen");
    ExpectSame(planned[0], folded[0], "inputs fed and frozen");
  }
  Note("compiled and ran " + std::to_string(feeds.size()) + " feeds, " +
       std::to_string(planned[0].size()) + " fetches");
  return 0;
}
