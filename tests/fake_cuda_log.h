//===- fake_cuda_log.h - The CUDA doubles' call log -------------*- C++ -*-===//
//
// Part of Kiln. fake_cuda_driver.cc and fake_cublaslt.cc write each call
// they take, one line each, to $FAKE_CUDA_LOG (nothing when it is unset),
// for cuda_runtime_test to check.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_FAKE_CUDA_LOG_H
#define KILN_TESTS_FAKE_CUDA_LOG_H

#include <cstdio>
#include <cstdlib>
#include <string>

inline void Log(const std::string &line) {
  const char *path = std::getenv("FAKE_CUDA_LOG");
  if (!path)
    return;
  if (FILE *f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\n", line.c_str());
    std::fclose(f);
  }
}

#endif // KILN_TESTS_FAKE_CUDA_LOG_H
