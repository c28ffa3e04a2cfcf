//===- graph_compile.cc - The graph-compile command -----------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "tools/cli/graph_compile.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "codegen/Compile.h"
#include "codegen/TargetBackend.h"
#include "codegen/common/LaunchPlan.h"
#include "codegen/cpu/MachineCode.h"
#include "graph/importer.h"
#include "graph/loader.h"
#include "graph/source.h"
#include "ir/Dialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "runtime/artifact.h"
#include "runtime/cuda_code.h"
#include "runtime/npy.h"
#include "runtime/stopwatch.h"
#include "runtime/version.h"
#include "session/session.h"
#include "tools/cli/cpp_header.h"
#include "tools/cli/dot.h"
#include "tools/cli/onnx_test_runner.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {
namespace {

constexpr char kUsage[] = R"(usage: graph-compile MODEL [options]
       graph-compile MODEL -o model.kiln [options]
       graph-compile model.kiln --run --feed NAME=FILE.npy...
       graph-compile MODEL --emit=obj,header --class=NAME -o PREFIX
       graph-compile --check-onnx-test DIR... [--expected-skips FILE] [-O<n>]

Compiles a model (an ONNX .onnx file, or a Kiln GraphDef as .pbtxt text or
.pb binary) through MLIR and LLVM, and optionally runs it. With -o and no
--emit it writes an artifact: one file with the machine code, weights,
launch plan and signature, which graph-compile (given it as MODEL) and
Session::CreateFromFile run without compiling.

Options:
  --run                   Compile and run the graph, then print each fetched
                          tensor and the compile and run times.
  --feed NAME=FILE.npy    Feed Placeholder NAME from a .npy file (repeatable).
  --freeze NAME=FILE.npy  Fix input NAME to the tensor in FILE at compile time
                          (repeatable): shapes, axes and the like computed
                          from it become known, as a static compiler needs.
  --input-shape NAME=DxDx...
                          The shape of input NAME where the model leaves
                          dimensions unknown (a Placeholder dimension of
                          -1, an ONNX dim_param such as "batch"), e.g.
                          --input-shape x=1x3x224x224 (repeatable). A --feed
                          file gives its input's shape too; without either,
                          an unknown dimension is an error naming it.
  --fetch NAME            Fetch node NAME ("node" or "node:0"; repeatable).
                          Default: the fetches in the graph's signature.
  --output NAME=FILE.npy  With --run, write fetched tensor NAME to a .npy file
                          (repeatable).
  --benchmark=N           Run N more times after the first run (implies
                          --run) and print the median and fastest run times.
  --threads=N             Run on N threads (default: one per core): each
                          kernel's grid is split over them.
  --profile[=TRACE.json]  Time every kernel of every run (implies --run) and
                          print, after the runs, each kernel's time per run
                          and share, slowest first. With a file, also write
                          every kernel dispatch of every run there as
                          Chrome trace events (open it in Perfetto or
                          chrome://tracing).
  --emit=KIND             Write the IR after the pipeline instead of running:
                            graph   optimized kiln-dialect graph
                            dot     the same as Graphviz DOT, one cluster
                                    per fused kernel
                            linalg  linalg/tensor/arith on tensors
                            buffers linalg on memrefs, buffers planned
                            kernels the outlined kernels, and @main as
                                    the launch plan (kiln.dispatch ops)
                            plan    the launch plan: the arena, and each
                                    kernel's grid and buffers (feeds,
                                    fetches, arena offsets)
                            mlir    the kernels in the LLVM dialect
                                    (--target=cuda: the NVVM dialect)
                            llvm    LLVM IR (the cpu target)
                            ptx     the GPU kernels' PTX (--target=cuda)
                            obj,header  PREFIX.o, an object with the
                                    kernels and the weights, and PREFIX.h,
                                    a C++ class to run it (needs --class
                                    and -o PREFIX; either alone writes one)
  -o FILE                 Without --emit: write the compiled artifact to
                          FILE (by convention model.kiln). With --emit:
                          write the output to FILE instead of stdout.
  --class=NAME            With --emit=obj,header: the generated class
                          (identifiers joined by ::, e.g. ns::MyModel).
  --target-triple=TRIPLE  Compile for another machine: an LLVM triple such
                          as aarch64-linux-gnu (default: this machine).
  --target-cpu=CPU        The CPU to compile for, such as x86-64-v3 or
                          znver4 (default: this machine's CPU and all its
                          features; with another triple, a generic CPU).
  --cache-dir=DIR         Keep compiled artifacts in DIR, keyed by a hash of
                          the model, the fetches, the options, the target
                          and Kiln's version; the next compile of the same
                          model loads instead of compiling.
  -O0, -O1, -O2, -O3      Optimization level (default -O2). The graph
                          passes each level runs, in order:
{O_LEVELS}                          From -O1 on, canonicalize and cse also clean
                          up after the lowering to linalg and after
                          bufferization. LLVM optimizes the kernels' machine
                          code at its own -O3 at every level.
  --disable-pass=NAME     Leave out a graph pass (repeatable), one of:
{GRAPH_PASSES}  --no-memory-reuse       Give every intermediate buffer bytes of its own: no
                          sharing between buffers, no in-place writes. Results
                          must be bit-identical to the planned run's.
  --max-fold-bytes=N      Most bytes of new constant data that constant
                          folding may create (default 67108864).
  --target=NAME           The backend to compile for: cpu (default); cuda,
                          NVIDIA GPUs: the kernels become PTX, and a cubin
                          where ptxas is installed (docs/cuda.md); or
                          cuda-on-cpu, the cuda target's kernels run on
                          this CPU, to check them where there is no GPU.
  --gpu-arch=sm_NN        With --target=cuda, the GPU to compile for
                          (default sm_90; sm_75 to sm_90).
  --no-gpu-libraries      With --target=cuda (or cuda-on-cpu), generate
                          every matmul as a kernel instead of calling
                          cuBLASLt, for GPU machines without cuBLAS.
  --allow-tf32            With --target=cuda (or cuda-on-cpu), let the
                          cuBLASLt matmuls multiply on TF32 tensor cores
                          (10-bit mantissas, about 1e-3 relative error;
                          sums stay f32). Off, they run in f32.
  --print-ir-after-all    Print the IR after every pass to stderr.
  --print-ir-after=NAME   Print the IR after the named pass (repeatable), a
                          graph or a lowering pass (a pass that does not run
                          at the chosen level or --emit stage prints nothing):
{ALL_PASSES}  --dump-dir=DIR          Write the IR after each pass to DIR/NN-<pass>.mlir.
                          DIR is created if missing; a DIR that is a file
                          (or under one) is bad usage (exit status 2).
  --pass-timing           Print the time each pass took to stderr.
  --compile-timing        Print the compile time phase by phase: import,
                          graph passes, lowering to kernels, kernels to the
                          LLVM dialect, LLVM to machine code, linking and
                          loading.
  --stats                 Print the number of kiln ops before and after the
                          graph passes, the kernels (fusions and lone ops)
                          they form, and the linalg ops after lowering.
  --memory-report         Print the arena size, its lower bound (the most
                          intermediate bytes live at once) and the bytes all
                          intermediates would take without reuse.
  --check-onnx-test       Treat every DIR as an ONNX backend test folder
                          (model.onnx, test_data_set_N/input_k.pb and
                          output_k.pb) or a folder of them: run each and
                          compare with the expected outputs (floats: rtol
                          1e-3, atol 1e-5; integers exactly). Prints a line per
                          test and "N passed, N failed, N skipped"; exit status
                          1 when any failed.
  --expected-skips FILE   With --check-onnx-test: tests listed in FILE ("suite/
                          test reason", one per line) may be skipped as
                          unsupported; any other unsupported test fails, and
                          so does a listed test that passes (the list must
                          stay true).
  --differential-plan     With --check-onnx-test: also run every test with
                          --no-memory-reuse on one thread and require
                          bit-identical outputs.
  --save-cases=DIR        With --check-onnx-test: also leave each test's
                          artifact, its feeds and expected outputs (.npy) and
                          a case.txt in DIR/<suite>_<test>, for kiln-run
                          --expect where the target runs (tools/gpu_check.sh);
                          with --target=cuda and no GPU here, a test that
                          compiles counts as passed.
  --version               Print Kiln's version and artifact format version.
  --help                  Show this help.

Given an artifact as MODEL, --run, --feed, --fetch (one of the artifact's),
--output, --benchmark and --emit=plan apply; compile options do not.

.npy files must be C-ordered little-endian f16, f32, f64, 8- to 64-bit
signed or unsigned integers, or bool.
Exit status: 0 success, 1 a problem with the graph or the feeds, 2 bad usage.
)";

/// `words` joined by ", " and wrapped to 78 columns, each line indented
/// like the help's descriptions, ending in a newline.
std::string HelpList(const std::vector<std::string> &words,
                     const std::string &first = "") {
  const std::string indent(26, ' ');
  std::string out, line = indent + first;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string word = words[i] + (i + 1 < words.size() ? "," : "");
    if (line.size() > indent.size() + first.size() &&
        line.size() + 1 + word.size() > 78) {
      out += line + "\n";
      line = indent + std::string(first.size(), ' ');
    } else if (line.size() > indent.size() + first.size()) {
      line += " ";
    }
    line += word;
  }
  return out + line + "\n";
}

/// The help text, with the pass lists read from the pipeline itself.
std::string Usage() {
  std::string levels;
  for (int level = 0; level <= 3; ++level) {
    std::string label = "-O" + std::to_string(level) + "  ";
    std::vector<std::string> passes = PipelinePassNames(level, Stage::kGraph);
    if (level > 0 && PipelinePassNames(level) == PipelinePassNames(level - 1))
      levels += HelpList({"same as -O" + std::to_string(level - 1) + " today"},
                         label);
    else if (passes.empty())
      levels += HelpList({"none: the graph is lowered as written"}, label);
    else
      levels += HelpList(passes, label);
  }
  return absl::StrReplaceAll(kUsage,
                             {{"{O_LEVELS}", levels},
                              {"{GRAPH_PASSES}", HelpList(GraphPassNames())},
                              {"{ALL_PASSES}", HelpList(PipelinePassNames())}});
}

/// Reports a problem with the user's graph or feeds: exit status 1.
int Fail(std::ostream &err, const absl::Status &status) {
  if (OnlyUnknownDimensions(status)) {
    // Not a broken model: one that needs its input shapes.
    absl::string_view message = status.message();
    err << "error: the model leaves input dimensions unknown; give them with "
           "--feed or --input-shape:"
        << message.substr(message.find('\n')) << "\n";
    return 1;
  }
  err << "error: " << status.message() << "\n";
  return 1;
}

struct Args {
  std::string model;
  bool run = false;
  int benchmark_runs = 0;
  bool profile = false;
  std::string profile_trace; ///< --profile=FILE: the Chrome trace's file.
  std::vector<std::pair<std::string, std::string>> feeds;
  std::vector<std::pair<std::string, std::string>> frozen;
  std::vector<std::pair<std::string, std::vector<int64_t>>> input_shapes;
  std::vector<std::string> fetches;
  std::map<std::string, std::string> outputs;
  std::string emit;
  std::string output_file;
  PipelineOptions pipeline;
  bool stats = false;
  bool memory_report = false;
  bool compile_timing = false;
  bool help = false;
  bool check_onnx_test = false;
  std::vector<std::string> test_dirs;
  std::string expected_skips;
  bool differential_plan = false;
  std::string save_cases;                     ///< --save-cases
  bool emit_obj = false, emit_header = false; ///< --emit=obj,header
  std::string class_name;
  std::string cache_dir;
  int threads = 0; ///< One per core.
  bool version = false;
  /// Options that only mean something when compiling, as given.
  std::vector<std::string> compile_flags;
};

/// Splits "NAME=VALUE"; false when there is no '=' or a side is empty.
bool SplitAssignment(const std::string &text, std::string *name,
                     std::string *value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return false;
  *name = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return true;
}

/// Checks the pass names given to --disable-pass and --print-ir-after; an
/// unknown one is bad usage, and the message lists the names accepted.
std::string CheckPassFlags(const PipelineOptions &pipeline) {
  std::vector<std::string> graph = GraphPassNames();
  for (const std::string &name : pipeline.disabled_passes)
    if (std::find(graph.begin(), graph.end(), name) == graph.end())
      return "--disable-pass: unknown pass '" + name +
             "'; the graph passes it accepts are " + absl::StrJoin(graph, ", ");
  if (pipeline.print_ir_after.empty())
    return "";
  std::vector<std::string> all =
      PipelinePassNames(3, Stage::kLLVM, pipeline.target);
  for (const std::string &name : pipeline.print_ir_after)
    if (std::find(all.begin(), all.end(), name) == all.end())
      return "--print-ir-after: unknown pass '" + name +
             "'; the pipeline's passes are " + absl::StrJoin(all, ", ");
  return "";
}

/// Creates the --dump-dir folder if it is missing. A path that cannot be a
/// folder (an existing file, or under one) is bad usage: the message says
/// so before anything is compiled.
std::string PrepareDumpDir(const std::string &dir) {
  if (dir.empty())
    return "";
  if (llvm::sys::fs::exists(dir) && !llvm::sys::fs::is_directory(dir))
    return "--dump-dir: '" + dir + "' is a file, not a directory";
  if (std::error_code e = llvm::sys::fs::create_directories(dir))
    return "--dump-dir: cannot create directory '" + dir + "': " + e.message();
  return "";
}

/// Parses the command line; an error message means bad usage.
std::string ParseArgs(int argc, char **argv, Args *args) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string missing_value; // A flag given last, without its value.
    auto value = [&](const std::string &flag, std::string *out) -> bool {
      if (absl::StartsWith(arg, flag + "=")) {
        *out = arg.substr(flag.size() + 1);
        return true;
      }
      if (arg == flag && i + 1 < argc) {
        *out = argv[++i];
        return true;
      }
      if (arg == flag)
        missing_value = flag;
      return false;
    };
    std::string v, name, file;
    // Options after which a compiled artifact cannot be the model.
    static const char *const kCompileOnly[] = {"-O",
                                               "--disable-pass",
                                               "--freeze",
                                               "--input-shape",
                                               "--stats",
                                               "--memory-report",
                                               "--max-fold-bytes",
                                               "--no-memory-reuse",
                                               "--target",
                                               "--class",
                                               "--cache-dir",
                                               "--print-ir",
                                               "--dump-dir",
                                               "--pass-timing",
                                               "--compile-timing",
                                               "-o"};
    for (const char *flag : kCompileOnly)
      if (absl::StartsWith(arg, flag)) {
        args->compile_flags.push_back(arg);
        break;
      }
    if (arg == "--help" || arg == "-h") {
      args->help = true;
    } else if (arg == "--version") {
      args->version = true;
    } else if (arg == "--check-onnx-test") {
      args->check_onnx_test = true;
    } else if (value("--expected-skips", &v)) {
      args->expected_skips = v;
    } else if (arg == "--run") {
      args->run = true;
    } else if (arg == "--print-ir-after-all") {
      args->pipeline.print_ir_after_all = true;
    } else if (arg == "--compile-timing") {
      args->compile_timing = true;
    } else if (arg == "--pass-timing") {
      args->pipeline.pass_timing = true;
    } else if (arg == "--no-gpu-libraries") {
      args->pipeline.gpu_libraries = false;
    } else if (arg == "--allow-tf32") {
      args->pipeline.allow_tf32 = true;
    } else if (arg == "--no-memory-reuse") {
      args->pipeline.reuse_memory = false;
    } else if (arg == "--differential-plan") {
      args->differential_plan = true;
    } else if (value("--save-cases", &v)) {
      args->save_cases = v;
    } else if (arg == "--stats") {
      args->stats = true;
    } else if (arg == "--memory-report") {
      args->memory_report = true;
    } else if (value("--benchmark", &v)) {
      if (!absl::SimpleAtoi(v, &args->benchmark_runs) ||
          args->benchmark_runs < 1)
        return "--benchmark expects a positive number of runs, got '" + v + "'";
      args->run = true;
    } else if (arg == "--profile" || value("--profile", &v)) {
      if (arg != "--profile" && v.empty())
        return "--profile= expects a file for the trace";
      if (arg != "--profile")
        args->profile_trace = v;
      args->profile = true;
      args->run = true;
    } else if (value("--threads", &v)) {
      if (!absl::SimpleAtoi(v, &args->threads) || args->threads < 1)
        return "--threads expects a positive number, got '" + v + "'";
    } else if (value("--print-ir-after", &v)) {
      args->pipeline.print_ir_after.insert(v);
    } else if (value("--disable-pass", &v)) {
      args->pipeline.disabled_passes.insert(v);
    } else if (value("--dump-dir", &v)) {
      args->pipeline.dump_dir = v;
    } else if (value("--target-triple", &v)) {
      args->pipeline.target_triple = v;
    } else if (value("--target-cpu", &v)) {
      args->pipeline.target_cpu = v;
    } else if (value("--class", &v)) {
      args->class_name = v;
    } else if (value("--cache-dir", &v)) {
      args->cache_dir = v;
    } else if (value("--gpu-arch", &v)) {
      if (v.empty())
        return "--gpu-arch expects a GPU architecture such as sm_90";
      args->pipeline.gpu_arch = v;
    } else if (value("--target", &v)) {
      if (!FindTargetBackend(v))
        return "--target expects one of " +
               absl::StrJoin(TargetBackendNames(), ", ") + ", got '" + v + "'";
      args->pipeline.target = v;
    } else if (value("--max-fold-bytes", &v)) {
      if (!absl::SimpleAtoi(v, &args->pipeline.max_fold_bytes) ||
          args->pipeline.max_fold_bytes < 0)
        return "--max-fold-bytes expects a byte count, got '" + v + "'";
    } else if (arg.size() == 3 && arg[0] == '-' && arg[1] == 'O' &&
               arg[2] >= '0' && arg[2] <= '3') {
      args->pipeline.opt_level = arg[2] - '0';
    } else if (value("--feed", &v)) {
      if (!SplitAssignment(v, &name, &file))
        return "--feed expects NAME=FILE.npy, got '" + v + "'";
      args->feeds.emplace_back(name, file);
    } else if (value("--freeze", &v)) {
      if (!SplitAssignment(v, &name, &file))
        return "--freeze expects NAME=FILE.npy, got '" + v + "'";
      args->frozen.emplace_back(name, file);
    } else if (value("--input-shape", &v)) {
      std::string dims;
      if (!SplitAssignment(v, &name, &dims))
        return "--input-shape expects NAME=DxDx... (e.g. x=1x3x224x224), "
               "got '" +
               v + "'";
      std::vector<int64_t> shape;
      // "" is a scalar; otherwise every size is there ("5x" is not).
      for (absl::string_view d : absl::StrSplit(dims, 'x')) {
        int64_t n;
        if (dims.empty())
          break;
        if (!absl::SimpleAtoi(d, &n) || n < 0)
          return "--input-shape " + name + ": '" + dims +
                 "' is not a shape (sizes >= 0 joined by x)";
        shape.push_back(n);
      }
      args->input_shapes.emplace_back(name, shape);
    } else if (value("--fetch", &v)) {
      args->fetches.push_back(v);
    } else if (value("--output", &v)) {
      if (!SplitAssignment(v, &name, &file))
        return "--output expects NAME=FILE.npy, got '" + v + "'";
      args->outputs[name] = file;
    } else if (value("--emit", &v)) {
      if (v == "obj" || v == "header" || v == "obj,header" ||
          v == "header,obj") {
        args->emit_obj |= v != "header";
        args->emit_header |= v != "obj";
        v = "obj,header";
      } else if (v != "graph" && v != "dot" && v != "linalg" &&
                 v != "buffers" && v != "kernels" && v != "plan" &&
                 v != "mlir" && v != "llvm" && v != "ptx") {
        return "--emit expects graph, dot, linalg, buffers, kernels, plan, "
               "mlir, llvm, ptx or obj,header, got '" +
               v + "'";
      }
      if (!args->emit.empty() && args->emit != v)
        return "--emit given twice (" + args->emit + " and " + v + ")";
      args->emit = v;
    } else if (value("-o", &v)) {
      args->output_file = v;
    } else if (!missing_value.empty()) {
      return missing_value + " needs a value";
    } else if (absl::StartsWith(arg, "-")) {
      return "unknown option '" + arg + "'";
    } else if (args->check_onnx_test) {
      args->test_dirs.push_back(arg);
    } else if (args->model.empty()) {
      args->model = arg;
    } else {
      return "more than one model given: '" + args->model + "' and '" + arg +
             "'";
    }
  }
  if (args->help || args->version)
    return "";
  if (std::string error = CheckPassFlags(args->pipeline); !error.empty())
    return error;
  if (args->check_onnx_test) {
    if (!args->model.empty()) {
      args->test_dirs.insert(args->test_dirs.begin(), args->model);
      args->model.clear();
    }
    if (args->test_dirs.empty())
      return "--check-onnx-test needs at least one folder";
    if (args->run || !args->emit.empty())
      return "--check-onnx-test cannot be combined with --run or --emit";
    return "";
  }
  if (!args->expected_skips.empty())
    return "--expected-skips needs --check-onnx-test";
  if (args->differential_plan)
    return "--differential-plan needs --check-onnx-test";
  if (!args->save_cases.empty())
    return "--save-cases needs --check-onnx-test";
  if (args->model.empty())
    return "no model given";
  if (args->run && !args->emit.empty())
    return "--run and --emit cannot be combined";
  if (args->compile_timing && !args->emit.empty())
    return "--compile-timing times a whole compile; it cannot be combined "
           "with --emit (use --pass-timing)";
  if (!args->outputs.empty() && !args->run)
    return "--output needs --run";
  // Before anything compiles or runs: a file that cannot be written is
  // found now, not after the run.
  for (const auto &[name, file] : args->outputs) {
    std::filesystem::path parent = std::filesystem::path(file).parent_path();
    std::error_code error;
    if (!parent.empty() && !std::filesystem::is_directory(parent, error))
      return "--output " + name + "=" + file + ": the directory " +
             parent.string() + " does not exist";
  }
  if (args->emit == "obj,header") {
    std::string emit = args->emit_obj && args->emit_header ? "obj,header"
                       : args->emit_obj                    ? "obj"
                                                           : "header";
    if (args->class_name.empty())
      return "--emit=" + emit + " needs --class=NAME";
    if (args->output_file.empty())
      return "--emit=" + emit +
             " needs -o PREFIX (it writes PREFIX.o and/or PREFIX.h)";
  } else if (!args->class_name.empty()) {
    return "--class needs --emit=obj, --emit=header or --emit=obj,header";
  }
  if (!args->cache_dir.empty() && !args->emit.empty())
    return "--cache-dir applies to compiling, not to --emit";
  if (!args->cache_dir.empty() && !args->output_file.empty())
    return "--cache-dir applies to compiling in process, not to -o (which "
           "writes the artifact itself)";
  if (!args->output_file.empty() && !args->model.empty()) {
    std::error_code e;
    if (std::filesystem::equivalent(args->output_file, args->model, e))
      return "-o " + args->output_file + " would overwrite the model";
  }
  bool cuda =
      args->pipeline.target == "cuda" || args->pipeline.target == "cuda-on-cpu";
  if (args->pipeline.allow_tf32 && !cuda)
    return "--allow-tf32 is for --target=cuda or cuda-on-cpu";
  if (args->pipeline.allow_tf32 && !args->pipeline.gpu_libraries)
    return "--allow-tf32 applies to the cuBLASLt matmuls, which "
           "--no-gpu-libraries turns off";
  if (args->pipeline.target == "cuda") {
    if (!args->pipeline.target_triple.empty() ||
        !args->pipeline.target_cpu.empty())
      return "--target-triple and --target-cpu are for the cpu target; "
             "--target=cuda takes --gpu-arch";
    absl::StatusOr<TargetDescription> target =
        FindTargetBackend("cuda")->describeTarget(args->pipeline);
    if (!target.ok())
      return "--gpu-arch: " + std::string(target.status().message());
    if (args->emit == "llvm")
      return "--emit=llvm is the cpu target's LLVM IR; with --target=cuda, "
             "--emit=mlir writes the NVVM dialect and --emit=ptx the PTX";
    if (args->emit == "obj,header")
      return "--emit=obj,header is for the cpu target; --target=cuda writes "
             "artifacts (-o model.kiln)";
  } else if (!args->pipeline.gpu_arch.empty()) {
    return "--gpu-arch is for --target=cuda";
  } else if (!args->pipeline.gpu_libraries &&
             args->pipeline.target != "cuda-on-cpu") {
    return "--no-gpu-libraries is for --target=cuda or cuda-on-cpu";
  } else if (args->emit == "ptx") {
    return "--emit=ptx needs --target=cuda";
  }
  if (!args->pipeline.target_triple.empty() ||
      !args->pipeline.target_cpu.empty()) {
    absl::StatusOr<TargetDescription> target =
        FindTargetBackend(args->pipeline.target)
            ->describeTarget(args->pipeline);
    if (!target.ok())
      return (absl::StartsWith(target.status().message(), "unknown CPU")
                  ? "--target-cpu: "
                  : "--target-triple: ") +
             std::string(target.status().message());
  }
  return PrepareDumpDir(args->pipeline.dump_dir);
}

/// An imported graph and the MLIR context that owns it (declared first, so
/// destroyed last).
struct ToolGraph {
  std::unique_ptr<mlir::MLIRContext> context;
  ImportedGraph graph;
  mlir::ModuleOp module() { return *graph.module; }
};

/// Imports the fetches `args` names, with every dialect the pipeline uses.
absl::StatusOr<ToolGraph> ImportForTool(const Args &args,
                                        const GraphSource &source) {
  mlir::DialectRegistry registry;
  RegisterPipelineDialects(registry);
  ToolGraph result;
  result.context = std::make_unique<mlir::MLIRContext>(
      registry, mlir::MLIRContext::Threading::DISABLED);
  absl::StatusOr<ImportedGraph> imported =
      source.Import(args.fetches, *result.context);
  if (!imported.ok())
    return imported.status();
  result.graph = *std::move(imported);
  PrepareEntryFunction(result.module());
  return result;
}

/// Imports and lowers the graph, then writes the IR that --emit asks for.
int Emit(const Args &args, const GraphSource &source, std::ostream &out,
         std::ostream &err) {
  absl::StatusOr<ToolGraph> imported = ImportForTool(args, source);
  if (!imported.ok()) {
    return Fail(err, imported.status());
  }
  const PipelineOptions &options = args.pipeline;
  Stage stage = args.emit == "graph" || args.emit == "dot" ? Stage::kGraph
                : args.emit == "linalg"                    ? Stage::kLinalg
                : args.emit == "buffers"                   ? Stage::kBuffers
                : args.emit == "kernels" || args.emit == "plan"
                    ? Stage::kKernels
                    : Stage::kLLVM;
  std::string text;
  if (args.emit == "ptx") {
    // The PTX comes out of the whole compile, as an artifact holds it.
    Signature signature{imported->graph.feeds, imported->graph.fetches};
    absl::StatusOr<Artifact> artifact =
        CompileToArtifact(imported->module(), signature, options);
    if (!artifact.ok())
      return Fail(err, artifact.status());
    absl::StatusOr<CudaCode> code = ParseCudaCode(artifact->code);
    if (!code.ok())
      return Fail(err, code.status());
    text = code->ptx;
  } else if (absl::Status s = RunPipeline(imported->module(), options, stage);
             !s.ok()) {
    return Fail(err, s);
  } else if (args.emit == "plan") {
    Signature signature{imported->graph.feeds, imported->graph.fetches};
    absl::StatusOr<LaunchPlan> plan =
        ExtractLaunchPlan(imported->module(), signature);
    if (!plan.ok()) {
      return Fail(err, plan.status());
    }
    text = PlanString(signature, *plan);
  } else if (args.emit == "llvm") {
    absl::StatusOr<std::string> ir = TranslateToLlvmIr(imported->module());
    if (!ir.ok()) {
      return Fail(err, ir.status());
    }
    text = *ir;
  } else if (args.emit == "dot") {
    text = GraphToDot(imported->module());
  } else {
    llvm::raw_string_ostream os(text);
    imported->module().print(os);
  }
  if (args.output_file.empty()) {
    out << text;
    return 0;
  }
  std::ofstream file(args.output_file);
  file << text;
  if (!file) {
    err << "error: cannot write " << args.output_file << "\n";
    return 1;
  }
  return 0;
}

/// Counts kiln ops (constants apart) and linalg kernels in `module`.
struct OpCounts {
  int ops = 0, constants = 0;
  int kernels = 0; ///< Top-level kiln ops: a fusion or a lone op each.
  int fusions = 0;
  int linalg_ops = 0; ///< Loop nests after lowering.
  /// 2 per multiply-accumulate of the MatMul, Gemm and Conv ops (static
  /// shapes only), as benchmarks count a model's FLOPs.
  int64_t flops = 0;
};

/// `op`'s multiply-add FLOPs when it is a MatMul, Gemm or Conv of static
/// shape, else 0.
int64_t ContractionFlops(mlir::Operation *op) {
  auto shapeOf = [](mlir::Value v) -> std::optional<llvm::ArrayRef<int64_t>> {
    auto type = mlir::dyn_cast<mlir::RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape())
      return std::nullopt;
    return type.getShape();
  };
  auto elements = [](llvm::ArrayRef<int64_t> shape) {
    int64_t n = 1; // A scalar (a dot product's result) is one element.
    for (int64_t d : shape)
      n *= d;
    return n;
  };
  if (op->getNumResults() != 1)
    return 0;
  std::optional<llvm::ArrayRef<int64_t>> out = shapeOf(op->getResult(0));
  if (!out)
    return 0;
  if (auto matmul = mlir::dyn_cast<MatMulOp>(op)) {
    if (auto a = shapeOf(matmul.getA()); a && !a->empty())
      return 2 * elements(*out) * a->back();
  } else if (auto gemm = mlir::dyn_cast<GemmOp>(op)) {
    if (auto a = shapeOf(gemm.getA()); a && a->size() == 2)
      return 2 * elements(*out) * (*a)[gemm.getTransA() ? 0 : 1];
  } else if (auto conv = mlir::dyn_cast<ConvOp>(op)) {
    if (auto w = shapeOf(conv.getW()); w && !w->empty() && w->front() > 0)
      return 2 * elements(*out) * (elements(*w) / w->front());
  }
  return 0;
}

OpCounts CountOps(mlir::ModuleOp module) {
  OpCounts c;
  module.walk([&](mlir::Operation *op) {
    c.flops += ContractionFlops(op);
    llvm::StringRef dialect =
        op->getDialect() ? op->getDialect()->getNamespace() : "";
    llvm::StringRef name = op->getName().getStringRef();
    if (mlir::isa<mlir::linalg::LinalgOp>(op))
      ++c.linalg_ops;
    if (dialect != "kiln" || name == "kiln.yield")
      return;
    if (name == "kiln.constant") {
      ++c.constants;
      return;
    }
    bool top = mlir::isa<mlir::func::FuncOp>(op->getParentOp());
    if (name == "kiln.fusion") {
      ++c.fusions;
      ++c.kernels;
      return;
    }
    ++c.ops;
    c.kernels += top;
  });
  return c;
}

/// Prints op counts before and after the graph passes, and kernels after
/// lowering to linalg.
int PrintStats(const Args &args, const GraphSource &source, std::ostream &out,
               std::ostream &err) {
  absl::StatusOr<ToolGraph> imported = ImportForTool(args, source);
  if (!imported.ok()) {
    return Fail(err, imported.status());
  }
  OpCounts before = CountOps(imported->module());
  if (absl::Status s =
          RunPipeline(imported->module(), args.pipeline, Stage::kGraph);
      !s.ok()) {
    return Fail(err, s);
  }
  OpCounts after = CountOps(imported->module());
  if (absl::Status s =
          RunPipeline(imported->module(), args.pipeline, Stage::kLinalg);
      !s.ok()) {
    return Fail(err, s);
  }
  OpCounts lowered = CountOps(imported->module());
  // The plan from a fresh import: the pipeline starts from the kiln
  // dialect, not from IR it has lowered already.
  absl::StatusOr<ToolGraph> planned = ImportForTool(args, source);
  if (!planned.ok()) {
    return Fail(err, planned.status());
  }
  if (absl::Status s =
          RunPipeline(planned->module(), args.pipeline, Stage::kKernels);
      !s.ok()) {
    return Fail(err, s);
  }
  auto func = planned->module().lookupSymbol<mlir::func::FuncOp>("main");
  int dispatches = 0, gridded = 0;
  func.walk([&](DispatchOp d) {
    ++dispatches;
    gridded += d.getGrid() > 1;
  });
  if (args.memory_report) {
    auto get = [&](llvm::StringRef name) {
      auto a = func->getAttrOfType<mlir::IntegerAttr>(name);
      return a ? a.getInt() : 0;
    };
    int64_t arena = get(KilnDialect::kArenaBytesAttr);
    int64_t bound = get(KilnDialect::kArenaLowerBoundAttr);
    out << "arena: " << arena << " bytes; lower bound " << bound << " bytes ("
        << (bound ? double(arena) / bound : 1.0) << "x); without reuse "
        << get(KilnDialect::kUnplannedBytesAttr) << " bytes\n";
    if (!args.stats)
      return 0;
  }
  out << "before graph passes: " << before.ops << " ops (+" << before.constants
      << " constants)\n"
      << "after graph passes:  " << after.ops << " ops in " << after.kernels
      << " kernels, " << after.fusions << " of them fusions (+"
      << after.constants << " constants)\n"
      << "after lowering:      " << lowered.linalg_ops
      << " linalg ops (loop nests)\n"
      << "launch plan:         " << dispatches << " dispatches, " << gridded
      << " of them over a grid of more than one tile\n"
      << "multiply-adds:       " << absl::StrFormat("%.4g", before.flops / 1e9)
      << " GFLOP in MatMul, Gemm and Conv (2 per multiply-accumulate)\n";
  return 0;
}

/// The Session options that matter for running an artifact.
SessionOptions RunOptionsOf(const Args &args) {
  SessionOptions options;
  options.threads = args.threads;
  options.profile = args.profile;
  return options;
}

/// Reads the --feed files; an error names the feed.
absl::StatusOr<Session::Feeds> ReadFeeds(const Args &args) {
  Session::Feeds feeds;
  for (const auto &[name, file] : args.feeds) {
    absl::StatusOr<Tensor> t = ReadNpy(file);
    if (!t.ok())
      return absl::Status(
          t.status().code(),
          absl::StrCat("feed '", name, "': ", t.status().message()));
    feeds.emplace_back(name, *std::move(t));
  }
  return feeds;
}

/// With --run: the --feed files against the model before anything
/// compiles, so that an unknown, missing or mistyped feed is reported at
/// once (Session::Run checks the same, but only after Session::Create and
/// Compile have compiled).
absl::Status CheckFeedFiles(const Args &args, const GraphSource &source,
                            const std::vector<std::string> &fetches) {
  if (!args.run)
    return absl::OkStatus();
  absl::StatusOr<Session::Feeds> feeds = ReadFeeds(args);
  if (!feeds.ok())
    return feeds.status();
  std::map<std::string, FedType> types;
  for (const auto &[name, tensor] : *feeds) {
    std::string why = source.WhyNotFeedable(name);
    if (!why.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' ", why));
    types[name] = {tensor.dtype(), tensor.shape()};
  }
  return CheckReachedFeeds(source.DeclaredInputs(), source.input_shapes(),
                           source.InputsReachedBy(fetches), types);
}

/// Runs `session` with the --feed files, prints the fetches (and writes
/// --output files), then the times; with --benchmark, runs again.
int RunAndPrint(const Args &args, Session &session,
                const std::vector<std::string> &fetches,
                const std::string &prepare_line, std::ostream &out,
                std::ostream &err) {
  absl::StatusOr<Session::Feeds> feeds = ReadFeeds(args);
  if (!feeds.ok()) {
    return Fail(err, feeds.status());
  }
  for (const auto &[name, file] : args.outputs) {
    if (std::find(fetches.begin(), fetches.end(), name) == fetches.end()) {
      err << "error: --output names '" << name << "', which is not fetched\n";
      return 2;
    }
  }
  std::vector<Tensor> outputs;
  Stopwatch watch;
  absl::Status status = session.Run(*feeds, fetches, &outputs);
  double run_ms = watch.Millis();
  if (!status.ok()) {
    return Fail(err, status);
  }
  for (size_t i = 0; i < fetches.size(); ++i) {
    out << fetches[i] << ": " << outputs[i].TypeString() << " = "
        << outputs[i].ValuesString() << "\n";
    auto file = args.outputs.find(fetches[i]);
    if (file != args.outputs.end()) {
      if (absl::Status s = WriteNpy(file->second, outputs[i]); !s.ok()) {
        return Fail(err, s);
      }
    }
  }
  out << prepare_line << ", run: " << run_ms << " ms\n";
  if (args.benchmark_runs > 0) {
    std::vector<double> times;
    for (int i = 0; i < args.benchmark_runs; ++i) {
      watch.Restart();
      if (absl::Status s = session.Run(*feeds, fetches, &outputs); !s.ok())
        return Fail(err, s);
      times.push_back(watch.Millis());
    }
    std::sort(times.begin(), times.end());
    out << "benchmark: " << times.size() << " runs, median "
        << times[times.size() / 2] << " ms, fastest " << times.front()
        << " ms\n";
  }
  out << session.Profile();
  if (!args.profile_trace.empty()) {
    std::ofstream trace(args.profile_trace, std::ios::binary);
    trace << session.ProfileTrace();
    trace.close();
    if (!trace) {
      err << "error: cannot write the --profile trace to '"
          << args.profile_trace << "'\n";
      return 1;
    }
    out << "trace of every kernel dispatch written to " << args.profile_trace
        << "\n";
  }
  return 0;
}

/// The --compile-timing line; `loaded` when the artifact was also loaded.
void PrintCompileTiming(const CompileStats &c, bool loaded, std::ostream &out) {
  if (c.from_cache) {
    out << "compile timing: loaded from the compilation cache in " << c.load_ms
        << " ms\n";
    return;
  }
  out << "compile timing: import " << c.import_ms << " ms, graph passes "
      << c.graph_ms << " ms, lowering to kernels " << c.lowering_ms
      << " ms, kernels to LLVM dialect " << c.codegen_ms
      << " ms, LLVM to machine code " << c.llvm_ms << " ms, linking "
      << c.link_ms << " ms";
  if (loaded)
    out << ", loading " << c.load_ms << " ms";
  out << "\n";
}

int CompileAndRun(const Args &args, std::unique_ptr<GraphSource> source,
                  std::ostream &out, std::ostream &err) {
  std::vector<std::string> fetches = args.fetches;
  if (fetches.empty())
    fetches = source->DefaultFetches();
  if (absl::Status s = CheckFeedFiles(args, *source, fetches); !s.ok())
    return Fail(err, s);
  SessionOptions options;
  options.pipeline = args.pipeline;
  options.cache_dir = args.cache_dir;
  options.threads = args.threads;
  options.profile = args.profile;
  Stopwatch watch;
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(std::move(source), options);
  if (!session.ok()) {
    return Fail(err, session.status());
  }
  // Compile the fetches before the first Run so that the two times are
  // reported apart.
  if (absl::Status s = (*session)->Compile(fetches); !s.ok()) {
    return Fail(err, s);
  }
  double compile_ms = watch.Millis();
  CompileStats stats = (*session)->last_compile_stats();
  if (!stats.cache_warning.empty())
    err << "warning: " << stats.cache_warning << "\n";
  if (args.compile_timing)
    PrintCompileTiming(stats, /*loaded=*/true, out);
  std::string line = absl::StrCat(
      stats.from_cache ? "load (compilation cache): " : "compile: ", compile_ms,
      " ms");
  if (!args.run) {
    out << (stats.from_cache ? "loaded " : "compiled ") << args.model << " in "
        << compile_ms << " ms\n";
    return 0;
  }
  return RunAndPrint(args, **session, fetches, line, out, err);
}

/// Creates the folder `path` is in, if it is missing.
void CreateParentDirectory(const std::string &path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ignored; // Writing the file reports what went wrong.
  if (!parent.empty())
    std::filesystem::create_directories(parent, ignored);
}

/// Compiles the model into an artifact file (-o without --emit); with --run,
/// runs what it wrote.
int WriteArtifact(const Args &args, const GraphSource &source,
                  std::ostream &out, std::ostream &err) {
  if (absl::Status s = CheckFeedFiles(
          args, source,
          args.fetches.empty() ? source.DefaultFetches() : args.fetches);
      !s.ok())
    return Fail(err, s);
  Stopwatch watch;
  absl::StatusOr<ToolGraph> imported = ImportForTool(args, source);
  if (!imported.ok()) {
    return Fail(err, imported.status());
  }
  CompileStats stats;
  stats.import_ms = watch.Millis();
  CompileTimings timings;
  absl::StatusOr<Artifact> artifact = CompileToArtifact(
      imported->module(),
      Signature{imported->graph.feeds, imported->graph.fetches}, args.pipeline,
      &timings);
  if (!artifact.ok()) {
    return Fail(err, artifact.status());
  }
  Stopwatch write_watch;
  CreateParentDirectory(args.output_file);
  if (absl::Status s = WriteArtifactFile(*artifact, args.output_file);
      !s.ok()) {
    return Fail(err, s);
  }
  double compile_ms = watch.Millis();
  if (args.compile_timing) {
    stats.graph_ms = timings.phases.graph_ms;
    stats.lowering_ms = timings.phases.lowering_ms;
    stats.codegen_ms = timings.phases.codegen_ms;
    stats.llvm_ms = timings.llvm_ms;
    stats.link_ms = timings.link_ms;
    PrintCompileTiming(stats, /*loaded=*/false, out);
    out << "writing the artifact: " << write_watch.Millis() << " ms\n";
  }
  std::vector<std::string> fetches;
  for (const TensorSpec &spec : artifact->signature.fetches)
    fetches.push_back(spec.name);
  if (!args.run) {
    out << "wrote " << args.output_file << " (for " << artifact->target.triple
        << (artifact->target.backend == "cuda" ? ", GPU " : ", CPU ")
        << artifact->target.cpu << ") in " << compile_ms << " ms\n";
    return 0;
  }
  // Run what was written, as a user of the artifact would.
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::CreateFromFile(args.output_file, RunOptionsOf(args));
  if (!session.ok()) {
    return Fail(err, session.status());
  }
  return RunAndPrint(args, **session, fetches,
                     absl::StrCat("compile: ", compile_ms, " ms"), out, err);
}

/// --emit=obj,header: PREFIX.o and PREFIX.h for a program to link.
int WriteObjectAndHeader(const Args &args, const GraphSource &source,
                         std::ostream &out, std::ostream &err) {
  absl::StatusOr<std::string> prefix = SymbolPrefixForClass(args.class_name);
  if (!prefix.ok()) {
    err << "graph-compile: " << prefix.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<ToolGraph> imported = ImportForTool(args, source);
  if (!imported.ok()) {
    return Fail(err, imported.status());
  }
  absl::StatusOr<CompiledObject> compiled =
      CompileToObject(imported->module(),
                      Signature{imported->graph.feeds, imported->graph.fetches},
                      args.pipeline, *prefix);
  if (!compiled.ok()) {
    return Fail(err, compiled.status());
  }
  auto write = [&](const std::string &path, const std::string &bytes) {
    CreateParentDirectory(path);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(bytes.data(), bytes.size());
    file.flush();
    if (!file)
      err << "error: cannot write " << path << "\n";
    return static_cast<bool>(file);
  };
  if (args.emit_obj && !write(args.output_file + ".o", compiled->object))
    return 1;
  if (args.emit_header &&
      !write(args.output_file + ".h",
             CppHeader(compiled->artifact, args.class_name,
                       compiled->artifact_bytes, args.model)))
    return 1;
  return 0;
}

/// MODEL is an artifact: runs it, or prints its plan.
int UseArtifact(const Args &args, std::ostream &out, std::ostream &err) {
  // -o only writes the plan to a file.
  std::vector<std::string> flags;
  for (const std::string &f : args.compile_flags)
    if (!(args.emit == "plan" && absl::StartsWith(f, "-o")))
      flags.push_back(f);
  if (!flags.empty() || (!args.emit.empty() && args.emit != "plan")) {
    err << "graph-compile: " << args.model << " is a compiled artifact; "
        << (flags.empty() ? "--emit=" + args.emit : flags.front())
        << " applies to compiling a model (an artifact takes --run, --feed, "
           "--fetch, --output, --benchmark and --emit=plan)\n";
    return 2;
  }
  if (args.emit == "plan") {
    // Read, not loaded: the plan of an artifact for another machine (a
    // GPU this one lacks) prints too.
    absl::StatusOr<Artifact> artifact = ReadArtifactFile(args.model);
    if (!artifact.ok()) {
      return Fail(err, artifact.status());
    }
    std::string plan = PlanString(artifact->signature, artifact->plan);
    if (args.output_file.empty()) {
      out << plan;
      return 0;
    }
    std::ofstream file(args.output_file);
    file << plan;
    if (!file) {
      err << "error: cannot write " << args.output_file << "\n";
      return 1;
    }
    return 0;
  }
  Stopwatch watch;
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::CreateFromFile(args.model, RunOptionsOf(args));
  if (!session.ok()) {
    return Fail(err, session.status());
  }
  std::vector<std::string> fetches = args.fetches;
  if (fetches.empty())
    fetches = (*session)->default_fetches();
  if (absl::Status s = (*session)->Compile(fetches); !s.ok()) {
    return Fail(err, s);
  }
  double load_ms = watch.Millis();
  if (!args.run) {
    out << "loaded " << args.model << " in " << load_ms << " ms\n";
    return 0;
  }
  return RunAndPrint(args, **session, fetches,
                     absl::StrCat("load: ", load_ms, " ms"), out, err);
}

} // namespace

int GraphCompileMain(int argc, char **argv, std::ostream &out,
                     std::ostream &err) {
  Args args;
  std::string usage_error = ParseArgs(argc, argv, &args);
  if (args.help) {
    out << Usage();
    return 0;
  }
  if (args.version) {
    out << "graph-compile (Kiln) " << kKilnVersion << ", artifact format "
        << kArtifactFormatVersion << "\n";
    return 0;
  }
  if (!usage_error.empty()) {
    err << "graph-compile: " << usage_error
        << "\nRun 'graph-compile --help' for usage.\n";
    return 2;
  }
  if (args.check_onnx_test) {
    OnnxTestOptions options;
    options.opt_level = args.pipeline.opt_level;
    options.expected_skips = args.expected_skips;
    options.differential_plan = args.differential_plan;
    options.reuse_memory = args.pipeline.reuse_memory;
    options.threads = args.threads;
    options.target = args.pipeline.target;
    options.gpu_arch = args.pipeline.gpu_arch;
    options.gpu_libraries = args.pipeline.gpu_libraries;
    options.allow_tf32 = args.pipeline.allow_tf32;
    options.save_cases = args.save_cases;
    int failed = RunOnnxTests(args.test_dirs, options, out);
    return failed == 0 ? 0 : 1;
  }
  // The trace's file is written after the runs: a path that cannot be
  // written is reported now, not after the compile and the runs.
  if (!args.profile_trace.empty()) {
    std::ofstream trace(args.profile_trace, std::ios::binary | std::ios::app);
    if (!trace) {
      err << "error: cannot write the --profile trace to '"
          << args.profile_trace << "': " << std::strerror(errno) << "\n";
      return 1;
    }
  }
  if (IsArtifactFile(args.model))
    return UseArtifact(args, out, err);
  absl::StatusOr<std::unique_ptr<GraphSource>> source =
      LoadGraphSource(args.model);
  if (!source.ok()) {
    return Fail(err, source.status());
  }
  for (const auto &[name, file] : args.frozen) {
    absl::StatusOr<Tensor> t = ReadNpy(file);
    if (!t.ok()) {
      err << "error: --freeze '" << name << "': " << t.status().message()
          << "\n";
      return 1;
    }
    if (absl::Status s = (*source)->Freeze(name, *std::move(t)); !s.ok()) {
      return Fail(err, s);
    }
  }
  // Unknown dimensions: from --input-shape, else from the --feed files.
  for (const auto &[name, shape] : args.input_shapes)
    if (absl::Status s = (*source)->SetInputShape(name, shape); !s.ok()) {
      err << "error: --input-shape: " << s.message() << "\n";
      return 2;
    }
  for (const InputDeclaration &input : (*source)->DeclaredInputs()) {
    if (!input.HasUnknownDims() || (*source)->input_shapes().count(input.name))
      continue;
    for (const auto &[name, file] : args.feeds) {
      if (name != input.name)
        continue;
      absl::StatusOr<Tensor> t = ReadNpy(file);
      if (!t.ok())
        break; // Reading the feeds reports it.
      if (absl::Status s = CheckFeed(input, t->dtype(), t->shape()); !s.ok())
        return Fail(err, s);
      if (absl::Status s = (*source)->SetInputShape(name, t->shape()); !s.ok())
        return Fail(err, s);
    }
  }
  (*source)->FillNamedDimensions();
  if (args.stats || args.memory_report) {
    int code = PrintStats(args, **source, out, err);
    if (code != 0 ||
        (!args.run && args.emit.empty() && args.output_file.empty()))
      return code;
  }
  if (args.emit == "obj,header")
    return WriteObjectAndHeader(args, **source, out, err);
  if (!args.emit.empty())
    return Emit(args, **source, out, err);
  if (!args.output_file.empty())
    return WriteArtifact(args, **source, out, err);
  return CompileAndRun(args, *std::move(source), out, err);
}

} // namespace kiln
