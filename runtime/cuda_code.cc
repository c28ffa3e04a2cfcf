//===- cuda_code.cc - What a cuda artifact's code holds -------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda_code.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace kiln {
namespace {

constexpr char kMagic[] = "KILNCUDA";
constexpr uint32_t kVersion = 3;

template <typename T> void Put(std::string &out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void PutString(std::string &out, std::string_view s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

/// Reads from `bytes`, failing once past its end.
class Reader {
public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T> bool Get(T &value) {
    if (bytes_.size() - pos_ < sizeof(T))
      return false;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool GetString(std::string &s) {
    uint32_t n = 0;
    if (!Get(n) || bytes_.size() - pos_ < n)
      return false;
    s.assign(bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool AtEnd() const { return pos_ == bytes_.size(); }
  size_t Left() const { return bytes_.size() - pos_; }

private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

/// A matmul's fields; false when truncated or out of range (a buffer
/// index is checked against the kernel's buffers when the plan is loaded).
bool ParseMatmul(Reader &in, CudaMatmul &mm) {
  for (int64_t *v : {&mm.batch, &mm.m, &mm.n, &mm.k})
    if (!in.Get(*v) || *v < 1 || *v > (int64_t{1} << 31))
      return false;
  for (CudaMatrix *x : {&mm.a, &mm.b, &mm.c}) {
    if (!in.Get(x->buffer) || x->buffer < 0)
      return false;
    for (int64_t *v : {&x->offset, &x->batch, &x->rows, &x->cols})
      if (!in.Get(*v) || *v < 0)
        return false;
    if (x->rows != 1 && x->cols != 1)
      return false;
  }
  uint8_t relu = 0, accumulate = 0, tf32 = 0;
  if (!in.Get(mm.bias.buffer) || !in.Get(mm.bias.offset) || !in.Get(relu) ||
      !in.Get(accumulate) || !in.Get(tf32) || mm.bias.buffer < -1 ||
      mm.bias.offset < 0 || relu > 1 || accumulate > 1 || tf32 > 1)
    return false;
  mm.relu = relu;
  mm.accumulate = accumulate;
  mm.tf32 = tf32;
  return true;
}

} // namespace

std::string SerializeCudaCode(const CudaCode &code) {
  std::string out(kMagic, 8);
  Put<uint32_t>(out, kVersion);
  PutString(out, code.chip);
  PutString(out, code.ptx);
  PutString(out, code.cubin);
  Put<uint32_t>(out, static_cast<uint32_t>(code.kernels.size()));
  for (const std::vector<CudaLaunch> &launches : code.kernels) {
    Put<uint32_t>(out, static_cast<uint32_t>(launches.size()));
    for (const CudaLaunch &launch : launches) {
      PutString(out, launch.function);
      Put<int64_t>(out, launch.threads);
      Put<int32_t>(out, launch.block);
      Put<uint8_t>(out, launch.matmul.has_value());
      if (!launch.matmul)
        continue;
      const CudaMatmul &mm = *launch.matmul;
      for (int64_t v : {mm.batch, mm.m, mm.n, mm.k})
        Put<int64_t>(out, v);
      for (const CudaMatrix *x : {&mm.a, &mm.b, &mm.c}) {
        Put<int32_t>(out, x->buffer);
        for (int64_t v : {x->offset, x->batch, x->rows, x->cols})
          Put<int64_t>(out, v);
      }
      Put<int32_t>(out, mm.bias.buffer);
      Put<int64_t>(out, mm.bias.offset);
      Put<uint8_t>(out, mm.relu);
      Put<uint8_t>(out, mm.accumulate);
      Put<uint8_t>(out, mm.tf32);
    }
  }
  return out;
}

absl::StatusOr<CudaCode> ParseCudaCode(std::string_view bytes) {
  auto corrupt = [](const std::string &what) {
    return absl::DataLossError(
        absl::StrCat("corrupt artifact: its cuda code ", what));
  };
  if (bytes.size() < 8 || bytes.substr(0, 8) != std::string_view(kMagic, 8))
    return corrupt("does not start with KILNCUDA");
  Reader in(bytes.substr(8));
  uint32_t version = 0, kernels = 0;
  CudaCode code;
  if (!in.Get(version))
    return corrupt("is truncated");
  if (version != kVersion)
    return corrupt(
        absl::StrCat("has format version ", version, ", not ", kVersion));
  if (!in.GetString(code.chip) || !in.GetString(code.ptx) ||
      !in.GetString(code.cubin) || !in.Get(kernels))
    return corrupt("is truncated");
  // Each kernel takes at least 4 bytes: no count past what is left.
  if (kernels > in.Left() / 4)
    return corrupt("is truncated");
  code.kernels.resize(kernels);
  for (std::vector<CudaLaunch> &launches : code.kernels) {
    uint32_t n = 0;
    if (!in.Get(n) || n > in.Left() / 16)
      return corrupt("is truncated");
    launches.resize(n);
    for (CudaLaunch &launch : launches) {
      uint8_t matmul = 0;
      if (!in.GetString(launch.function) || !in.Get(launch.threads) ||
          !in.Get(launch.block) || !in.Get(matmul))
        return corrupt("is truncated");
      if (launch.threads < 0 || launch.block < 1 || launch.block > 1024 ||
          launch.function.empty() || matmul > 1)
        return corrupt(
            absl::StrCat("has a bad launch of '", launch.function, "'"));
      if (matmul && !ParseMatmul(in, launch.matmul.emplace()))
        return corrupt(
            absl::StrCat("has a bad matmul '", launch.function, "'"));
    }
  }
  if (!in.AtEnd())
    return corrupt("has bytes past its end");
  return code;
}

} // namespace kiln
