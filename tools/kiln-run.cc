//===- kiln-run.cc - Run an artifact with the runtime alone ---------------===//
//
// Part of Kiln. What a deployment ships: this program links only Kiln's
// runtime (no LLVM, MLIR, protobuf or importers). It loads an artifact
// written by `graph-compile MODEL -o model.kiln`, runs it on .npy feeds and
// prints the fetches, the load time and the run times.
//
//   kiln-run model.kiln --feed x=x.npy [--output y=y.npy] [--benchmark N]
//            [--threads N] [--profile] [--expect y=expected.npy]
//
// --expect compares a fetch with a .npy file: floats within 1e-5 + 1e-3 *
// |expected| (the ONNX conformance tolerance), other types exactly.
//
// Exit status: 0 success, 1 a problem with the artifact or the feeds,
// 2 bad usage, 3 a fetch differs from its --expect file.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "runtime/artifact.h"
#include "runtime/npy.h"
#include "runtime/stopwatch.h"
#include "runtime/thread_pool.h"

namespace {

int Usage(const char *why) {
  std::fprintf(stderr,
               "kiln-run: %s\nusage: kiln-run MODEL.kiln [--feed NAME=FILE.npy]"
               "... [--output NAME=FILE.npy]... [--benchmark N] [--threads N] "
               "[--profile] [--expect NAME=FILE.npy]..."
               "\n",
               why);
  return 2;
}

int Fail(const absl::Status &s) {
  std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
  return 1;
}

bool Split(const std::string &text, std::string *name, std::string *value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return false;
  *name = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return true;
}

/// Why `actual` is not `expected` within the conformance tolerance, or "".
std::string Difference(const kiln::Tensor &actual,
                       const kiln::Tensor &expected) {
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape())
    return "is " + actual.TypeString() + ", expected " + expected.TypeString();
  bool exact = actual.dtype() != kiln::DType::kF32 &&
               actual.dtype() != kiln::DType::kF64 &&
               actual.dtype() != kiln::DType::kF16 &&
               actual.dtype() != kiln::DType::kBF16;
  for (int64_t i = 0; i < actual.num_elements(); ++i) {
    double a = actual.ElementAsDouble(i), e = expected.ElementAsDouble(i);
    bool same =
        exact ? a == e
        : std::isnan(e)
            ? std::isnan(a)
            : (a == e || std::fabs(a - e) <= 1e-5 + 1e-3 * std::fabs(e));
    if (!same)
      return "element " + std::to_string(i) + " is " + std::to_string(a) +
             ", expected " + std::to_string(e);
  }
  return "";
}

} // namespace

int main(int argc, char **argv) {
  std::string model;
  std::map<std::string, std::string> feed_files, output_files, expect_files;
  int benchmark = 0;
  bool profile = false;
  int threads =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], name, file, v;
    // "--flag value" or "--flag=value".
    auto value = [&](const char *flag) -> bool {
      std::string f = flag;
      if (arg.rfind(f + "=", 0) == 0) {
        v = arg.substr(f.size() + 1);
        return true;
      }
      if (arg == f && i + 1 < argc) {
        v = argv[++i];
        return true;
      }
      return false;
    };
    if (value("--feed") || value("--output") || value("--expect")) {
      std::string flag = arg.substr(0, arg.find('='));
      if (!Split(v, &name, &file))
        return Usage((flag + " expects NAME=FILE.npy").c_str());
      (flag == "--feed"     ? feed_files
       : flag == "--output" ? output_files
                            : expect_files)[name] = file;
    } else if (value("--benchmark")) {
      if (!absl::SimpleAtoi(v, &benchmark) || benchmark < 1)
        return Usage("--benchmark expects a positive number of runs");
    } else if (arg == "--profile") {
      profile = true;
    } else if (value("--threads")) {
      if (!absl::SimpleAtoi(v, &threads) || threads < 1)
        return Usage("--threads expects a positive number");
    } else if (arg == "--help" || arg == "-h") {
      Usage("runs a Kiln artifact");
      return 0;
    } else if (arg[0] == '-' || !model.empty()) {
      return Usage(("unexpected argument '" + arg + "'").c_str());
    } else {
      model = arg;
    }
  }
  if (model.empty())
    return Usage("no artifact given");

  kiln::Stopwatch watch;
  absl::StatusOr<std::unique_ptr<kiln::Executable>> executable =
      kiln::LoadArtifactFile(model);
  if (!executable.ok())
    return Fail(executable.status());
  double load_ms = watch.Millis();
  if (threads > 1)
    (*executable)->set_thread_pool(std::make_shared<kiln::ThreadPool>(threads));
  (*executable)->set_profiling(profile);

  std::map<std::string, kiln::Tensor> tensors;
  std::map<std::string, const kiln::Tensor *> feeds;
  for (const auto &[name, file] : feed_files) {
    absl::StatusOr<kiln::Tensor> t = kiln::ReadNpy(file);
    if (!t.ok())
      return Fail(absl::Status(t.status().code(),
                               "feed '" + name +
                                   "': " + std::string(t.status().message())));
    feeds[name] = &(tensors[name] = *std::move(t));
  }
  const kiln::Signature &signature = (*executable)->signature();
  auto names = [](const std::vector<kiln::TensorSpec> &specs) {
    std::string text;
    for (const kiln::TensorSpec &s : specs)
      text += (text.empty() ? "" : ", ") + s.name;
    return text.empty() ? std::string("none") : text;
  };
  auto has = [](const std::vector<kiln::TensorSpec> &specs,
                const std::string &name) {
    return std::any_of(
        specs.begin(), specs.end(),
        [&](const kiln::TensorSpec &s) { return s.name == name; });
  };
  for (const auto *files : {&output_files, &expect_files})
    for (const auto &[name, file] : *files)
      if (!has(signature.fetches, name))
        return Usage(((files == &output_files ? "--output" : "--expect") +
                      std::string(" names '") + name +
                      "', which is not a fetch of the artifact (its fetches: " +
                      names(signature.fetches) + ")")
                         .c_str());
  for (const auto &[name, file] : feeds)
    if (!has(signature.feeds, name))
      return Fail(absl::InvalidArgumentError(
          "feed '" + name + "' names no input of the artifact (its inputs: " +
          names(signature.feeds) + ")"));
  std::vector<kiln::Tensor> outputs;
  watch.Restart();
  if (absl::Status s = (*executable)->Run(feeds, &outputs); !s.ok())
    return Fail(s);
  double first_ms = watch.Millis();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string &name = signature.fetches[i].name;
    std::printf("%s: %s = %s\n", name.c_str(), outputs[i].TypeString().c_str(),
                outputs[i].ValuesString().c_str());
    auto file = output_files.find(name);
    if (file != output_files.end())
      if (absl::Status s = kiln::WriteNpy(file->second, outputs[i]); !s.ok())
        return Fail(s);
  }
  std::printf("load: %g ms, first run: %g ms\n", load_ms, first_ms);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string &name = signature.fetches[i].name;
    auto file = expect_files.find(name);
    if (file == expect_files.end())
      continue;
    absl::StatusOr<kiln::Tensor> expected = kiln::ReadNpy(file->second);
    if (!expected.ok())
      return Fail(expected.status());
    if (std::string diff = Difference(outputs[i], *expected); !diff.empty()) {
      std::fprintf(stderr, "mismatch: fetch '%s' %s\n", name.c_str(),
                   diff.c_str());
      return 3;
    }
  }
  if (benchmark > 0) {
    std::vector<double> times;
    for (int i = 0; i < benchmark; ++i) {
      watch.Restart();
      if (absl::Status s = (*executable)->Run(feeds, &outputs); !s.ok())
        return Fail(s);
      times.push_back(watch.Millis());
    }
    std::sort(times.begin(), times.end());
    std::printf("benchmark: %d runs, median %g ms, fastest %g ms\n", benchmark,
                times[times.size() / 2], times.front());
  }
  std::fputs((*executable)->ProfileString().c_str(), stdout);
  return 0;
}
