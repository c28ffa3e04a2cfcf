//===- hash.cc - A fast 64-bit hash of bytes ------------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/hash.h"

#include <cstdio>
#include <cstring>

namespace kiln {
namespace {

constexpr uint64_t kPrime = 0x9E3779B185EBCA87ull;

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

} // namespace

// Four independent multiply-rotate lanes over 8-byte words, so that the
// multiplications overlap; each step is a bijection of its lane, so any one
// changed byte changes the result.
uint64_t Hash64(const void *data, size_t n, uint64_t seed) {
  const auto *p = static_cast<const uint8_t *>(data);
  uint64_t lane[4] = {seed ^ 1, seed ^ 2, seed ^ 3, seed ^ 4};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * l, 8);
      lane[l] = Rotl((lane[l] ^ w) * kPrime, 31);
    }
  uint64_t tail[4] = {0, 0, 0, 0};
  if (n > i)
    std::memcpy(tail, p + i, n - i);
  for (int l = 0; l < 4; ++l)
    lane[l] = Rotl((lane[l] ^ tail[l]) * kPrime, 31);
  uint64_t h = n ^ seed;
  for (int l = 0; l < 4; ++l)
    h = Rotl((h ^ lane[l]) * kPrime, 27) + lane[l];
  h ^= h >> 29;
  h *= kPrime;
  return h ^ (h >> 32);
}

Hasher &Hasher::Add(std::string_view bytes) {
  a_ = Hash64(bytes.data(), bytes.size(), a_);
  b_ = Hash64(bytes.data(), bytes.size(), b_ ^ kPrime);
  return *this;
}

Hasher &Hasher::Add(int64_t value) {
  return Add(std::string_view(reinterpret_cast<const char *>(&value), 8));
}

std::string Hasher::HexDigest() const {
  char text[33];
  std::snprintf(text, sizeof(text), "%016llx%016llx",
                static_cast<unsigned long long>(a_),
                static_cast<unsigned long long>(b_));
  return text;
}

} // namespace kiln
