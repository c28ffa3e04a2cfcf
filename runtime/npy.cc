//===- npy.cc - NumPy .npy files ------------------------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace kiln {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct DescrEntry {
  const char *descr;
  DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"<f4", DType::kF32}, {"<f8", DType::kF64},  {"<i4", DType::kI32},
    {"<i8", DType::kI64}, {"|b1", DType::kBool}, {"|i1", DType::kI8},
    {"<i2", DType::kI16}, {"|u1", DType::kU8},   {"<u2", DType::kU16},
    {"<u4", DType::kU32}, {"<u8", DType::kU64},  {"<f2", DType::kF16}};

/// Finds `'key':` in the header dict and returns the text after it.
absl::StatusOr<absl::string_view> FindValue(absl::string_view header,
                                            absl::string_view key,
                                            const std::string &source) {
  std::string quoted = absl::StrCat("'", key, "'");
  size_t pos = header.find(quoted);
  if (pos == absl::string_view::npos)
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": .npy header has no '", key, "' entry"));
  absl::string_view rest = header.substr(pos + quoted.size());
  rest = absl::StripLeadingAsciiWhitespace(rest);
  if (!absl::ConsumePrefix(&rest, ":"))
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": malformed .npy header"));
  return absl::StripLeadingAsciiWhitespace(rest);
}

} // namespace

absl::StatusOr<Tensor> ParseNpy(const std::string &bytes,
                                const std::string &source) {
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0)
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not a .npy file (bad magic)"));
  int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len =
        static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": truncated .npy header"));
    header_len = 0;
    for (int i = 3; i >= 0; --i)
      header_len = (header_len << 8) | static_cast<uint8_t>(bytes[8 + i]);
    header_start = 12;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": unsupported .npy version ", major));
  }
  if (header_len > bytes.size() - header_start)
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": truncated .npy header"));
  absl::string_view header(bytes.data() + header_start, header_len);

  absl::StatusOr<absl::string_view> descr = FindValue(header, "descr", source);
  if (!descr.ok())
    return descr.status();
  DType dtype = DType::kInvalid;
  std::string descr_text;
  if (!descr->empty() && (descr->front() == '\'' || descr->front() == '"')) {
    size_t end = descr->find(descr->front(), 1);
    if (end != absl::string_view::npos)
      descr_text = std::string(descr->substr(1, end - 1));
  }
  for (const DescrEntry &e : kDescrs)
    if (descr_text == e.descr)
      dtype = e.dtype;
  if (descr_text == "<b1")
    dtype = DType::kBool;
  if (dtype == DType::kInvalid)
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": element type '", descr_text,
        "' is not supported (Kiln reads little-endian f32 '<f4', f64 '<f8', "
        "i32 '<i4', i64 '<i8', i8 '|i1', i16 '<i2', u8 '|u1', u16 '<u2', u32 "
        "'<u4', "
        "u64 '<u8', f16 '<f2' and bool '|b1')"));

  absl::StatusOr<absl::string_view> fortran =
      FindValue(header, "fortran_order", source);
  if (!fortran.ok())
    return fortran.status();
  if (absl::StartsWith(*fortran, "True"))
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": Fortran-ordered arrays are not supported; save the array "
                "with numpy.ascontiguousarray first"));

  absl::StatusOr<absl::string_view> shape_text =
      FindValue(header, "shape", source);
  if (!shape_text.ok())
    return shape_text.status();
  if (shape_text->empty() || shape_text->front() != '(')
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": malformed shape in .npy header"));
  size_t close = shape_text->find(')');
  if (close == absl::string_view::npos)
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": malformed shape in .npy header"));
  std::vector<int64_t> shape;
  for (absl::string_view part :
       absl::StrSplit(shape_text->substr(1, close - 1), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty())
      continue;
    int64_t d;
    if (!absl::SimpleAtoi(part, &d) || d < 0)
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": bad dimension '", part, "' in .npy header"));
    shape.push_back(d);
  }

  absl::StatusOr<int64_t> n = NumElements(shape);
  if (!n.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", n.status().message()));
  size_t data_start = header_start + header_len;
  size_t available = bytes.size() - data_start;
  if (static_cast<uint64_t>(*n) > available / DTypeSize(dtype) ||
      static_cast<size_t>(*n * DTypeSize(dtype)) != available)
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": data size ", available, " bytes does not match ",
        DTypeName(dtype), ShapeToString(shape)));
  absl::StatusOr<Tensor> t = Tensor::Allocate(dtype, shape);
  if (!t.ok())
    return t.status();
  std::memcpy(t->raw_data(), bytes.data() + data_start, t->size_bytes());
  if (dtype == DType::kBool) {
    uint8_t *b = t->data<uint8_t>();
    for (int64_t i = 0; i < t->num_elements(); ++i)
      b[i] = b[i] != 0;
  }
  return t;
}

absl::StatusOr<Tensor> ReadNpy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseNpy(buffer.str(), path);
}

absl::Status WriteNpy(const std::string &path, const Tensor &tensor) {
  const char *descr = nullptr;
  for (const DescrEntry &e : kDescrs)
    if (e.dtype == tensor.dtype())
      descr = e.descr;
  if (!descr)
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot write ", DTypeName(tensor.dtype()), " tensor to .npy"));
  // NumPy's tuple syntax: "()", "(3,)", "(2, 3)".
  std::string shape = absl::StrJoin(tensor.shape(), ", ");
  if (tensor.shape().size() == 1)
    shape += ",";
  std::string header =
      absl::StrCat("{'descr': '", descr,
                   "', 'fortran_order': False, 'shape': (", shape, "), }");
  // Pad so that the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out)
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open for writing"));
  out.write(kMagic, 6);
  out.put(1);
  out.put(0);
  out.put(static_cast<char>(header.size() & 0xff));
  out.put(static_cast<char>(header.size() >> 8));
  out << header;
  out.write(static_cast<const char *>(tensor.raw_data()), tensor.size_bytes());
  if (!out)
    return absl::DataLossError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

} // namespace kiln
