//===- LaunchPlan.h - Read the launch plan out of @main ---------*- C++ -*-===//
//
// Part of Kiln. After kiln-outline-kernels, @main holds only arena views and
// kiln.dispatch ops; the runtime's LaunchPlan (runtime/executable.h) is
// that, as data.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_COMMON_LAUNCHPLAN_H
#define KILN_CODEGEN_COMMON_LAUNCHPLAN_H

#include <memory>

#include "absl/status/statusor.h"
#include "runtime/executable.h"

namespace mlir {
class ModuleOp;
class Pass;
} // namespace mlir

namespace kiln {

/// The launch plan of `module`'s @main. Its arguments are, in order, the
/// feeds of `signature` that have elements, then its fetches that have
/// elements, then the results of its run-time checks (@main's kiln.checks),
/// then the arena (the calling convention of Compile.h).
absl::StatusOr<LaunchPlan> ExtractLaunchPlan(mlir::ModuleOp module,
                                             const Signature &signature);

/// The kiln-take-launch-plan pass: extracts the plan into `*plan` (when
/// `plan` is set) and erases @main, leaving the kernels to the backend.
std::unique_ptr<mlir::Pass> createTakeLaunchPlan(const Signature *signature,
                                                 LaunchPlan *plan);

} // namespace kiln

#endif // KILN_CODEGEN_COMMON_LAUNCHPLAN_H
