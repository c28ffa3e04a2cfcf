//===- cpp_header.h - A C++ class for a compiled model ----------*- C++ -*-===//
//
// Part of Kiln. `graph-compile MODEL --emit=obj,header --class=NAME` writes
// an object and this header: a class with typed accessors for each feed and
// fetch, their shapes as constexpr members, and Run(), on
// runtime/static_model.h.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_CLI_CPP_HEADER_H
#define KILN_TOOLS_CLI_CPP_HEADER_H

#include <string>

#include "absl/status/statusor.h"
#include "runtime/artifact.h"

namespace kiln {

/// The symbol prefix of `class_name`'s object ("ns::MyModel" ->
/// "ns_MyModel_"), or an error when it is not a C++ class name (identifiers
/// joined by "::").
absl::StatusOr<std::string> SymbolPrefixForClass(const std::string &class_name);

/// The header for `artifact` (as CompileToObject returns it) whose bytes,
/// `artifact_bytes` long, the object holds; `model` is named in a comment.
std::string CppHeader(const Artifact &artifact, const std::string &class_name,
                      size_t artifact_bytes, const std::string &model);

} // namespace kiln

#endif // KILN_TOOLS_CLI_CPP_HEADER_H
