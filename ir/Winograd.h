//===- Winograd.h - The F(4,3) transform matrices -------------------------===//
//
// Part of Kiln. 1-D Winograd F(4,3) (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", interpolation points 0, 1, -1, 2, -2 and
// infinity): four outputs y[a] = sum over k of g[k] * d[a + k] of a 3-tap
// correlation from six inputs d as AT * ((G * g) . (BT * d)), six
// multiplications instead of twelve. kiln-winograd transforms the filters
// with G; the kiln.winograd_* lowerings apply BT and AT.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_WINOGRAD_H
#define KILN_IR_WINOGRAD_H

#include <cstdint>

namespace kiln::winograd {

inline constexpr int64_t kOutputs = 4; ///< Rows of output per tile.
inline constexpr int64_t kInputs = 6;  ///< Rows of input per tile.
inline constexpr int64_t kTaps = 3;    ///< The filter's height.

inline constexpr double kBT[kInputs][kInputs] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};

inline constexpr double kG[kInputs][kTaps] = {{1.0 / 4, 0, 0},
                                              {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                              {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                              {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                              {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                              {0, 0, 1}};

inline constexpr double kAT[kOutputs][kInputs] = {{1, 1, 1, 1, 1, 0},
                                                  {0, 1, -1, 2, -2, 0},
                                                  {0, 1, 1, 4, 4, 0},
                                                  {0, 1, -1, 8, -8, 1}};

} // namespace kiln::winograd

#endif // KILN_IR_WINOGRAD_H
