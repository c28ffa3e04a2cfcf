//===- version.h - Kiln's version -------------------------------*- C++ -*-===//
//
// Part of Kiln. Recorded in every artifact and part of every compilation
// cache key: bump it when what the compiler produces changes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_VERSION_H
#define KILN_RUNTIME_VERSION_H

namespace kiln {

inline constexpr char kKilnVersion[] = "0.5.0";

} // namespace kiln

#endif // KILN_RUNTIME_VERSION_H
