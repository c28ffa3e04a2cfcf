//===- artifact.h - A compiled model as one file ----------------*- C++ -*-===//
//
// Part of Kiln. An Artifact is an Executable at rest: the signature, the
// launch plan with its constants, the machine code of the kernels (for the
// CPU, a shared object that the runtime loads from memory) and the target
// it was compiled for. `graph-compile MODEL -o model.kiln` writes one;
// every in-process compile makes one in memory and loads it the same way,
// so what the tests run is what users ship.
//
// The file (little-endian, docs/artifact.md):
//   header   64 bytes: magic "KILNMODL", format version, header size, file
//            size, checksum (of the whole file but itself), then the
//            sizes of meta and code and the offset and size of constants
//   meta     Kiln's version, the target, the signature, the launch plan
//   code     the kernels' machine code
//   constants  the plan's constants region, at a 64-byte aligned offset
// A corrupt, truncated, wrong-version or wrong-CPU file is refused with an
// error that says which.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_ARTIFACT_H
#define KILN_RUNTIME_ARTIFACT_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/executable.h"

namespace kiln {

/// The version of the file format this runtime reads and writes.
inline constexpr uint32_t kArtifactFormatVersion = 2;
/// The extension graph-compile gives artifacts.
inline constexpr char kArtifactExtension[] = ".kiln";

/// What an artifact's code runs on.
struct TargetDescription {
  std::string backend = "cpu"; ///< The loader: "cpu" (a shared object).
  std::string triple;          ///< "x86_64-unknown-linux-gnu".
  std::string cpu;             ///< "skylake-avx512", "x86-64-v3", ...
  /// The instruction set extensions the code may use that the loader checks
  /// the host for (names as LLVM spells them: "avx2", "avx512f", ...).
  std::vector<std::string> features;
};

struct Artifact {
  std::string kiln_version; ///< Of the compiler that wrote it.
  TargetDescription target;
  Signature signature;
  LaunchPlan plan; ///< With its constants region.
  /// The symbol of kernel `plan.kernels[i]`'s entry point is this prefix
  /// followed by its name; each takes its arguments packed (KernelFn).
  std::string symbol_prefix;
  std::string code; ///< The kernels' machine code (a shared object).
};

/// The CPU features the runtime can check the host for, by LLVM's names; a
/// target's features are recorded from this list.
const std::vector<std::string> &CheckableCpuFeatures();

/// Whether this runtime can run code for `target`: the same architecture
/// and every feature it needs present. The error names the first that is
/// missing and what the code was compiled for.
absl::Status CheckTargetRunsHere(const TargetDescription &target);

/// The checksum an artifact file of `size` bytes (at least the 64 of the
/// header) records at bytes 24-31: of every byte but those eight (the
/// part before the constants, then the constants).
uint64_t ArtifactChecksum(const uint8_t *file, size_t size);

/// The artifact as the bytes of a file.
std::string SerializeArtifact(const Artifact &artifact);

/// Parses an artifact file's bytes (which must start 64-byte aligned, as
/// AlignedBytes are): the constants region stays in `bytes`, not copied.
/// Checks the magic, the version, the size, the checksum and that the plan
/// only refers to what exists; does not check the target.
absl::StatusOr<Artifact> ParseArtifact(AlignedBytes bytes);

/// Whether the file at `path` starts with an artifact's magic.
bool IsArtifactFile(const std::string &path);

absl::Status WriteArtifactFile(const Artifact &artifact,
                               const std::string &path);
absl::StatusOr<Artifact> ReadArtifactFile(const std::string &path);

/// Checks the target, loads the code and returns the executable.
absl::StatusOr<std::unique_ptr<Executable>> LoadArtifact(Artifact artifact);
/// ReadArtifactFile, then LoadArtifact; errors start with the path.
absl::StatusOr<std::unique_ptr<Executable>>
LoadArtifactFile(const std::string &path);

} // namespace kiln

#endif // KILN_RUNTIME_ARTIFACT_H
