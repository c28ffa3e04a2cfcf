//===- artifact.cc - A compiled model as one file -------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/artifact.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/cuda_code.h"
#include "runtime/cuda_device.h"
#include "runtime/hash.h"

namespace kiln {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'M', 'O', 'D', 'L'};
constexpr size_t kHeaderBytes = 64;

/// The header's fields, at these byte offsets.
enum HeaderField : size_t {
  kVersionAt = 8,       // u32
  kHeaderSizeAt = 12,   // u32
  kFileSizeAt = 16,     // u64
  kChecksumAt = 24,     // u64, of every byte after the header
  kMetaSizeAt = 32,     // u64; meta starts right after the header
  kCodeSizeAt = 40,     // u64; code follows meta
  kConstantsAt = 48,    // u64: offset, 64-byte aligned
  kConstantsSizeAt = 56 // u64
};

void PutU64At(std::string &s, size_t at, uint64_t v) {
  std::memcpy(&s[at], &v, sizeof(v));
}
uint64_t GetU64At(const uint8_t *p, size_t at) {
  uint64_t v;
  std::memcpy(&v, p + at, sizeof(v));
  return v;
}
uint32_t GetU32At(const uint8_t *p, size_t at) {
  uint32_t v;
  std::memcpy(&v, p + at, sizeof(v));
  return v;
}

/// Meta is a sequence of little-endian integers and length-prefixed
/// strings.
class Writer {
public:
  void U64(uint64_t v) { bytes_.append(reinterpret_cast<char *>(&v), 8); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(std::string_view s) {
    U64(s.size());
    bytes_.append(s);
  }
  std::string &bytes() { return bytes_; }

private:
  std::string bytes_;
};

/// Reads what Writer wrote; past the end or on a bad value it remembers the
/// first error and returns zeros.
class Reader {
public:
  Reader(const uint8_t *p, size_t n) : p_(p), n_(n) {}
  uint64_t U64(const char *what) {
    if (!error_.empty())
      return 0;
    if (n_ - at_ < 8) {
      Fail(absl::StrCat("meta ends inside ", what));
      return 0;
    }
    uint64_t v = GetU64At(p_, at_);
    at_ += 8;
    return v;
  }
  int64_t I64(const char *what) { return static_cast<int64_t>(U64(what)); }
  /// A count of items each taking at least 8 bytes: bounded by what is
  /// left, so that a corrupt count cannot ask for gigabytes.
  size_t Count(const char *what) {
    uint64_t v = U64(what);
    if (v > (n_ - at_) / 8) {
      Fail(absl::StrCat("meta: ", what, " count ", v, " is too large"));
      return 0;
    }
    return v;
  }
  std::string Str(const char *what) {
    uint64_t size = U64(what);
    if (!error_.empty())
      return "";
    if (size > n_ - at_) {
      Fail(absl::StrCat("meta ends inside ", what));
      return "";
    }
    std::string s(reinterpret_cast<const char *>(p_ + at_), size);
    at_ += size;
    return s;
  }
  void Fail(std::string message) {
    if (error_.empty())
      error_ = std::move(message);
  }
  const std::string &error() const { return error_; }
  bool done() const { return at_ == n_; }

private:
  const uint8_t *p_;
  size_t n_;
  size_t at_ = 0;
  std::string error_;
};

void WriteSpec(Writer &w, const TensorSpec &spec) {
  w.Str(spec.name);
  w.I64(static_cast<int64_t>(spec.dtype));
  w.U64(spec.shape.size());
  for (int64_t d : spec.shape)
    w.I64(d);
}

TensorSpec ReadSpec(Reader &r) {
  TensorSpec spec;
  spec.name = r.Str("a tensor name");
  int64_t dtype = r.I64("a dtype");
  spec.dtype = static_cast<DType>(dtype);
  if (DTypeSize(spec.dtype) == 0 || dtype != static_cast<int>(spec.dtype))
    r.Fail(
        absl::StrCat("meta: '", spec.name, "' has an invalid dtype ", dtype));
  size_t rank = r.Count("a rank");
  for (size_t i = 0; i < rank; ++i)
    spec.shape.push_back(r.I64("a dimension"));
  absl::StatusOr<int64_t> n = NumElements(spec.shape);
  if (!n.ok() || *n > std::numeric_limits<int64_t>::max() / 16)
    r.Fail(absl::StrCat("meta: '", spec.name, "' has an invalid shape ",
                        ShapeToString(spec.shape)));
  return spec;
}

std::string SerializeMeta(const Artifact &a) {
  Writer w;
  w.Str(a.kiln_version);
  w.Str(a.target.backend);
  w.Str(a.target.triple);
  w.Str(a.target.cpu);
  w.U64(a.target.features.size());
  for (const std::string &f : a.target.features)
    w.Str(f);
  for (const auto *specs : {&a.signature.feeds, &a.signature.fetches}) {
    w.U64(specs->size());
    for (const TensorSpec &spec : *specs)
      WriteSpec(w, spec);
  }
  const LaunchPlan &plan = a.plan;
  w.Str(a.symbol_prefix);
  w.U64(plan.kernels.size());
  for (const std::string &k : plan.kernels)
    w.Str(k);
  w.I64(plan.arena_bytes);
  w.I64(plan.arena_lower_bound);
  w.U64(plan.dispatches.size());
  for (const Dispatch &d : plan.dispatches) {
    w.I64(d.kernel);
    w.I64(d.grid);
    w.U64(d.args.size());
    for (const ArgRef &arg : d.args) {
      w.I64(static_cast<int64_t>(arg.kind));
      w.I64(arg.index);
      w.I64(arg.offset);
      w.I64(arg.bytes);
      w.I64(arg.scratch);
      w.Str(arg.type);
    }
  }
  w.U64(plan.checks.size());
  for (const RuntimeCheck &check : plan.checks) {
    w.I64(check.offset);
    w.Str(check.message);
  }
  return std::move(w.bytes());
}

/// Whether [offset, offset + bytes) lies in [0, size).
bool InRange(int64_t offset, int64_t bytes, int64_t size) {
  return offset >= 0 && bytes >= 0 && offset <= size && bytes <= size - offset;
}

/// Reads meta into `a` (all but the code and the constants); checks that
/// every index and range of the plan is in bounds, given the size of the
/// constants region.
absl::Status ParseMeta(Reader &r, int64_t constants_bytes, Artifact &a) {
  a.kiln_version = r.Str("the Kiln version");
  a.target.backend = r.Str("the target");
  a.target.triple = r.Str("the target triple");
  a.target.cpu = r.Str("the target CPU");
  size_t features = r.Count("the CPU features");
  for (size_t i = 0; i < features; ++i)
    a.target.features.push_back(r.Str("a CPU feature"));
  for (auto *specs : {&a.signature.feeds, &a.signature.fetches}) {
    size_t n = r.Count("the feeds or fetches");
    for (size_t i = 0; i < n && r.error().empty(); ++i)
      specs->push_back(ReadSpec(r));
  }
  LaunchPlan &plan = a.plan;
  a.symbol_prefix = r.Str("the symbol prefix");
  size_t kernels = r.Count("the kernels");
  for (size_t i = 0; i < kernels; ++i)
    plan.kernels.push_back(r.Str("a kernel name"));
  plan.arena_bytes = r.I64("the arena size");
  plan.arena_lower_bound = r.I64("the arena lower bound");
  if (plan.arena_bytes < 0 || plan.arena_lower_bound < 0)
    r.Fail("meta: negative arena size");
  size_t dispatches = r.Count("the dispatches");
  for (size_t i = 0; i < dispatches && r.error().empty(); ++i) {
    Dispatch d;
    int64_t kernel = r.I64("a dispatch's kernel");
    d.grid = r.I64("a dispatch's grid");
    if (kernel < 0 || kernel >= static_cast<int64_t>(plan.kernels.size()))
      r.Fail(absl::StrCat("plan: dispatch ", i, " names kernel ", kernel,
                          " of ", plan.kernels.size()));
    if (d.grid < 0)
      r.Fail(absl::StrCat("plan: dispatch ", i, " has grid ", d.grid));
    d.kernel = static_cast<int>(kernel);
    size_t args = r.Count("a dispatch's buffers");
    for (size_t j = 0; j < args && r.error().empty(); ++j) {
      ArgRef arg;
      int64_t kind = r.I64("a buffer's kind");
      int64_t index = r.I64("a buffer's index");
      arg.offset = r.I64("a buffer's offset");
      arg.bytes = r.I64("a buffer's size");
      arg.scratch = r.I64("a buffer's scratch flag") != 0;
      arg.type = r.Str("a buffer's type");
      std::string where = absl::StrCat("plan: buffer ", j, " of dispatch ", i,
                                       " (", plan.kernels[d.kernel], ")");
      switch (kind) {
      case static_cast<int64_t>(ArgRef::Kind::kFeed):
      case static_cast<int64_t>(ArgRef::Kind::kFetch): {
        arg.kind = static_cast<ArgRef::Kind>(kind);
        const std::vector<TensorSpec> &specs = arg.kind == ArgRef::Kind::kFeed
                                                   ? a.signature.feeds
                                                   : a.signature.fetches;
        if (index < 0 || index >= static_cast<int64_t>(specs.size())) {
          r.Fail(absl::StrCat(where, " names feed or fetch ", index, " of ",
                              specs.size()));
          break;
        }
        const int64_t bytes =
            specs[index].num_elements() * DTypeSize(specs[index].dtype);
        if (arg.bytes != bytes)
          r.Fail(absl::StrCat(where, " takes ", arg.bytes, " bytes of '",
                              specs[index].name, "', which has ", bytes));
        break;
      }
      case static_cast<int64_t>(ArgRef::Kind::kArena):
        arg.kind = ArgRef::Kind::kArena;
        if (!InRange(arg.offset, arg.bytes, plan.arena_bytes))
          r.Fail(absl::StrCat(where, " lies outside the arena of ",
                              plan.arena_bytes, " bytes"));
        break;
      case static_cast<int64_t>(ArgRef::Kind::kConstant):
        arg.kind = ArgRef::Kind::kConstant;
        if (!InRange(arg.offset, arg.bytes, constants_bytes))
          r.Fail(absl::StrCat(where, " lies outside the constants of ",
                              constants_bytes, " bytes"));
        break;
      default:
        r.Fail(absl::StrCat(where, " has an invalid kind ", kind));
      }
      arg.index = static_cast<int>(index);
      d.args.push_back(std::move(arg));
    }
    plan.dispatches.push_back(std::move(d));
  }
  size_t checks = r.error().empty() ? r.Count("the run-time checks") : 0;
  for (size_t i = 0; i < checks && r.error().empty(); ++i) {
    RuntimeCheck check;
    check.offset = r.I64("a check's offset");
    check.message = r.Str("a check's message");
    if (!InRange(check.offset, 16, plan.arena_bytes) || check.offset % 8 != 0)
      r.Fail(absl::StrCat("plan: check ", i, " lies outside the arena of ",
                          plan.arena_bytes, " bytes or is misaligned"));
    plan.checks.push_back(std::move(check));
  }
  if (r.error().empty() && !r.done())
    r.Fail("meta has bytes after the launch plan");
  if (!r.error().empty())
    return absl::DataLossError("corrupt artifact: " + r.error());
  return absl::OkStatus();
}

/// The architecture this runtime was built for, as a triple starts.
const char *HostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

/// Whether the host has `feature`; nullopt-like -1 when the name is not
/// one this runtime knows.
int HostHasFeature(const std::string &feature) {
#if defined(__x86_64__)
#define KILN_FEATURE(llvm_name, gcc_name)                                      \
  if (feature == llvm_name)                                                    \
    return __builtin_cpu_supports(gcc_name) ? 1 : 0;
  KILN_FEATURE("popcnt", "popcnt")
  KILN_FEATURE("sse3", "sse3")
  KILN_FEATURE("ssse3", "ssse3")
  KILN_FEATURE("sse4.1", "sse4.1")
  KILN_FEATURE("sse4.2", "sse4.2")
  KILN_FEATURE("avx", "avx")
  KILN_FEATURE("avx2", "avx2")
  KILN_FEATURE("fma", "fma")
  KILN_FEATURE("f16c", "f16c")
  KILN_FEATURE("bmi", "bmi")
  KILN_FEATURE("bmi2", "bmi2")
  KILN_FEATURE("lzcnt", "lzcnt")
  KILN_FEATURE("movbe", "movbe")
  KILN_FEATURE("adx", "adx")
  KILN_FEATURE("aes", "aes")
  KILN_FEATURE("pclmul", "pclmul")
  KILN_FEATURE("sha", "sha")
  KILN_FEATURE("gfni", "gfni")
  KILN_FEATURE("vaes", "vaes")
  KILN_FEATURE("vpclmulqdq", "vpclmulqdq")
  KILN_FEATURE("avx512f", "avx512f")
  KILN_FEATURE("avx512bw", "avx512bw")
  KILN_FEATURE("avx512dq", "avx512dq")
  KILN_FEATURE("avx512vl", "avx512vl")
  KILN_FEATURE("avx512cd", "avx512cd")
  KILN_FEATURE("avx512vnni", "avx512vnni")
  KILN_FEATURE("avx512bf16", "avx512bf16")
  KILN_FEATURE("avx512vbmi", "avx512vbmi")
  KILN_FEATURE("avx512vbmi2", "avx512vbmi2")
  KILN_FEATURE("avx512ifma", "avx512ifma")
  KILN_FEATURE("avx512vpopcntdq", "avx512vpopcntdq")
  KILN_FEATURE("avx512bitalg", "avx512bitalg")
  KILN_FEATURE("avx512fp16", "avx512fp16")
  KILN_FEATURE("avxvnni", "avxvnni")
#undef KILN_FEATURE
#endif
  return -1;
}

/// Owns a loaded shared object and the memory file it was loaded from.
struct LoadedCode {
  void *handle = nullptr;
  int fd = -1;
  std::string path;
  ~LoadedCode() {
    if (handle)
      dlclose(handle);
    if (fd < 0)
      return;
    // The dynamic loader knows a library by its path, /proc/self/fd/N: if
    // this one stays loaded after dlclose, N must never name another, so
    // the file is kept open.
    if (void *still = dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
      dlclose(still);
      return;
    }
    close(fd);
  }
};

} // namespace

namespace {

/// The checksum of a file whose first `prefix_bytes` (the header, with any
/// checksum field, then meta, code and padding) are at `prefix` and whose
/// constants follow at `constants`: the header without its checksum field,
/// then the rest of the prefix, then the constants, each hash seeding the
/// next. In two pieces, so that a writer need not copy the weights.
uint64_t ChecksumOf(const uint8_t *prefix, size_t prefix_bytes,
                    const uint8_t *constants, size_t constants_bytes) {
  uint8_t header[kHeaderBytes];
  std::memcpy(header, prefix, kHeaderBytes);
  std::memset(header + kChecksumAt, 0, 8);
  uint64_t h = Hash64(header, kHeaderBytes);
  h = Hash64(prefix + kHeaderBytes, prefix_bytes - kHeaderBytes, h);
  return Hash64(constants, constants_bytes, h);
}

/// Everything of the file before the constants, checksum included.
std::string FilePrefix(const Artifact &artifact) {
  std::string meta = SerializeMeta(artifact);
  const uint64_t constants_at =
      (kHeaderBytes + meta.size() + artifact.code.size() + 63) / 64 * 64;
  const uint64_t file_bytes = constants_at + artifact.plan.constants.size();
  std::string file(kHeaderBytes, '\0');
  file.reserve(constants_at);
  file += meta;
  file += artifact.code;
  file.resize(constants_at, '\0');
  std::memcpy(&file[0], kMagic, sizeof(kMagic));
  uint32_t version = kArtifactFormatVersion, header = kHeaderBytes;
  std::memcpy(&file[kVersionAt], &version, 4);
  std::memcpy(&file[kHeaderSizeAt], &header, 4);
  PutU64At(file, kFileSizeAt, file_bytes);
  PutU64At(file, kMetaSizeAt, meta.size());
  PutU64At(file, kCodeSizeAt, artifact.code.size());
  PutU64At(file, kConstantsAt, constants_at);
  PutU64At(file, kConstantsSizeAt, artifact.plan.constants.size());
  PutU64At(file, kChecksumAt,
           ChecksumOf(reinterpret_cast<const uint8_t *>(file.data()),
                      file.size(), artifact.plan.constants.data(),
                      artifact.plan.constants.size()));
  return file;
}

} // namespace

uint64_t ArtifactChecksum(const uint8_t *file, size_t size) {
  // Where the constants start, as the header says (kept in bounds: a
  // wrong value only makes the checksum differ).
  uint64_t at = GetU64At(file, kConstantsAt);
  at = std::min<uint64_t>(std::max<uint64_t>(at, kHeaderBytes), size);
  return ChecksumOf(file, at, file + at, size - at);
}

const std::vector<std::string> &CheckableCpuFeatures() {
  // Every x86 feature GCC's __builtin_cpu_supports knows that LLVM may
  // use in generated code (same names in both).
  static const auto *features = new std::vector<std::string>{
      "popcnt",
      "sse3",
      "ssse3",
      "sse4.1",
      "sse4.2",
      "avx",
      "avx2",
      "fma",
      "f16c",
      "bmi",
      "bmi2",
      "lzcnt",
      "movbe",
      "adx",
      "aes",
      "pclmul",
      "sha",
      "gfni",
      "vaes",
      "vpclmulqdq",
      "avx512f",
      "avx512bw",
      "avx512dq",
      "avx512vl",
      "avx512cd",
      "avx512vnni",
      "avx512bf16",
      "avx512vbmi",
      "avx512vbmi2",
      "avx512ifma",
      "avx512vpopcntdq",
      "avx512bitalg",
      "avx512fp16",
      "avxvnni",
  };
  return *features;
}

absl::Status CheckTargetRunsHere(const TargetDescription &target) {
  if (target.backend == "cuda") {
    absl::Status available = CudaAvailable();
    if (!available.ok())
      return absl::Status(available.code(),
                          absl::StrCat(available.message(),
                                       " (the artifact is for ", target.cpu,
                                       " NVIDIA GPUs, --target=cuda)"));
    return absl::OkStatus();
  }
  if (target.backend != "cpu")
    return absl::FailedPreconditionError(
        absl::StrCat("the artifact is for target '", target.backend,
                     "', which this runtime cannot load"));
  std::string arch = target.triple.substr(0, target.triple.find('-'));
  if (arch != HostArch())
    return absl::FailedPreconditionError(
        absl::StrCat("the artifact was compiled for ", target.triple, " (CPU ",
                     target.cpu, "); this machine is ", HostArch()));
  for (const std::string &f : target.features) {
    int has = HostHasFeature(f);
    if (has == 1)
      continue;
    return absl::FailedPreconditionError(absl::StrCat(
        "the artifact was compiled for CPU ", target.cpu, ", which has ", f,
        has == 0 ? "; this CPU does not"
                 : ", a feature this runtime cannot "
                   "check",
        " (recompile with --target-cpu for this machine)"));
  }
  return absl::OkStatus();
}

std::string SerializeArtifact(const Artifact &artifact) {
  std::string file = FilePrefix(artifact);
  file.append(reinterpret_cast<const char *>(artifact.plan.constants.data()),
              artifact.plan.constants.size());
  return file;
}

absl::StatusOr<Artifact> ParseArtifact(AlignedBytes bytes) {
  const uint8_t *p = bytes.data();
  const size_t n = bytes.size();
  if (n < sizeof(kMagic) || std::memcmp(p, kMagic, sizeof(kMagic)) != 0)
    return absl::InvalidArgumentError(
        "not a Kiln artifact (it does not start with \"KILNMODL\")");
  if (n < kHeaderBytes)
    return absl::DataLossError(absl::StrCat("truncated artifact: ", n,
                                            " bytes, shorter than its header"));
  uint32_t version = GetU32At(p, kVersionAt);
  if (version != kArtifactFormatVersion)
    return absl::FailedPreconditionError(absl::StrCat(
        "artifact format version ", version, "; this runtime reads version ",
        kArtifactFormatVersion, " (recompile the model with this Kiln)"));
  uint64_t file_bytes = GetU64At(p, kFileSizeAt);
  if (GetU32At(p, kHeaderSizeAt) != kHeaderBytes)
    return absl::DataLossError("corrupt artifact: bad header size");
  if (file_bytes > n)
    return absl::DataLossError(
        absl::StrCat("truncated artifact: ", n, " bytes of ", file_bytes));
  if (file_bytes < n)
    return absl::DataLossError(absl::StrCat(
        "corrupt artifact: ", n, " bytes, its header says ", file_bytes));
  if (ArtifactChecksum(p, n) != GetU64At(p, kChecksumAt))
    return absl::DataLossError(
        "corrupt artifact: checksum mismatch (the file was changed or "
        "damaged)");
  uint64_t meta_bytes = GetU64At(p, kMetaSizeAt);
  uint64_t code_bytes = GetU64At(p, kCodeSizeAt);
  uint64_t constants_at = GetU64At(p, kConstantsAt);
  uint64_t constants_bytes = GetU64At(p, kConstantsSizeAt);
  uint64_t body = n - kHeaderBytes;
  if (meta_bytes > body || code_bytes > body - meta_bytes ||
      constants_at != (kHeaderBytes + meta_bytes + code_bytes + 63) / 64 * 64 ||
      constants_at > n || constants_bytes != n - constants_at)
    return absl::DataLossError("corrupt artifact: bad section sizes");

  Artifact artifact;
  Reader reader(p + kHeaderBytes, meta_bytes);
  if (absl::Status s =
          ParseMeta(reader, static_cast<int64_t>(constants_bytes), artifact);
      !s.ok())
    return s;
  artifact.code.assign(
      reinterpret_cast<const char *>(p + kHeaderBytes + meta_bytes),
      code_bytes);
  // The constants stay where they are, kept alive with the file's bytes.
  std::shared_ptr<uint8_t> owner(bytes.shared(), bytes.data() + constants_at);
  artifact.plan.constants = AlignedBytes(std::move(owner), constants_bytes);
  return artifact;
}

bool IsArtifactFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof(kMagic)];
  return in.read(magic, sizeof(magic)) &&
         std::memcmp(magic, kMagic, sizeof(kMagic)) == 0;
}

absl::Status WriteArtifactFile(const Artifact &artifact,
                               const std::string &path) {
  // The weights are written from where they are, not copied first.
  std::string prefix = FilePrefix(artifact);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(prefix.data(), prefix.size()) ||
      !out.write(reinterpret_cast<const char *>(artifact.plan.constants.data()),
                 artifact.plan.constants.size()) ||
      !out.flush())
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write '", path, "': ", std::strerror(errno)));
  return absl::OkStatus();
}

absl::StatusOr<Artifact> ReadArtifactFile(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a file (a directory?)"));
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    return absl::NotFoundError(
        absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  std::streamoff size = in.tellg();
  if (size < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "' (a directory?)"));
  AlignedBytes bytes = AlignedBytes::Uninitialized(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char *>(bytes.data()), size))
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "': ", std::strerror(errno)));
  absl::StatusOr<Artifact> artifact = ParseArtifact(std::move(bytes));
  if (!artifact.ok())
    return absl::Status(artifact.status().code(),
                        absl::StrCat(path, ": ", artifact.status().message()));
  return artifact;
}

absl::StatusOr<std::unique_ptr<Executable>> LoadArtifact(Artifact artifact) {
  if (absl::Status s = CheckTargetRunsHere(artifact.target); !s.ok())
    return s;
  if (artifact.target.backend == "cuda") {
    absl::StatusOr<CudaCode> code = ParseCudaCode(artifact.code);
    if (!code.ok())
      return code.status();
    absl::StatusOr<std::shared_ptr<Device>> device =
        LoadCudaDevice(artifact.signature, artifact.plan, *code);
    if (!device.ok())
      return device.status();
    return std::make_unique<Executable>(std::move(artifact.signature),
                                        std::move(artifact.plan),
                                        *std::move(device));
  }
  // The shared object is loaded from a memory file: nothing is written to
  // disk, and a read-only file system does not matter.
  auto code = std::make_shared<LoadedCode>();
  code->fd = memfd_create("kiln-kernels", MFD_CLOEXEC);
  if (code->fd < 0)
    return absl::InternalError(
        absl::StrCat("memfd_create: ", std::strerror(errno)));
  for (size_t done = 0; done < artifact.code.size();) {
    ssize_t w = write(code->fd, artifact.code.data() + done,
                      artifact.code.size() - done);
    if (w <= 0)
      return absl::InternalError(
          absl::StrCat("writing the kernels: ", std::strerror(errno)));
    done += static_cast<size_t>(w);
  }
  code->path = absl::StrCat("/proc/self/fd/", code->fd);
  code->handle = dlopen(code->path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!code->handle)
    return absl::DataLossError(
        absl::StrCat("corrupt artifact: cannot load its kernels: ", dlerror()));
  std::vector<KernelFn> kernels;
  for (const std::string &name : artifact.plan.kernels) {
    std::string symbol = artifact.symbol_prefix + name;
    void *entry = dlsym(code->handle, symbol.c_str());
    if (!entry)
      return absl::DataLossError(
          absl::StrCat("corrupt artifact: its code has no kernel ", symbol));
    kernels.push_back(reinterpret_cast<KernelFn>(entry));
  }
  return std::make_unique<Executable>(
      std::move(artifact.signature), std::move(artifact.plan),
      std::move(kernels), std::shared_ptr<const void>(std::move(code)));
}

absl::StatusOr<std::unique_ptr<Executable>>
LoadArtifactFile(const std::string &path) {
  absl::StatusOr<Artifact> artifact = ReadArtifactFile(path);
  if (!artifact.ok())
    return artifact.status();
  absl::StatusOr<std::unique_ptr<Executable>> executable =
      LoadArtifact(*std::move(artifact));
  if (!executable.ok())
    return absl::Status(
        executable.status().code(),
        absl::StrCat(path, ": ", executable.status().message()));
  return executable;
}

} // namespace kiln
