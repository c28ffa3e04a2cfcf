//===- graph_compile.h - The graph-compile command --------------*- C++ -*-===//
//
// Part of Kiln. The command's logic as a library, so that tests can drive it
// in-process and main() stays a one-liner.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_CLI_GRAPH_COMPILE_H
#define KILN_TOOLS_CLI_GRAPH_COMPILE_H

#include <iosfwd>

namespace kiln {

/// Exit codes: 0 success, 1 a problem with the user's graph or feeds,
/// 2 bad usage.
int GraphCompileMain(int argc, char **argv, std::ostream &out,
                     std::ostream &err);

} // namespace kiln

#endif // KILN_TOOLS_CLI_GRAPH_COMPILE_H
