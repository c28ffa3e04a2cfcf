//===- artifact_test.cc - Artifact files, their loader and the cache ------===//
//
// Part of Kiln. An artifact must run exactly as the in-process compile does;
// a damaged, truncated, wrong-version or foreign one must be refused with an
// error that says which, never crash; the compilation cache must load what
// it stored and recompile what it cannot load.
//
//===----------------------------------------------------------------------===//
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "codegen/Compile.h"
#include "graph/importer.h"
#include "graph/loader.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "runtime/artifact.h"
#include "runtime/npy.h"
#include "session/session.h"
#include "tests/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string &name) {
  const char *dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

/// The artifact of a GraphDef file, compiled for this machine.
Artifact CompileFile(const std::string &path,
                     const PipelineOptions &options = {}) {
  absl::StatusOr<GraphDef> graph = LoadGraphDef(path);
  EXPECT_TRUE(graph.ok()) << graph.status();
  mlir::DialectRegistry registry;
  RegisterPipelineDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  absl::StatusOr<ImportedGraph> imported =
      ImportGraphDef(*graph, {}, context, {});
  EXPECT_TRUE(imported.ok()) << imported.status();
  absl::StatusOr<Artifact> artifact =
      CompileToArtifact(*imported->module,
                        Signature{imported->feeds, imported->fetches}, options);
  EXPECT_TRUE(artifact.ok()) << artifact.status();
  return *std::move(artifact);
}

AlignedBytes ToBytes(const std::string &s) {
  AlignedBytes bytes(s.size());
  if (!s.empty()) // An empty AlignedBytes has no data pointer.
    std::memcpy(bytes.data(), s.data(), s.size());
  return bytes;
}

/// Runs `session` on `x` and returns its one output.
Tensor RunOne(Session &session, const Tensor &x, const std::string &feed) {
  std::vector<Tensor> outputs;
  absl::Status s = session.Run({{feed, x}}, &outputs);
  EXPECT_TRUE(s.ok()) << s;
  return outputs.empty() ? Tensor() : outputs[0];
}

bool BitIdentical(const Tensor &a, const Tensor &b) {
  return a.TypeString() == b.TypeString() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.size_bytes()) == 0;
}

class ArtifactTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact_ = CompileFile("examples/aot/classifier.pbtxt");
    bytes_ = SerializeArtifact(artifact_);
    std::vector<double> v = testing::RandomValues(16, 7, -2, 2);
    x_ = *Tensor::FromVector<float>({1, 16}, {v.begin(), v.end()});
  }
  Artifact artifact_;
  std::string bytes_;
  Tensor x_;
};

TEST_F(ArtifactTest, RunsLikeTheInProcessCompile) {
  // The constants region is in the file, not in the code.
  EXPECT_EQ(artifact_.plan.constants.size(), 2560u);
  std::string path = TempPath("classifier.kiln");
  ASSERT_TRUE(WriteArtifactFile(artifact_, path).ok());
  EXPECT_TRUE(IsArtifactFile(path));
  EXPECT_FALSE(IsArtifactFile("examples/aot/classifier.pbtxt"));

  absl::StatusOr<std::unique_ptr<Session>> loaded =
      Session::CreateFromFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::unique_ptr<Session>> compiled =
      Session::CreateFromFile("examples/aot/classifier.pbtxt");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ((*loaded)->default_fetches(), std::vector<std::string>{"probs"});
  EXPECT_TRUE(BitIdentical(RunOne(**loaded, x_, "features"),
                           RunOne(**compiled, x_, "features")));
}

TEST_F(ArtifactTest, SessionOnAnArtifactNamesBadFeedsAndFetches) {
  std::string path = TempPath("names.kiln");
  ASSERT_TRUE(WriteArtifactFile(artifact_, path).ok());
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::CreateFromFile(path);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> outputs;
  EXPECT_THAT(std::string((*session)->Run({{"x", x_}}, &outputs).message()),
              HasSubstr("feed 'x' names no input of the artifact (its "
                        "inputs: features)"));
  EXPECT_THAT(
      std::string(
          (*session)->Run({{"features", x_}}, {"relu"}, &outputs).message()),
      HasSubstr("fetch 'relu' is not one the artifact was compiled for "
                "(probs)"));
  // "probs:0" is the same tensor as "probs".
  std::vector<Tensor> by_output;
  ASSERT_TRUE(
      (*session)->Run({{"features", x_}}, {"probs:0"}, &by_output).ok());
  ASSERT_EQ(by_output.size(), 1u);
  Tensor wrong = *Tensor::Allocate(DType::kF32, {2, 16});
  EXPECT_THAT(
      std::string((*session)->Run({{"features", wrong}}, &outputs).message()),
      HasSubstr("feed 'features': expected f32[1,16], got f32[2,16]"));
}

TEST_F(ArtifactTest, ManyLoadedAtOnceEachRunTheirOwnCode) {
  // Two different models loaded and unloaded in turns: a library must
  // never be mistaken for another that was loaded from the same memory
  // file descriptor number before.
  Artifact mlp = CompileFile("examples/mlp.pbtxt");
  absl::StatusOr<Tensor> mlp_x = ReadNpy("examples/mlp_x.npy");
  ASSERT_TRUE(mlp_x.ok());
  std::map<std::string, const Tensor *> cls_feeds = {{"features", &x_}};
  std::map<std::string, const Tensor *> mlp_feeds = {{"x", &*mlp_x}};
  std::vector<Tensor> expected_cls, expected_mlp;
  {
    auto a = LoadArtifact(*ParseArtifact(ToBytes(bytes_)));
    auto b = LoadArtifact(*ParseArtifact(ToBytes(SerializeArtifact(mlp))));
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE((*a)->Run(cls_feeds, &expected_cls).ok());
    ASSERT_TRUE((*b)->Run(mlp_feeds, &expected_mlp).ok());
  }
  std::string mlp_bytes = SerializeArtifact(mlp);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::unique_ptr<Executable>> live;
    for (int i = 0; i < 3; ++i) {
      bool cls = (round + i) % 2 == 0;
      auto e = LoadArtifact(*ParseArtifact(ToBytes(cls ? bytes_ : mlp_bytes)));
      ASSERT_TRUE(e.ok()) << e.status();
      std::vector<Tensor> out;
      ASSERT_TRUE((*e)->Run(cls ? cls_feeds : mlp_feeds, &out).ok());
      EXPECT_TRUE(
          BitIdentical(out[0], cls ? expected_cls[0] : expected_mlp[0]));
      live.push_back(*std::move(e));
    }
  }
}

int OpenFileDescriptors() {
  int n = 0;
  for (const auto &entry : std::filesystem::directory_iterator("/proc/self/fd"))
    n += entry.is_symlink() ? 1 : 0;
  return n;
}

TEST_F(ArtifactTest, UnloadingReleasesTheCode) {
  // Each load opens a memory file for the shared object; unloading must
  // close it (the library is unloaded), or a long-lived process that
  // loads models would run out of descriptors and memory.
  auto load_and_drop = [&] {
    auto e = LoadArtifact(*ParseArtifact(ToBytes(bytes_)));
    ASSERT_TRUE(e.ok()) << e.status();
  };
  load_and_drop();
  int before = OpenFileDescriptors();
  for (int i = 0; i < 200; ++i)
    load_and_drop();
  EXPECT_EQ(OpenFileDescriptors(), before);
}

TEST_F(ArtifactTest, RefusesEveryTruncation) {
  for (size_t n = 0; n < bytes_.size(); n += (n < 128 ? 1 : 61)) {
    absl::StatusOr<Artifact> a = ParseArtifact(ToBytes(bytes_.substr(0, n)));
    ASSERT_FALSE(a.ok()) << n;
    if (n >= 8)
      EXPECT_THAT(std::string(a.status().message()), HasSubstr("truncated"))
          << n;
    else
      EXPECT_THAT(std::string(a.status().message()),
                  HasSubstr("not a Kiln artifact"));
  }
}

TEST_F(ArtifactTest, RefusesEveryChangedByte) {
  for (size_t i = 0; i < bytes_.size(); i += (i < 64 ? 1 : 29)) {
    std::string changed = bytes_;
    changed[i] ^= 0x5a;
    absl::StatusOr<Artifact> a = ParseArtifact(ToBytes(changed));
    // Every header field is checked, and the checksum covers the rest.
    ASSERT_FALSE(a.ok()) << "byte " << i << " changed and still accepted";
    std::string m(a.status().message());
    EXPECT_TRUE(absl::StrContains(m, "corrupt") ||
                absl::StrContains(m, "truncated") ||
                absl::StrContains(m, "not a Kiln artifact") ||
                absl::StrContains(m, "format version"))
        << "byte " << i << ": " << m;
  }
}

TEST_F(ArtifactTest, RefusesChangedHeaderFields) {
  // The checksum covers the header too: a section size off by a little
  // would otherwise pass every other check.
  for (size_t field : {16, 32, 40, 48, 56}) {
    std::string changed = bytes_;
    uint64_t v;
    std::memcpy(&v, &changed[field], 8);
    v -= 64;
    std::memcpy(&changed[field], &v, 8);
    absl::StatusOr<Artifact> a = ParseArtifact(ToBytes(changed));
    ASSERT_FALSE(a.ok()) << "field at " << field;
  }
}

TEST_F(ArtifactTest, RefusesADirectory) {
  std::string dir = TempPath("a-directory.kiln");
  std::filesystem::create_directories(dir);
  absl::StatusOr<std::unique_ptr<Executable>> e = LoadArtifactFile(dir);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("is not a file"));
}

TEST_F(ArtifactTest, RefusesAnotherFormatVersion) {
  std::string newer = bytes_;
  newer[8] = 3;
  absl::StatusOr<Artifact> a = ParseArtifact(ToBytes(newer));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(a.status().message()),
              HasSubstr("artifact format version 3; this runtime reads "
                        "version 2"));
}

TEST_F(ArtifactTest, RefusesAnotherMachine) {
  Artifact arm = artifact_;
  arm.target.triple = "aarch64-unknown-linux-gnu";
  arm.target.cpu = "neoverse-v1";
  absl::StatusOr<std::unique_ptr<Executable>> e =
      LoadArtifact(*ParseArtifact(ToBytes(SerializeArtifact(arm))));
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("compiled for aarch64-unknown-linux-gnu (CPU "
                        "neoverse-v1); this machine is x86_64"));

  Artifact future = artifact_;
  future.target.features.push_back("avx10.2");
  e = LoadArtifact(*ParseArtifact(ToBytes(SerializeArtifact(future))));
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("which has avx10.2, a feature this runtime cannot "
                        "check"));

  // A feature this CPU lacks, if it lacks one of those Kiln checks.
  for (const std::string &f : CheckableCpuFeatures()) {
    TargetDescription t = artifact_.target;
    t.features = {f};
    if (CheckTargetRunsHere(t).ok())
      continue;
    EXPECT_THAT(std::string(CheckTargetRunsHere(t).message()),
                HasSubstr("which has " + f + "; this CPU does not"));
  }
}

TEST_F(ArtifactTest, RefusesPlansThatReachOutsideTheirMemory) {
  auto refused = [&](Artifact a, const std::string &why) {
    absl::StatusOr<Artifact> parsed =
        ParseArtifact(ToBytes(SerializeArtifact(a)));
    ASSERT_FALSE(parsed.ok()) << why;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(why));
  };
  ASSERT_FALSE(artifact_.plan.dispatches.empty());
  Artifact a = artifact_;
  a.plan.dispatches[0].args[0] =
      ArgRef{ArgRef::Kind::kArena, 0, a.plan.arena_bytes - 4, 8};
  refused(a, "lies outside the arena");
  a = artifact_;
  a.plan.dispatches[0].args[0] = ArgRef{ArgRef::Kind::kConstant, 0, 2048, 1024};
  refused(a, "lies outside the constants");
  a = artifact_;
  a.plan.dispatches[0].args[0] = ArgRef{ArgRef::Kind::kFeed, 1};
  refused(a, "names feed or fetch 1 of 1");
  a = artifact_;
  a.plan.dispatches.back().args.back() = ArgRef{ArgRef::Kind::kFetch, 0, 0, 8};
  refused(a, "takes 8 bytes of 'probs', which has 16");
  a = artifact_;
  a.plan.dispatches[0].kernel = 9;
  refused(a, "names kernel 9 of 3");
  a = artifact_;
  a.plan.dispatches[0].grid = -1;
  refused(a, "has grid -1");
  a = artifact_;
  a.signature.feeds[0].shape = {-1, 16};
  refused(a, "invalid shape [-1,16]");
}

TEST_F(ArtifactTest, RefusesCodeWithoutItsKernels) {
  Artifact renamed = artifact_;
  renamed.symbol_prefix = "other_";
  absl::StatusOr<std::unique_ptr<Executable>> e = LoadArtifact(renamed);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("its code has no kernel other_k0_"));
  Artifact garbage = artifact_;
  garbage.code = "not a shared object";
  e = LoadArtifact(garbage);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("cannot load its kernels"));
}

TEST(CompilationCacheTest, SecondStartLoadsAndDamagedEntriesAreReplaced) {
  std::string dir = TempPath("cache");
  SessionOptions options;
  options.cache_dir = dir;
  Tensor x = *Tensor::FromVector<float>({2, 4}, {1, -2, 3, -4, 5, 6, -7, 8});

  auto start = [&](const SessionOptions &o) {
    absl::StatusOr<std::unique_ptr<Session>> s =
        Session::CreateFromFile("examples/mlp.pbtxt", o);
    EXPECT_TRUE(s.ok()) << s.status();
    return *std::move(s);
  };
  std::unique_ptr<Session> first = start(options);
  EXPECT_FALSE(first->last_compile_stats().from_cache);
  Tensor expected = RunOne(*first, x, "x");

  std::unique_ptr<Session> second = start(options);
  EXPECT_TRUE(second->last_compile_stats().from_cache);
  EXPECT_TRUE(BitIdentical(RunOne(*second, x, "x"), expected));

  // Other options are another entry.
  SessionOptions o0 = options;
  o0.pipeline.opt_level = 0;
  EXPECT_FALSE(start(o0)->last_compile_stats().from_cache);
  EXPECT_TRUE(start(o0)->last_compile_stats().from_cache);

  // Damage every entry: each is compiled again and replaced.
  int damaged = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    std::fstream f(entry.path(),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
    ++damaged;
  }
  EXPECT_EQ(damaged, 2);
  std::unique_ptr<Session> third = start(options);
  EXPECT_FALSE(third->last_compile_stats().from_cache);
  EXPECT_TRUE(BitIdentical(RunOne(*third, x, "x"), expected));
  EXPECT_TRUE(start(options)->last_compile_stats().from_cache);

  // An entry that cannot be written: the Session works and says why.
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    std::filesystem::remove(entry.path());
    std::filesystem::create_directory(entry.path());
  }
  std::unique_ptr<Session> unwritable = start(options);
  EXPECT_FALSE(unwritable->last_compile_stats().from_cache);
  EXPECT_THAT(unwritable->last_compile_stats().cache_warning,
              HasSubstr("compilation cache: cannot write"));
  EXPECT_TRUE(BitIdentical(RunOne(*unwritable, x, "x"), expected));

  // A cache folder that cannot be one is an error at Create.
  SessionOptions bad;
  bad.cache_dir = "examples/mlp.pbtxt/cache";
  EXPECT_THAT(std::string(Session::CreateFromFile("examples/mlp.pbtxt", bad)
                              .status()
                              .message()),
              HasSubstr("cache_dir: cannot create 'examples/mlp.pbtxt/cache'"));
}

} // namespace
} // namespace kiln
