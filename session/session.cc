//===- session.cc - Run a graph with feeds and fetches --------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "session/session.h"

#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "codegen/cpu/Jit.h"
#include "graph/importer.h"
#include "graph/source.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "passes/Pipeline.h"

namespace kiln {
namespace {

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

std::string TypeString(DType dtype, const std::vector<int64_t> &shape) {
  return DTypeName(dtype) + ShapeToString(shape);
}

} // namespace

struct Session::Compiled {
  std::unique_ptr<CpuExecutable> executable;
  std::vector<TensorSpec> feeds;
  std::vector<TensorSpec> fetches;
};

Session::Session(std::unique_ptr<GraphSource> source, SessionOptions options)
    : source_(std::move(source)), options_(options) {}

Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>>
Session::Create(GraphDef graph, SessionOptions options) {
  return Create(MakeGraphDefSource(std::move(graph)), options);
}

absl::StatusOr<std::unique_ptr<Session>>
Session::Create(std::unique_ptr<GraphSource> source, SessionOptions options) {
  if (!source)
    return absl::InvalidArgumentError("Session::Create: null model source");
  if (options.pipeline.opt_level < 0 || options.pipeline.opt_level > 3)
    return absl::InvalidArgumentError(
        absl::StrCat("SessionOptions.pipeline.opt_level must be 0 to 3, got ",
                     options.pipeline.opt_level));
  std::unique_ptr<Session> session(new Session(std::move(source), options));
  // Check every node now, so that a bad graph fails here and not at Run.
  {
    mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
    // The importers check every node whatever the fetches, so one fetch
    // suffices (thousands of results would only slow this down).
    std::vector<std::string> fetches = session->source_->DefaultFetches();
    if (fetches.empty()) {
      std::vector<std::string> all = session->source_->AllFetchable();
      if (all.empty())
        return absl::InvalidArgumentError("invalid graph: it has no nodes");
      fetches = {all.back()};
    }
    absl::StatusOr<ImportedGraph> imported =
        session->source_->Import(fetches, context);
    if (!imported.ok())
      return imported.status();
  }
  std::vector<std::string> fetches = session->source_->DefaultFetches();
  if (!fetches.empty()) {
    absl::StatusOr<std::shared_ptr<const Compiled>> compiled =
        session->GetOrCompile(fetches);
    if (!compiled.ok())
      return compiled.status();
  }
  return session;
}

absl::StatusOr<std::unique_ptr<Session>>
Session::CreateFromFile(const std::string &path, SessionOptions options) {
  absl::StatusOr<std::unique_ptr<GraphSource>> source = LoadGraphSource(path);
  if (!source.ok())
    return source.status();
  return Create(*std::move(source), options);
}

absl::Status Session::Compile(const std::vector<std::string> &fetches) {
  return GetOrCompile(fetches).status();
}

std::vector<std::string> Session::default_fetches() const {
  return source_->DefaultFetches();
}

CompileStats Session::last_compile_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_stats_;
}

absl::StatusOr<std::shared_ptr<const Session::Compiled>>
Session::GetOrCompile(const std::vector<std::string> &fetches) {
  // Compilation holds the lock: concurrent first Runs with the same fetches
  // compile once, and MLIR contexts are not shared between threads.
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = cache_.find(fetches);
  if (it != cache_.end())
    return it->second;

  CompileStats stats;
  auto start = std::chrono::steady_clock::now();
  mlir::DialectRegistry registry;
  RegisterPipelineDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  absl::StatusOr<ImportedGraph> imported = source_->Import(fetches, context);
  if (!imported.ok())
    return imported.status();
  stats.import_ms = MillisSince(start);

  start = std::chrono::steady_clock::now();
  if (absl::Status s = RunPipeline(*imported->module, options_.pipeline);
      !s.ok())
    return s;
  stats.pipeline_ms = MillisSince(start);

  start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<CpuExecutable>> executable =
      JitCompile(*imported->module);
  if (!executable.ok())
    return executable.status();
  stats.jit_ms = MillisSince(start);

  auto compiled = std::make_shared<Compiled>();
  compiled->executable = *std::move(executable);
  compiled->feeds = std::move(imported->feeds);
  compiled->fetches = std::move(imported->fetches);
  cache_[fetches] = compiled;
  last_stats_ = stats;
  return std::shared_ptr<const Compiled>(compiled);
}

absl::Status Session::Run(const Feeds &feeds, std::vector<Tensor> *outputs) {
  std::vector<std::string> fetches = source_->DefaultFetches();
  if (fetches.empty())
    return absl::InvalidArgumentError(
        "Run without fetches: the graph's signature names no fetches");
  return Run(feeds, fetches, outputs);
}

absl::Status Session::Run(const Feeds &feeds,
                          const std::vector<std::string> &fetches,
                          std::vector<Tensor> *outputs) {
  if (outputs == nullptr)
    return absl::InvalidArgumentError("Run: outputs must not be null");
  if (fetches.empty())
    return absl::InvalidArgumentError("Run: no fetches given");

  // Every feed must name a Placeholder, once.
  std::map<std::string, const Tensor *> fed;
  for (const auto &[name, tensor] : feeds) {
    std::string why = source_->WhyNotFeedable(name);
    if (!why.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' ", why));
    if (!fed.emplace(name, &tensor).second)
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' is given twice"));
  }

  absl::StatusOr<std::shared_ptr<const Compiled>> compiled =
      GetOrCompile(fetches);
  if (!compiled.ok())
    return compiled.status();
  const Compiled &c = **compiled;

  std::vector<void *> pointers;
  for (const TensorSpec &spec : c.feeds) {
    auto it = fed.find(spec.name);
    if (it == fed.end())
      return absl::InvalidArgumentError(absl::StrCat(
          "missing feed '", spec.name, "' (",
          TypeString(spec.dtype, spec.shape), "), which the fetches need"));
    const Tensor &t = *it->second;
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      return absl::InvalidArgumentError(absl::StrCat(
          "feed '", spec.name, "': expected ",
          TypeString(spec.dtype, spec.shape), ", got ", t.TypeString()));
    if (t.raw_data() == nullptr && t.num_elements() > 0)
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", spec.name, "' has no data"));
    if (spec.in_signature)
      pointers.push_back(const_cast<void *>(t.raw_data()));
  }
  std::vector<Tensor> results;
  for (const TensorSpec &spec : c.fetches) {
    absl::StatusOr<Tensor> t = Tensor::Allocate(spec.dtype, spec.shape);
    if (!t.ok())
      return t.status();
    results.push_back(*std::move(t));
    if (spec.in_signature)
      pointers.push_back(results.back().raw_data());
  }
  std::vector<void *> args;
  for (void *&p : pointers)
    args.push_back(&p);
  c.executable->Call(args.data());
  *outputs = std::move(results);
  return absl::OkStatus();
}

} // namespace kiln
