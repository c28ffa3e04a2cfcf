//===- graph-compile.cc - Compile and run a Kiln graph --------------------===//
//
// Part of Kiln. See `graph-compile --help`.
//
//===----------------------------------------------------------------------===//
#include <iostream>

#include "tools/cli/graph_compile.h"

int main(int argc, char **argv) {
  return kiln::GraphCompileMain(argc, argv, std::cout, std::cerr);
}
