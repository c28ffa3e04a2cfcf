//===- e2e_util.h - End-to-end runs for Kiln's tests ------------*- C++ -*-===//
//
// Part of Kiln. Every end-to-end case runs twice: with the memory plan as
// the compiler makes it (buffers sharing bytes, in-place writes) and with
// every buffer apart. The two must agree bit for bit; a difference is a
// planning bug whatever the reference says.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_E2E_UTIL_H
#define KILN_TESTS_E2E_UTIL_H

#include <string>
#include <vector>

#include "graph/graph.pb.h"
#include "runtime/tensor.h"
#include "session/session.h"

namespace kiln::testing {

/// "DT_FLOAT", "DT_BOOL", ... for a Placeholder of `dtype`.
std::string GraphDTypeName(DType dtype);

/// Expects `a` and `b` to have the same dtype, shape and bytes.
void ExpectBitIdentical(const Tensor &a, const Tensor &b);

/// Runs `graph` with `options` and again with the memory plan's reuse off;
/// expects both to compile and run and to give bit-identical outputs.
/// Returns the first run's outputs (empty on a failure, which is reported).
std::vector<Tensor> RunBothPlans(const GraphDef &graph,
                                 const Session::Feeds &feeds,
                                 const std::vector<std::string> &fetches,
                                 SessionOptions options = {});

/// Runs `graph`'s `fetch` with 1, 2 and 3 threads; expects each to compile
/// and run, and the results to be bit-identical. Returns the one-thread
/// result (empty on a failure, which is reported).
Tensor RunAtEveryThreadCount(const GraphDef &graph, const Session::Feeds &feeds,
                             const std::string &fetch);

} // namespace kiln::testing

#endif // KILN_TESTS_E2E_UTIL_H
