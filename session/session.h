//===- session.h - Run a graph with feeds and fetches -----------*- C++ -*-===//
//
// Part of Kiln. In the spirit of TensorFlow 1.x's Session::Run: create a
// Session from a GraphDef, then Run(feeds, fetches). The first Run with a
// given list of fetches compiles the subgraph they need (through MLIR and
// LLVM, into an artifact loaded in memory) and keeps it; later Runs with
// the same fetches reuse it. A Session made from an artifact file
// (`graph-compile MODEL -o model.kiln`) runs it with the runtime alone.
// Run may be called from several threads at once.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_SESSION_SESSION_H
#define KILN_SESSION_SESSION_H

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/PipelineOptions.h"
#include "graph/graph.pb.h"
#include "runtime/tensor.h"

namespace kiln {

class Executable;
class GraphSource;
struct InputDeclaration;
class ThreadPool;

struct SessionOptions {
  /// How the graph is optimized and lowered: optimization level 0 to 3,
  /// passes to leave out, IR printing and dumping (codegen/Pipeline.h).
  PipelineOptions pipeline;
  /// When set, compiled artifacts are kept in this folder, keyed by a hash
  /// of the model, the fetches, the options, the target and Kiln's
  /// version: a later Session of the same model loads instead of
  /// compiling. The folder is created if missing.
  std::string cache_dir;
  /// Threads a run computes on: each kernel's grid is split over them (the
  /// calling thread is one). 1 runs on the caller alone; 0, the default,
  /// means one per core of this machine.
  int threads = 0;
  /// Times every kernel dispatch of every run, for Session::Profile().
  bool profile = false;
  /// A model whose inputs have unknown dimensions (a Placeholder shape
  /// [-1, 128], an ONNX dim_param) is compiled on the first Run with each
  /// new set of fed shapes, for those shapes. This many specializations
  /// are kept per fetch list; the oldest goes first.
  int max_specializations = 16;
};

/// Timings of the last compilation, for tools and benchmarks.
struct CompileStats {
  double import_ms = 0;
  double pipeline_ms = 0; ///< graph_ms + lowering_ms + codegen_ms.
  double graph_ms = 0;    ///< Graph passes (folding, fusion, ...).
  double lowering_ms = 0; ///< To linalg, buffers, the launch plan.
  double codegen_ms = 0;  ///< The backend's kernels to its IR (LLVM).
  double llvm_ms = 0;     ///< Machine code (LLVM's optimizer and codegen).
  double link_ms = 0;     ///< Linking it into a shared object (LLD).
  double load_ms = 0;     ///< Loading that, as an artifact is loaded.
  /// Loaded from SessionOptions::cache_dir; the other times are then 0 but
  /// load_ms.
  bool from_cache = false;
  /// Why the compiled artifact could not be stored in the cache (the run
  /// goes on without); empty when it was, or when there is no cache.
  std::string cache_warning;
};

class Session {
public:
  /// Checks the whole graph (every problem reported at once, each naming
  /// its node) and compiles the signature's fetches if it names any.
  static absl::StatusOr<std::unique_ptr<Session>>
  Create(GraphDef graph, SessionOptions options = {});
  /// Loads a model: .onnx as ONNX, .pbtxt (text) or .pb (binary) as a
  /// GraphDef, or a compiled artifact (a file that starts with its magic,
  /// whatever its name), which runs without compiling: its fetches are the
  /// ones it was compiled with.
  static absl::StatusOr<std::unique_ptr<Session>>
  CreateFromFile(const std::string &path, SessionOptions options = {});
  /// Any model source (graph/source.h).
  static absl::StatusOr<std::unique_ptr<Session>>
  Create(std::unique_ptr<GraphSource> source, SessionOptions options = {});

  ~Session();

  using Feeds = std::vector<std::pair<std::string, Tensor>>;

  /// Computes `fetches` ("node" or "node:0"; any node may be fetched) from
  /// `feeds` (Placeholder name -> tensor) into `outputs`, one per fetch.
  /// Every Placeholder the fetches need must be fed, with its dtype and
  /// shape; errors name the feed or fetch and the expected and given types.
  absl::Status Run(const Feeds &feeds, const std::vector<std::string> &fetches,
                   std::vector<Tensor> *outputs);

  /// Compiles `fetches` now, so that the first Run with them does not.
  absl::Status Compile(const std::vector<std::string> &fetches);

  /// Runs with the default fetches (the signature's, or the ONNX graph's
  /// outputs).
  absl::Status Run(const Feeds &feeds, std::vector<Tensor> *outputs);

  /// What a Run without fetches computes.
  std::vector<std::string> default_fetches() const;
  /// Statistics of the most recent compilation.
  CompileStats last_compile_stats() const;

  /// With SessionOptions::profile: a table of the time each kernel took,
  /// per run, over the runs so far (slowest first, with its share), for
  /// each compiled fetch list; empty otherwise.
  std::string Profile() const;
  /// With SessionOptions::profile: every kernel dispatch of every run so
  /// far as a Chrome trace ({"traceEvents":[...]}, for Perfetto or
  /// chrome://tracing), one process per compiled fetch list; empty
  /// otherwise.
  std::string ProfileTrace() const;

private:
  struct Compiled;
  /// The executables that profiled at least one run (mutex_ held).
  std::vector<const Executable *> ProfiledExecutables() const;
  Session(std::unique_ptr<GraphSource> source, SessionOptions options);
  absl::StatusOr<std::unique_ptr<Executable>>
  CompileOrLoad(const std::vector<std::string> &fetches, CompileStats &stats);
  /// The executable for `fetches` from SessionOptions::cache_dir, or null
  /// when it is not there; `path` is where it is kept.
  absl::StatusOr<std::unique_ptr<Executable>>
  LoadCached(const std::vector<std::string> &fetches, CompileStats &stats,
             std::string *path);
  /// `executable`, running on the Session's threads.
  std::shared_ptr<Compiled> Adopt(std::unique_ptr<Executable> executable) const;
  /// Empty when `name` can be fed; otherwise why not.
  std::string WhyNotFeedable(const std::string &name) const;
  using Shapes = std::map<std::string, std::vector<int64_t>>;
  /// The executable for `fetches`, specialized for `shapes` (the fed
  /// shapes of inputs with unknown dimensions; empty for a static model).
  absl::StatusOr<std::shared_ptr<const Compiled>>
  GetOrCompile(const std::vector<std::string> &fetches,
               const Shapes &shapes = {});
  /// Checks `fed` against the model's declared inputs and returns the
  /// shapes that specialize it.
  absl::StatusOr<Shapes>
  CheckFeeds(const std::map<std::string, const Tensor *> &fed) const;

  /// The key of `shapes` in cache_ ("a=3x128;...").
  static std::string ShapesKey(const Shapes &shapes);
  /// Whether `fetches` are compiled for `shapes` (takes mutex_).
  bool IsCompiled(const std::vector<std::string> &fetches,
                  const Shapes &shapes) const;
  /// The inputs `fetches` read (GraphSource::InputsReachedBy), found once
  /// per fetch list (takes mutex_; the set lives as long as the Session).
  const std::set<std::string> &Reached(const std::vector<std::string> &fetches);

  std::unique_ptr<GraphSource> source_; ///< Null for an artifact.
  /// The source's inputs and the shapes given to it before the Session
  /// was made, read by concurrent Runs: compiles change the source's
  /// shapes (under mutex_), never these.
  std::vector<InputDeclaration> declared_;
  Shapes base_shapes_;
  /// A Session from an artifact: its one executable, for its fetches.
  std::shared_ptr<const Compiled> artifact_;
  /// Shared by the Session's executables when options_.threads > 1.
  std::shared_ptr<ThreadPool> pool_;
  SessionOptions options_;
  /// Reached()'s sets, by fetch list (mutex_ guards it; entries are never
  /// removed).
  std::map<std::vector<std::string>, std::set<std::string>> reached_;
  mutable std::mutex mutex_;
  /// Keyed by the fetches and the specializing shapes ("a=3x128;...").
  std::map<std::pair<std::vector<std::string>, std::string>,
           std::shared_ptr<const Compiled>>
      cache_;
  uint64_t compiles_ = 0; ///< Orders the cache's entries by age.
  CompileStats last_stats_;
};

} // namespace kiln

#endif // KILN_SESSION_SESSION_H
