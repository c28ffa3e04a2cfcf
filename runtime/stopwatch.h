//===- stopwatch.h - Wall time of a phase -----------------------*- C++ -*-===//
//
// Part of Kiln. Compile and run statistics time their phases with this.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_STOPWATCH_H
#define KILN_RUNTIME_STOPWATCH_H

#include <chrono>

namespace kiln {

/// Started when made; Millis() is the time since then, Restart() starts
/// again.
class Stopwatch {
public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Millis() const {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start_)
        .count();
  }
  void Restart() { start_ = std::chrono::steady_clock::now(); }

private:
  std::chrono::steady_clock::time_point start_;
};

} // namespace kiln

#endif // KILN_RUNTIME_STOPWATCH_H
