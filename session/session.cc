//===- session.cc - Run a graph with feeds and fetches --------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "session/session.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "codegen/Compile.h"
#include "codegen/Pipeline.h"
#include "codegen/TargetBackend.h"
#include "graph/importer.h"
#include "graph/source.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "runtime/artifact.h"
#include "runtime/hash.h"
#include "runtime/stopwatch.h"
#include "runtime/thread_pool.h"
#include "runtime/version.h"
#include "llvm/Support/FileSystem.h"

namespace kiln {

struct Session::Compiled {
  std::unique_ptr<Executable> executable;
  uint64_t order = 0; ///< Its place among the Session's compiles.
};

Session::Session(std::unique_ptr<GraphSource> source, SessionOptions options)
    : source_(std::move(source)), options_(options) {
  if (source_) {
    declared_ = source_->DeclaredInputs();
    base_shapes_ = source_->input_shapes();
  }
  int threads =
      options_.threads > 0
          ? options_.threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads > 1)
    pool_ = std::make_shared<ThreadPool>(threads);
}

Session::~Session() = default;

namespace {

absl::Status CheckThreads(const SessionOptions &options) {
  if (options.threads < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("SessionOptions.threads must be 0 (one per core) or "
                     "more, got ",
                     options.threads));
  return absl::OkStatus();
}

} // namespace

std::shared_ptr<Session::Compiled>
Session::Adopt(std::unique_ptr<Executable> executable) const {
  executable->set_thread_pool(pool_);
  executable->set_profiling(options_.profile);
  auto compiled = std::make_shared<Compiled>();
  compiled->executable = std::move(executable);
  return compiled;
}

absl::StatusOr<std::unique_ptr<Session>>
Session::Create(GraphDef graph, SessionOptions options) {
  return Create(MakeGraphDefSource(std::move(graph)), options);
}

absl::StatusOr<std::unique_ptr<Session>>
Session::Create(std::unique_ptr<GraphSource> source, SessionOptions options) {
  if (!source)
    return absl::InvalidArgumentError("Session::Create: null model source");
  if (absl::Status s = CheckThreads(options); !s.ok())
    return s;
  if (options.max_specializations < 1)
    return absl::InvalidArgumentError(
        absl::StrCat("SessionOptions.max_specializations must be at least 1, "
                     "got ",
                     options.max_specializations));
  if (options.pipeline.opt_level < 0 || options.pipeline.opt_level > 3)
    return absl::InvalidArgumentError(
        absl::StrCat("SessionOptions.pipeline.opt_level must be 0 to 3, got ",
                     options.pipeline.opt_level));
  if (!options.cache_dir.empty()) {
    if (std::error_code e =
            llvm::sys::fs::create_directories(options.cache_dir))
      return absl::InvalidArgumentError(absl::StrCat(
          "cache_dir: cannot create '", options.cache_dir, "': ", e.message()));
    if (!llvm::sys::fs::is_directory(options.cache_dir))
      return absl::InvalidArgumentError(absl::StrCat(
          "cache_dir: '", options.cache_dir, "' is not a directory"));
  }
  std::unique_ptr<Session> session(new Session(std::move(source), options));
  // A model found in the compilation cache was checked when it was
  // compiled.
  if (!options.cache_dir.empty() && !session->default_fetches().empty() &&
      !session->source_->HasUnknownShapes()) {
    std::vector<std::string> fetches = session->default_fetches();
    CompileStats stats;
    std::string path;
    absl::StatusOr<std::unique_ptr<Executable>> executable =
        session->LoadCached(fetches, stats, &path);
    if (!executable.ok())
      return executable.status();
    if (*executable) {
      session->cache_[{fetches, ""}] = session->Adopt(*std::move(executable));
      session->last_stats_ = stats;
      return session;
    }
  }
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
    // Unknown dimensions are no error: Run compiles for the fed shapes.
    if (!imported.ok() && !OnlyUnknownDimensions(imported.status()))
      return imported.status();
  }
  std::vector<std::string> fetches = session->source_->DefaultFetches();
  if (!fetches.empty() && !session->source_->HasUnknownShapes()) {
    absl::StatusOr<std::shared_ptr<const Compiled>> compiled =
        session->GetOrCompile(fetches);
    if (!compiled.ok())
      return compiled.status();
  }
  return session;
}

absl::StatusOr<std::unique_ptr<Session>>
Session::CreateFromFile(const std::string &path, SessionOptions options) {
  if (IsArtifactFile(path)) {
    Stopwatch watch;
    absl::StatusOr<std::unique_ptr<Executable>> executable =
        LoadArtifactFile(path);
    if (!executable.ok())
      return executable.status();
    if (absl::Status s = CheckThreads(options); !s.ok())
      return s;
    std::unique_ptr<Session> session(new Session(nullptr, options));
    session->artifact_ = session->Adopt(*std::move(executable));
    session->last_stats_.load_ms = watch.Millis();
    return session;
  }
  absl::StatusOr<std::unique_ptr<GraphSource>> source = LoadGraphSource(path);
  if (!source.ok())
    return source.status();
  return Create(*std::move(source), options);
}

absl::Status Session::Compile(const std::vector<std::string> &fetches) {
  return GetOrCompile(fetches).status();
}

std::vector<std::string> Session::default_fetches() const {
  if (!artifact_)
    return source_->DefaultFetches();
  std::vector<std::string> names;
  for (const TensorSpec &spec : artifact_->executable->signature().fetches)
    names.push_back(spec.name);
  return names;
}

CompileStats Session::last_compile_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_stats_;
}

std::string Session::Profile() const {
  if (!options_.profile)
    return "";
  std::lock_guard<std::mutex> lock(mutex_);
  std::string text;
  for (const Executable *executable : ProfiledExecutables())
    text += executable->ProfileString();
  return text;
}

std::vector<const Executable *> Session::ProfiledExecutables() const {
  // Those no Run used (the default fetches, compiled when the Session was
  // created, when the runs fetch others) have nothing to show.
  std::vector<const Executable *> executables;
  if (artifact_ && artifact_->executable->ProfiledRuns() > 0)
    executables.push_back(artifact_->executable.get());
  for (const auto &[fetches, compiled] : cache_)
    if (compiled->executable->ProfiledRuns() > 0)
      executables.push_back(compiled->executable.get());
  return executables;
}

std::string Session::ProfileTrace() const {
  if (!options_.profile)
    return "";
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const Executable *> executables = ProfiledExecutables();
  std::string text = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  for (size_t i = 0; i < executables.size(); ++i) {
    if (i > 0)
      text += ",\n";
    text += executables[i]->TraceEvents(static_cast<int>(i) + 1);
  }
  text += "\n]}\n";
  return text;
}

namespace {

/// A fetch's name without the ":0" of a node's first output.
std::string_view FetchName(std::string_view name) {
  if (name.size() > 2 && name.substr(name.size() - 2) == ":0")
    name.remove_suffix(2);
  return name;
}

/// Whether fetches `a` and `b` name the same tensor.
bool SameFetch(const std::string &a, const std::string &b) {
  return FetchName(a) == FetchName(b);
}

std::string Names(const std::vector<TensorSpec> &specs) {
  std::vector<std::string> names;
  for (const TensorSpec &spec : specs)
    names.push_back(spec.name);
  return absl::StrJoin(names, ", ");
}

/// The compilation cache's key: everything the artifact depends on.
absl::StatusOr<std::string> CacheKey(const GraphSource &source,
                                     const std::vector<std::string> &fetches,
                                     const PipelineOptions &options) {
  const TargetBackend *backend = FindTargetBackend(options.target);
  if (!backend)
    return absl::InvalidArgumentError("unknown target '" + options.target +
                                      "'");
  absl::StatusOr<TargetDescription> target = backend->describeTarget(options);
  if (!target.ok())
    return target.status();
  Hasher hasher;
  hasher.Add(kKilnVersion).Add(int64_t{kArtifactFormatVersion});
  hasher.Add(source.Fingerprint());
  hasher.Add(static_cast<int64_t>(fetches.size()));
  for (const std::string &f : fetches)
    hasher.Add(f);
  hasher.Add(int64_t{options.opt_level}).Add(options.max_fold_bytes);
  hasher.Add(int64_t{options.reuse_memory});
  hasher.Add(int64_t{options.gpu_libraries});
  hasher.Add(int64_t{options.allow_tf32});
  for (const std::string &p : options.disabled_passes)
    hasher.Add("-" + p);
  hasher.Add(target->backend).Add(target->triple).Add(target->cpu);
  for (const std::string &f : target->features)
    hasher.Add("+" + f);
  return hasher.HexDigest();
}

/// Writes `artifact` to `path` through a temporary file and a rename, so
/// that a concurrent reader never sees half a file.
absl::Status WriteAtomically(const Artifact &artifact,
                             const std::string &path) {
  static std::atomic<int> counter{0};
  std::string temp =
      absl::StrCat(path, ".tmp.", getpid(), ".", counter.fetch_add(1));
  if (absl::Status s = WriteArtifactFile(artifact, temp); !s.ok()) {
    llvm::sys::fs::remove(temp);
    return s;
  }
  if (std::error_code e = llvm::sys::fs::rename(temp, path)) {
    llvm::sys::fs::remove(temp);
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write '", path, "': ", e.message()));
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<std::unique_ptr<Executable>>
Session::LoadCached(const std::vector<std::string> &fetches,
                    CompileStats &stats, std::string *path) {
  absl::StatusOr<std::string> key =
      CacheKey(*source_, fetches, options_.pipeline);
  if (!key.ok())
    return key.status();
  *path = absl::StrCat(options_.cache_dir, "/", *key, kArtifactExtension);
  if (!llvm::sys::fs::exists(*path))
    return nullptr;
  Stopwatch watch;
  absl::StatusOr<std::unique_ptr<Executable>> executable =
      LoadArtifactFile(*path);
  // A damaged or foreign entry is compiled again and replaced.
  if (!executable.ok())
    return nullptr;
  stats.from_cache = true;
  stats.load_ms = watch.Millis();
  return executable;
}

absl::StatusOr<std::unique_ptr<Executable>>
Session::CompileOrLoad(const std::vector<std::string> &fetches,
                       CompileStats &stats) {
  std::string cached;
  if (!options_.cache_dir.empty()) {
    absl::StatusOr<std::unique_ptr<Executable>> executable =
        LoadCached(fetches, stats, &cached);
    if (!executable.ok() || *executable)
      return executable;
  }

  Stopwatch watch;
  mlir::DialectRegistry registry;
  RegisterPipelineDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  absl::StatusOr<ImportedGraph> imported = source_->Import(fetches, context);
  if (!imported.ok())
    return imported.status();
  stats.import_ms = watch.Millis();

  CompileTimings timings;
  absl::StatusOr<Artifact> artifact = kiln::CompileToArtifact(
      *imported->module,
      Signature{std::move(imported->feeds), std::move(imported->fetches)},
      options_.pipeline, &timings);
  if (!artifact.ok())
    return artifact.status();
  stats.pipeline_ms = timings.pipeline_ms;
  stats.graph_ms = timings.phases.graph_ms;
  stats.lowering_ms = timings.phases.lowering_ms;
  stats.codegen_ms = timings.phases.codegen_ms;
  stats.llvm_ms = timings.llvm_ms;
  stats.link_ms = timings.link_ms;
  // A cache that cannot be written (read-only, full) costs the next start
  // a compile, not this one its result.
  if (!cached.empty())
    if (absl::Status s = WriteAtomically(*artifact, cached); !s.ok())
      stats.cache_warning = absl::StrCat("compilation cache: ", s.message());
  watch.Restart();
  absl::StatusOr<std::unique_ptr<Executable>> executable =
      LoadArtifact(*std::move(artifact));
  stats.load_ms = watch.Millis();
  return executable;
}

absl::StatusOr<std::shared_ptr<const Session::Compiled>>
Session::GetOrCompile(const std::vector<std::string> &fetches,
                      const Shapes &shapes) {
  if (artifact_) {
    const std::vector<TensorSpec> &compiled =
        artifact_->executable->signature().fetches;
    for (const std::string &f : fetches)
      if (std::none_of(
              compiled.begin(), compiled.end(),
              [&](const TensorSpec &s) { return SameFetch(s.name, f); }))
        return absl::InvalidArgumentError(absl::StrCat(
            "fetch '", f, "' is not one the artifact was compiled for (",
            Names(compiled), "); compile the model with --fetch ", f));
    return artifact_;
  }
  // Compilation holds the lock: concurrent first Runs with the same fetches
  // compile once, and MLIR contexts are not shared between threads.
  std::lock_guard<std::mutex> lock(mutex_);
  std::string key = ShapesKey(shapes);
  auto it = cache_.find({fetches, key});
  if (it != cache_.end())
    return it->second;

  // The specialization: the source imports with the fed shapes too. An
  // input with unknown dimensions that was not fed gets size 1 there: if
  // the fetches need it, Run reports it missing; if not, it drops out.
  Shapes specialized = base_shapes_;
  specialized.insert(shapes.begin(), shapes.end());
  for (const InputDeclaration &input : declared_)
    if (input.HasUnknownDims() && !specialized.count(input.name)) {
      std::vector<int64_t> ones = input.shape;
      std::replace(ones.begin(), ones.end(), int64_t{-1}, int64_t{1});
      specialized[input.name] = ones;
    }
  source_->SetInputShapes(specialized);
  CompileStats stats;
  absl::StatusOr<std::unique_ptr<Executable>> executable =
      CompileOrLoad(fetches, stats);
  source_->SetInputShapes(base_shapes_);
  if (!executable.ok())
    return executable.status();
  std::shared_ptr<Compiled> compiled = Adopt(*std::move(executable));
  compiled->order = ++compiles_;
  if (!key.empty()) {
    // Keep at most max_specializations of these fetches: drop the oldest.
    std::vector<decltype(cache_)::iterator> same;
    for (auto e = cache_.begin(); e != cache_.end(); ++e)
      if (e->first.first == fetches && !e->first.second.empty())
        same.push_back(e);
    if (static_cast<int>(same.size()) >= options_.max_specializations) {
      auto oldest = *std::min_element(
          same.begin(), same.end(), [](const auto &a, const auto &b) {
            return a->second->order < b->second->order;
          });
      cache_.erase(oldest);
    }
  }
  cache_[{fetches, key}] = compiled;
  last_stats_ = stats;
  return std::shared_ptr<const Compiled>(compiled);
}

absl::StatusOr<Session::Shapes>
Session::CheckFeeds(const std::map<std::string, const Tensor *> &fed) const {
  Shapes shapes;
  if (!source_)
    return shapes;
  const Shapes &given = base_shapes_;
  for (const InputDeclaration &input : declared_) {
    auto feed = fed.find(input.name);
    if (feed == fed.end())
      continue;
    // Before any compile: a feed of the wrong type is reported at once.
    // (The shape of an input declared static is checked by the executable,
    // where the fetches need it: some models are fed unused inputs of
    // other shapes, as ONNX Runtime allows.)
    InputDeclaration expected = input;
    if (auto g = given.find(input.name); g != given.end())
      expected.shape = g->second;
    if (!expected.HasUnknownDims()) {
      if (feed->second->dtype() != expected.dtype)
        return CheckFeed(expected, feed->second->dtype(),
                         feed->second->shape());
      continue;
    }
    if (absl::Status s =
            CheckFeed(expected, feed->second->dtype(), feed->second->shape());
        !s.ok())
      return s;
    shapes[input.name] = feed->second->shape();
  }
  Shapes all = given;
  all.insert(shapes.begin(), shapes.end());
  if (absl::Status s = CheckSymbols(declared_, all); !s.ok())
    return s;
  return shapes;
}

std::string Session::ShapesKey(const Shapes &shapes) {
  std::string key;
  for (const auto &[name, shape] : shapes)
    absl::StrAppend(&key, name, "=", absl::StrJoin(shape, "x"), ";");
  return key;
}

bool Session::IsCompiled(const std::vector<std::string> &fetches,
                         const Shapes &shapes) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cache_.count({fetches, ShapesKey(shapes)}) > 0;
}

const std::set<std::string> &
Session::Reached(const std::vector<std::string> &fetches) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = reached_.find(fetches);
  if (it == reached_.end())
    it = reached_.emplace(fetches, source_->InputsReachedBy(fetches)).first;
  return it->second;
}

absl::Status Session::Run(const Feeds &feeds, std::vector<Tensor> *outputs) {
  std::vector<std::string> fetches = default_fetches();
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
    std::string why = WhyNotFeedable(name);
    if (!why.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' ", why));
    if (!fed.emplace(name, &tensor).second)
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' is given twice"));
  }

  absl::StatusOr<Shapes> shapes = CheckFeeds(fed);
  if (!shapes.ok())
    return shapes.status();
  // Before compiling: the inputs the fetches read are all fed, each feed
  // with its input's dtype. (Once compiled, the executable's signature
  // says exactly which feeds it needs: an input the compile folded away,
  // such as one read only by Shape, is then not asked for.)
  if (source_ && !IsCompiled(fetches, *shapes)) {
    std::map<std::string, FedType> types;
    for (const auto &[name, tensor] : fed)
      types[name] = {tensor->dtype(), tensor->shape()};
    if (absl::Status s =
            CheckReachedFeeds(declared_, base_shapes_, Reached(fetches), types);
        !s.ok())
      return s;
  }
  absl::StatusOr<std::shared_ptr<const Compiled>> compiled =
      GetOrCompile(fetches, *shapes);
  if (!compiled.ok())
    return compiled.status();
  const Executable &executable = *(*compiled)->executable;
  // An unfed input the fetches need, named with its declared type (for an
  // input with unknown dimensions the compiled one is made up).
  for (const TensorSpec &spec : executable.signature().feeds)
    if (!fed.count(spec.name))
      for (const InputDeclaration &input : declared_)
        if (input.name == spec.name && input.HasUnknownDims())
          return absl::InvalidArgumentError(
              absl::StrCat("missing feed '", spec.name, "' (",
                           input.TypeString(), "), which the fetches need"));
  if (!artifact_)
    return executable.Run(fed, outputs);
  // An artifact computes all its fetches; return the ones asked for.
  std::vector<Tensor> all;
  if (absl::Status s = executable.Run(fed, &all); !s.ok())
    return s;
  const std::vector<TensorSpec> &specs = executable.signature().fetches;
  outputs->clear();
  for (const std::string &f : fetches)
    for (size_t i = 0; i < specs.size(); ++i)
      if (SameFetch(specs[i].name, f)) {
        outputs->push_back(all[i]);
        break;
      }
  return absl::OkStatus();
}

std::string Session::WhyNotFeedable(const std::string &name) const {
  if (!artifact_)
    return source_->WhyNotFeedable(name);
  const std::vector<TensorSpec> &feeds =
      artifact_->executable->signature().feeds;
  for (const TensorSpec &spec : feeds)
    if (spec.name == name)
      return "";
  return absl::StrCat("names no input of the artifact (its inputs: ",
                      feeds.empty() ? "none" : Names(feeds), ")");
}

} // namespace kiln
