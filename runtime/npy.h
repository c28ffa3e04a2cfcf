//===- npy.h - NumPy .npy files -------------------------------------------===//
//
// Part of Kiln. Reads and writes NumPy's .npy format (versions 1.0 to 3.0),
// C order, little-endian, for the element types Kiln supports: f32, f64,
// i32, i64 and bool. Anything else is refused with an error that says what
// the file holds.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_NPY_H
#define KILN_RUNTIME_NPY_H

#include <string>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace kiln {

absl::StatusOr<Tensor> ReadNpy(const std::string &path);
/// Parses the bytes of a .npy file; `source` names it in errors.
absl::StatusOr<Tensor> ParseNpy(const std::string &bytes,
                                const std::string &source);
absl::Status WriteNpy(const std::string &path, const Tensor &tensor);

} // namespace kiln

#endif // KILN_RUNTIME_NPY_H
