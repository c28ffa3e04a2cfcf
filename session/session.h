//===- session.h - Run a graph with feeds and fetches -----------*- C++ -*-===//
//
// Part of Kiln. In the spirit of TensorFlow 1.x's Session::Run: create a
// Session from a GraphDef, then Run(feeds, fetches). The first Run with a
// given list of fetches compiles the subgraph they need (through MLIR and
// LLVM's JIT) and caches it; later Runs with the same fetches reuse it.
// Run may be called from several threads at once.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_SESSION_SESSION_H
#define KILN_SESSION_SESSION_H

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.pb.h"
#include "runtime/tensor.h"

namespace kiln {

struct SessionOptions {
  /// 0 (no graph optimization) to 3.
  int opt_level = 2;
  /// Print the IR after every pass to stderr while compiling.
  bool print_ir_after_all = false;
};

/// Timings of the last compilation, for tools and benchmarks.
struct CompileStats {
  double import_ms = 0;
  double pipeline_ms = 0;
  double jit_ms = 0;
};

class Session {
public:
  /// Checks the whole graph (every problem reported at once, each naming
  /// its node) and compiles the signature's fetches if it names any.
  static absl::StatusOr<std::unique_ptr<Session>>
  Create(GraphDef graph, SessionOptions options = {});
  /// Loads a .pbtxt (text) or .pb (binary) GraphDef, then Create().
  static absl::StatusOr<std::unique_ptr<Session>>
  CreateFromFile(const std::string &path, SessionOptions options = {});

  ~Session();

  using Feeds = std::vector<std::pair<std::string, Tensor>>;

  /// Computes `fetches` ("node" or "node:0"; any node may be fetched) from
  /// `feeds` (Placeholder name -> tensor) into `outputs`, one per fetch.
  /// Every Placeholder the fetches need must be fed, with its dtype and
  /// shape; errors name the feed or fetch and the expected and given types.
  absl::Status Run(const Feeds &feeds, const std::vector<std::string> &fetches,
                   std::vector<Tensor> *outputs);

  /// Runs with the signature's fetches.
  absl::Status Run(const Feeds &feeds, std::vector<Tensor> *outputs);

  const GraphDef &graph() const { return graph_; }
  /// Statistics of the most recent compilation.
  CompileStats last_compile_stats() const;

private:
  struct Compiled;
  Session(GraphDef graph, SessionOptions options);
  absl::StatusOr<std::shared_ptr<const Compiled>>
  GetOrCompile(const std::vector<std::string> &fetches);

  GraphDef graph_;
  SessionOptions options_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::shared_ptr<const Compiled>> cache_;
  CompileStats last_stats_;
};

} // namespace kiln

#endif // KILN_SESSION_SESSION_H
