//===- session.cc - Run a graph with feeds and fetches --------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "session/session.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "codegen/Compile.h"
#include "graph/importer.h"
#include "graph/source.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "runtime/stopwatch.h"

namespace kiln {

struct Session::Compiled {
  std::unique_ptr<Executable> executable;
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
  Stopwatch watch;
  mlir::DialectRegistry registry;
  RegisterPipelineDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  absl::StatusOr<ImportedGraph> imported = source_->Import(fetches, context);
  if (!imported.ok())
    return imported.status();
  stats.import_ms = watch.Millis();

  CompileTimings timings;
  absl::StatusOr<std::unique_ptr<Executable>> executable = kiln::Compile(
      *imported->module,
      Signature{std::move(imported->feeds), std::move(imported->fetches)},
      options_.pipeline, &timings);
  if (!executable.ok())
    return executable.status();
  stats.pipeline_ms = timings.pipeline_ms;
  stats.graph_ms = timings.phases.graph_ms;
  stats.lowering_ms = timings.phases.lowering_ms;
  stats.codegen_ms = timings.phases.codegen_ms;
  stats.jit_ms = timings.jit_ms;

  auto compiled = std::make_shared<Compiled>();
  compiled->executable = *std::move(executable);
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
  return (*compiled)->executable->Run(fed, outputs);
}

} // namespace kiln
