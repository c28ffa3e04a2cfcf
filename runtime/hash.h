//===- hash.h - A fast 64-bit hash of bytes ---------------------*- C++ -*-===//
//
// Part of Kiln. Artifact checksums and compilation cache keys. Not
// cryptographic: it detects damage and tells models apart, at several GB/s.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_HASH_H
#define KILN_RUNTIME_HASH_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

/// A 64-bit hash of `n` bytes; the same on every machine and every run.
uint64_t Hash64(const void *data, size_t n, uint64_t seed = 0);

/// Accumulates a hash of several pieces; each piece's size counts, so
/// ("ab", "c") and ("a", "bc") differ.
class Hasher {
public:
  Hasher &Add(std::string_view bytes);
  Hasher &Add(int64_t value);
  /// 32 hex digits (two 64-bit hashes with different seeds).
  std::string HexDigest() const;

private:
  uint64_t a_ = 0x243F6A8885A308D3ull, b_ = 0x13198A2E03707344ull;
};

} // namespace kiln

#endif // KILN_RUNTIME_HASH_H
