//===- onnx_test_runner.cc - Run ONNX backend test folders ----------------===//
//
// Part of Kiln. Floats must satisfy |actual - expected| <= 1e-5 + 1e-3 *
// |expected| (NaN matches NaN, an infinity matches the same infinity);
// integers and bools must match exactly; dtypes and shapes always.
//
//===----------------------------------------------------------------------===//
#include "tools/cli/onnx_test_runner.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/onnx_importer.h"
#include "graph/source.h"
#include "onnx/onnx_pb.h"
#include "runtime/artifact.h"
#include "runtime/npy.h"
#include "session/session.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

constexpr double kRtol = 1e-3, kAtol = 1e-5;

enum class Outcome { kPass, kFail, kSkip };

struct Result {
  Outcome outcome;
  std::string detail;
};

/// Empty when `actual` matches `expected`; otherwise the worst element.
std::string Compare(const Tensor &actual, const Tensor &expected) {
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape())
    return absl::StrCat("got ", actual.TypeString(), ", expected ",
                        expected.TypeString());
  bool exact =
      expected.dtype() != DType::kF32 && expected.dtype() != DType::kF64 &&
      expected.dtype() != DType::kF16 && expected.dtype() != DType::kBF16;
  int64_t worst = -1;
  double worst_excess = 0;
  for (int64_t i = 0; i < expected.num_elements(); ++i) {
    if (exact) {
      // 64-bit integers compare bit for bit; the rest exactly as doubles.
      bool equal =
          DTypeSize(expected.dtype()) == 8
              ? actual.data<int64_t>()[i] == expected.data<int64_t>()[i]
              : actual.ElementAsDouble(i) == expected.ElementAsDouble(i);
      if (!equal && worst < 0)
        worst = i;
      continue;
    }
    double a = actual.ElementAsDouble(i), e = expected.ElementAsDouble(i);
    double excess;
    if (std::isnan(e))
      excess = std::isnan(a) ? 0 : INFINITY;
    else if (std::isinf(e))
      excess = a == e ? 0 : INFINITY;
    else
      excess = std::isnan(a)
                   ? INFINITY
                   : std::fabs(a - e) - (kAtol + kRtol * std::fabs(e));
    if (excess > 0 && (worst < 0 || excess > worst_excess)) {
      worst = i;
      worst_excess = excess;
    }
  }
  if (worst < 0)
    return "";
  return absl::StrCat("element ", worst, " is ", actual.ElementAsDouble(worst),
                      ", expected ", expected.ElementAsDouble(worst));
}

/// Reads test_data_set/input_k.pb for every input of the model.
absl::StatusOr<std::vector<Tensor>> ReadInputs(const fs::path &set,
                                               size_t count) {
  std::vector<Tensor> tensors;
  for (size_t k = 0;; ++k) {
    fs::path file = set / absl::StrCat("input_", k, ".pb");
    if (!fs::exists(file))
      break;
    if (k >= count)
      return absl::InvalidArgumentError(
          absl::StrCat(file.string(), ": more inputs than the model has"));
    absl::StatusOr<Tensor> t = ReadOnnxTensorFile(file.string());
    if (!t.ok())
      return t.status();
    tensors.push_back(*std::move(t));
  }
  return tensors;
}

/// Older ONNX test data stores bfloat16 tensors as uint16 (numpy has no
/// bfloat16); such a tensor is read as the bf16 the model declares.
std::map<std::string, bool> Bfloat16Values(const fs::path &model) {
  std::map<std::string, bool> names;
  onnx::ModelProto proto;
  std::ifstream in(model, std::ios::binary);
  if (!proto.ParseFromIstream(&in))
    return names;
  for (const auto *list : {&proto.graph().input(), &proto.graph().output()})
    for (const onnx::ValueInfoProto &v : *list)
      if (v.type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16)
        names[v.name()] = true;
  return names;
}

Tensor AsBfloat16IfDeclared(Tensor t, const std::string &name,
                            const std::map<std::string, bool> &bf16) {
  if (t.dtype() != DType::kU16 || !bf16.count(name))
    return t;
  absl::StatusOr<Tensor> out = Tensor::Allocate(DType::kBF16, t.shape());
  if (!out.ok())
    return t;
  std::memcpy(out->raw_data(), t.raw_data(), t.size_bytes());
  return *out;
}

Outcome OutcomeOf(const absl::Status &s) {
  return s.code() == absl::StatusCode::kUnimplemented ? Outcome::kSkip
                                                      : Outcome::kFail;
}

/// Empty when `a` and `b` have the same dtype, shape and bytes.
std::string CompareBits(const Tensor &a, const Tensor &b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape())
    return absl::StrCat(a.TypeString(), " vs ", b.TypeString());
  size_t width = DTypeSize(a.dtype());
  const char *pa = static_cast<const char *>(a.raw_data());
  const char *pb = static_cast<const char *>(b.raw_data());
  for (int64_t i = 0; i < a.num_elements(); ++i)
    if (std::memcmp(pa + i * width, pb + i * width, width) != 0)
      return absl::StrCat("element ", i, " differs: ", a.ElementAsDouble(i),
                          " vs ", b.ElementAsDouble(i));
  return "";
}

/// The start of a saved case's detail when its run needed a device this
/// machine lacks.
constexpr char kNotRun[] = "saved, not run: ";

/// Writes what tools/gpu_check.sh needs to run a test with kiln-run into
/// the session's cache folder (which holds its artifact): the feeds and
/// the expected fetches as .npy files, and case.txt, one line per file:
/// "feed|expect <TAB> name <TAB> file". Returns an error, or "".
std::string SaveCase(const fs::path &folder, const Session::Feeds &feeds,
                     const fs::path &set,
                     const std::vector<std::string> &outputs,
                     const std::map<std::string, bool> &bf16) {
  // Only the feeds the artifact takes (the compiler may have folded an
  // input away: a Shape's, a CastLike's `like`).
  std::set<std::string> inputs;
  bool found = false;
  for (const fs::directory_entry &e : fs::directory_iterator(folder)) {
    if (e.path().extension() != kArtifactExtension)
      continue;
    absl::StatusOr<Artifact> artifact = ReadArtifactFile(e.path().string());
    if (!artifact.ok())
      return std::string(artifact.status().message());
    for (const TensorSpec &spec : artifact->signature.feeds)
      inputs.insert(spec.name);
    found = true;
  }
  if (!found)
    return "no artifact in " + folder.string();
  std::ofstream index(folder / "case.txt");
  for (size_t k = 0; k < feeds.size(); ++k) {
    if (!inputs.count(feeds[k].first))
      continue;
    std::string file = absl::StrCat("feed_", k, ".npy");
    if (absl::Status s = WriteNpy((folder / file).string(), feeds[k].second);
        !s.ok())
      return std::string(s.message());
    index << "feed\t" << feeds[k].first << "\t" << file << "\n";
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    absl::StatusOr<Tensor> expected =
        ReadOnnxTensorFile((set / absl::StrCat("output_", k, ".pb")).string());
    if (!expected.ok())
      return std::string(expected.status().message());
    std::string file = absl::StrCat("expect_", k, ".npy");
    if (absl::Status s =
            WriteNpy((folder / file).string(),
                     AsBfloat16IfDeclared(*expected, outputs[k], bf16));
        !s.ok())
      return std::string(s.message());
    index << "expect\t" << outputs[k] << "\t" << file << "\n";
  }
  return index ? "" : "cannot write " + (folder / "case.txt").string();
}

/// "suite/test" for a test folder.
std::string TestKey(const fs::path &dir) {
  fs::path clean = dir;
  if (clean.filename().empty())
    clean = clean.parent_path();
  return (clean.parent_path().filename() / clean.filename()).string();
}

/// Where --save-cases puts the test `key` ("suite/test"): DIR/suite_test.
fs::path CaseFolder(const std::string &save_cases, std::string key) {
  std::replace(key.begin(), key.end(), '/', '_');
  return fs::path(save_cases) / key;
}

Result RunOne(const fs::path &dir, const OnnxTestOptions &test_options) {
  std::vector<fs::path> sets;
  for (const fs::directory_entry &e : fs::directory_iterator(dir))
    if (e.is_directory() &&
        e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty())
    return {Outcome::kFail, "no test_data_set_N folder"};

  // A static compiler needs shapes, axes and the like at compile time. When
  // the model takes them as inputs, the integer inputs are frozen to the
  // first data set's values and only that data set runs.
  std::vector<std::string> inputs, outputs;
  std::set<std::string> frozen;
  fs::path case_dir; ///< With save_cases: where this test's case goes.
  absl::StatusOr<std::unique_ptr<Session>> session, unplanned;
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<std::unique_ptr<GraphSource>> source =
        LoadOnnxSource((dir / "model.onnx").string());
    if (!source.ok())
      return {OutcomeOf(source.status()),
              std::string(source.status().message())};
    inputs = (*source)->InputNames();
    outputs = (*source)->DefaultFetches();
    frozen.clear();
    if (attempt > 0) {
      absl::StatusOr<std::vector<Tensor>> values =
          ReadInputs(sets[0], inputs.size());
      if (!values.ok())
        return {OutcomeOf(values.status()),
                std::string(values.status().message())};
      // First integer inputs (shapes, axes), then also scalars and short
      // vectors (Clip bounds, Range limits, pad values, Resize's scales
      // and roi).
      for (size_t k = 0; k < values->size(); ++k) {
        DType d = (*values)[k].dtype();
        bool integer = d == DType::kI64 || d == DType::kI32;
        const std::vector<int64_t> &shape = (*values)[k].shape();
        bool small = shape.empty() || (shape.size() == 1 && shape[0] <= 16);
        if (!integer && !(attempt == 2 && small))
          continue;
        if (absl::Status s = (*source)->Freeze(inputs[k], (*values)[k]);
            !s.ok())
          return {Outcome::kFail, std::string(s.message())};
        frozen.insert(inputs[k]);
      }
    }
    SessionOptions options;
    options.pipeline.opt_level = test_options.opt_level;
    options.pipeline.reuse_memory = test_options.reuse_memory;
    options.pipeline.target = test_options.target;
    options.pipeline.gpu_arch = test_options.gpu_arch;
    options.pipeline.gpu_libraries = test_options.gpu_libraries;
    options.pipeline.allow_tf32 = test_options.allow_tf32;
    options.threads = test_options.threads;
    if (!test_options.save_cases.empty()) {
      // The session writes its artifact there (as a compilation cache).
      case_dir = CaseFolder(test_options.save_cases, TestKey(dir));
      options.cache_dir = case_dir.string();
    }
    if (test_options.differential_plan) {
      // The same graph without memory reuse, from a second copy of the
      // model with the same inputs frozen.
      absl::StatusOr<std::unique_ptr<GraphSource>> copy =
          LoadOnnxSource((dir / "model.onnx").string());
      if (!copy.ok())
        return {OutcomeOf(copy.status()), std::string(copy.status().message())};
      if (attempt > 0) {
        absl::StatusOr<std::vector<Tensor>> values =
            ReadInputs(sets[0], inputs.size());
        for (size_t k = 0; values.ok() && k < values->size(); ++k)
          if (frozen.count(inputs[k]))
            (void)(*copy)->Freeze(inputs[k], (*values)[k]);
      }
      SessionOptions unplanned_options = options;
      unplanned_options.pipeline.reuse_memory = false;
      unplanned_options.threads = 1;
      unplanned = Session::Create(*std::move(copy), unplanned_options);
    }
    session = Session::Create(*std::move(source), options);
    if (session.ok() || attempt == 2 ||
        session.status().code() != absl::StatusCode::kUnimplemented ||
        session.status().message().find("known at compile time") ==
            std::string::npos)
      break;
  }
  // Saving cases for a device this machine lacks: the session wrote its
  // artifact before loading it failed; the case is saved, not run.
  bool save = !test_options.save_cases.empty();
  bool no_device = save && !session.ok() &&
                   session.status().code() == absl::StatusCode::kUnavailable;
  if (!session.ok() && !no_device)
    return {OutcomeOf(session.status()),
            std::string(session.status().message())};
  if (test_options.differential_plan && !unplanned.ok())
    return {Outcome::kFail, absl::StrCat("without memory reuse: ",
                                         unplanned.status().message())};
  if (!frozen.empty() || save)
    sets.resize(1);
  std::map<std::string, bool> bf16 = Bfloat16Values(dir / "model.onnx");

  for (const fs::path &set : sets) {
    absl::StatusOr<std::vector<Tensor>> values = ReadInputs(set, inputs.size());
    if (!values.ok())
      return {OutcomeOf(values.status()),
              std::string(values.status().message())};
    Session::Feeds feeds;
    for (size_t k = 0; k < values->size(); ++k)
      if (!frozen.count(inputs[k]))
        feeds.emplace_back(inputs[k],
                           AsBfloat16IfDeclared((*values)[k], inputs[k], bf16));
    std::vector<Tensor> results;
    absl::Status s = no_device ? session.status()
                               : (*session)->Run(feeds, outputs, &results);
    if (save) {
      if (!s.ok() && s.code() != absl::StatusCode::kUnavailable)
        return {OutcomeOf(s), std::string(s.message())};
      // A case that cannot be saved (bfloat16 has no .npy form) is left
      // out of the folder; the test's outcome is what the run says.
      std::string error = SaveCase(case_dir, feeds, set, outputs, bf16);
      if (!error.empty())
        fs::remove_all(case_dir);
      if (!s.ok())
        return {Outcome::kPass,
                absl::StrCat(kNotRun, s.message(),
                             error.empty() ? "" : "; not saved: " + error)};
    }
    if (!s.ok())
      return {OutcomeOf(s), std::string(s.message())};
    if (test_options.differential_plan) {
      std::vector<Tensor> reference;
      absl::Status u = (*unplanned)->Run(feeds, outputs, &reference);
      if (!u.ok())
        return {Outcome::kFail,
                absl::StrCat("without memory reuse: ", u.message())};
      for (size_t k = 0; k < outputs.size(); ++k)
        if (std::string diff = CompareBits(results[k], reference[k]);
            !diff.empty())
          return {Outcome::kFail,
                  absl::StrCat(set.filename().string(), " output '", outputs[k],
                               "' differs from the run without memory "
                               "reuse on one thread: ",
                               diff)};
    }
    for (size_t k = 0; k < outputs.size(); ++k) {
      fs::path file = set / absl::StrCat("output_", k, ".pb");
      absl::StatusOr<Tensor> expected = ReadOnnxTensorFile(file.string());
      if (!expected.ok())
        return {OutcomeOf(expected.status()),
                std::string(expected.status().message())};
      std::string diff = Compare(
          results[k], AsBfloat16IfDeclared(*expected, outputs[k], bf16));
      if (!diff.empty())
        return {Outcome::kFail,
                absl::StrCat(set.filename().string(), " output '", outputs[k],
                             "': ", diff)};
    }
  }
  return {Outcome::kPass, frozen.empty() ? "" : "inputs frozen"};
}

/// A multi-line message on one line.
std::string OneLine(std::string text) {
  for (size_t pos = text.find("\n  "); pos != std::string::npos;
       pos = text.find("\n  "))
    text.replace(pos, 3, " | ");
  for (char &c : text)
    if (c == '\n')
      c = ' ';
  return text;
}

} // namespace

int RunOnnxTests(const std::vector<std::string> &paths,
                 const OnnxTestOptions &options, std::ostream &out) {
  std::map<std::string, std::string> expected_skips;
  if (!options.expected_skips.empty()) {
    std::ifstream in(options.expected_skips);
    if (!in) {
      out << "error: cannot read " << options.expected_skips << "\n";
      return -1;
    }
    std::string line;
    while (std::getline(in, line)) {
      size_t hash = line.find('#');
      if (hash != std::string::npos)
        line.resize(hash);
      size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos)
        continue;
      size_t end = line.find_first_of(" \t", start);
      std::string key = line.substr(start, end - start);
      std::string reason =
          end == std::string::npos
              ? ""
              : line.substr(line.find_first_not_of(" \t", end));
      expected_skips[key] = reason;
    }
  }
  std::vector<fs::path> tests;
  for (const std::string &p : paths) {
    fs::path path(p);
    if (fs::exists(path / "model.onnx")) {
      tests.push_back(path);
      continue;
    }
    std::vector<fs::path> found;
    if (fs::is_directory(path))
      for (const fs::directory_entry &e : fs::directory_iterator(path))
        if (fs::exists(e.path() / "model.onnx"))
          found.push_back(e.path());
    if (found.empty()) {
      out << "FAIL " << p << ": not an ONNX test folder (no model.onnx)\n";
      tests.push_back(path);
    }
    std::sort(found.begin(), found.end());
    tests.insert(tests.end(), found.begin(), found.end());
  }
  int passed = 0, failed = 0, skipped = 0, disagreed = 0;
  for (const fs::path &dir : tests) {
    std::string key = TestKey(dir);
    Result r = fs::exists(dir / "model.onnx")
                   ? RunOne(dir, options)
                   : Result{Outcome::kFail, "no model.onnx"};
    auto listed = expected_skips.find(key);
    // A listed test whose reason starts with "data:" has expected outputs
    // that the current ONNX specification contradicts: it must run and
    // fail, and is counted apart.
    bool wrongData = listed != expected_skips.end() &&
                     absl::StartsWith(listed->second, "data:");
    if (!options.save_cases.empty() &&
        (wrongData || r.outcome != Outcome::kPass)) {
      // Only passing tests with right expected outputs are cases to check
      // elsewhere.
      fs::remove_all(CaseFolder(options.save_cases, key));
      if (wrongData && r.outcome == Outcome::kPass &&
          absl::StartsWith(r.detail, kNotRun))
        r = {Outcome::kFail, "not run here"};
    }
    if (wrongData) {
      if (r.outcome == Outcome::kFail) {
        ++disagreed;
        out << "DISAGREE " << key << ": " << listed->second << " ("
            << OneLine(r.detail) << ")\n";
      } else {
        ++failed;
        out << "FAIL " << key << ": listed as disagreeing with its data but "
            << (r.outcome == Outcome::kPass ? "passes" : "is unsupported")
            << "; update the list\n";
      }
    } else if (r.outcome == Outcome::kSkip && listed != expected_skips.end()) {
      ++skipped;
      out << "SKIP " << key << ": " << listed->second << "\n";
    } else if (r.outcome == Outcome::kPass && listed != expected_skips.end()) {
      ++failed;
      out << "FAIL " << key
          << ": passes but is listed as an expected skip; remove it from "
             "the list\n";
    } else if (r.outcome == Outcome::kPass) {
      ++passed;
      out << "PASS " << key << "\n";
    } else if (r.outcome == Outcome::kSkip && options.expected_skips.empty()) {
      ++skipped;
      out << "SKIP " << key << ": " << OneLine(r.detail) << "\n";
    } else {
      ++failed;
      out << "FAIL " << key << ": "
          << (r.outcome == Outcome::kSkip ? "unsupported and not an expected "
                                            "skip: "
                                          : "")
          << OneLine(r.detail) << "\n";
    }
  }
  out << passed << " passed, " << failed << " failed, " << skipped
      << " skipped";
  if (disagreed > 0)
    out << ", " << disagreed << " disagree with outdated expected data";
  out << "\n";
  return failed;
}

} // namespace kiln
