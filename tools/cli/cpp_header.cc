//===- cpp_header.cc - A C++ class for a compiled model -------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "tools/cli/cpp_header.h"

#include <cctype>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace kiln {
namespace {

/// Whether `s` can name a user's class or namespace: an identifier that
/// is not a keyword nor reserved to the implementation.
bool IsIdentifier(const std::string &s) {
  static const std::set<std::string> *keywords = new std::set<std::string>{
      "alignas",       "alignof",     "and",
      "and_eq",        "asm",         "auto",
      "bitand",        "bitor",       "bool",
      "break",         "case",        "catch",
      "char",          "char8_t",     "char16_t",
      "char32_t",      "class",       "compl",
      "concept",       "const",       "consteval",
      "constexpr",     "constinit",   "const_cast",
      "continue",      "co_await",    "co_return",
      "co_yield",      "decltype",    "default",
      "delete",        "do",          "double",
      "dynamic_cast",  "else",        "enum",
      "explicit",      "export",      "extern",
      "false",         "float",       "for",
      "friend",        "goto",        "if",
      "inline",        "int",         "long",
      "mutable",       "namespace",   "new",
      "noexcept",      "not",         "not_eq",
      "nullptr",       "operator",    "or",
      "or_eq",         "private",     "protected",
      "public",        "register",    "reinterpret_cast",
      "requires",      "return",      "short",
      "signed",        "sizeof",      "static",
      "static_assert", "static_cast", "struct",
      "switch",        "template",    "this",
      "thread_local",  "throw",       "true",
      "try",           "typedef",     "typeid",
      "typename",      "union",       "unsigned",
      "using",         "virtual",     "void",
      "volatile",      "wchar_t",     "while",
      "xor",           "xor_eq"};
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) ||
      keywords->count(s) || s.find("__") != std::string::npos ||
      (s[0] == '_' && s.size() > 1 && std::isupper(s[1])))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

/// The symbol prefix of a class: each of its names after its length, so
/// that a::b_c and a_b::c differ ("kiln_1a_3b_c_" and "kiln_3a_b_1c_").
std::string Mangle(const std::vector<std::string> &parts) {
  std::string prefix = "kiln_";
  for (const std::string &p : parts)
    absl::StrAppend(&prefix, p.size(), p, "_");
  return prefix;
}

/// `text` for a // comment: printable ASCII, anything else escaped.
std::string CommentSafe(const std::string &text) {
  std::string out;
  for (unsigned char c : text)
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += static_cast<char>(c);
    else
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
  return out;
}

std::string CppType(DType dtype) {
  switch (dtype) {
  case DType::kF32:
    return "float";
  case DType::kF64:
    return "double";
  case DType::kBool:
    return "bool";
  case DType::kI8:
    return "::std::int8_t";
  case DType::kI16:
    return "::std::int16_t";
  case DType::kI32:
    return "::std::int32_t";
  case DType::kI64:
    return "::std::int64_t";
  case DType::kU8:
    return "::std::uint8_t";
  case DType::kU16:
  case DType::kF16: // The bits of each half.
  case DType::kBF16:
    return "::std::uint16_t";
  case DType::kU32:
    return "::std::uint32_t";
  case DType::kU64:
    return "::std::uint64_t";
  case DType::kInvalid:
    break;
  }
  return "void";
}

/// `name` as part of a C++ identifier: other characters become '_'.
std::string Sanitize(const std::string &name) {
  std::string s;
  for (char c : name) {
    char d = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    // No leading, trailing or doubled underscore: the name follows
    // "feed_" and precedes "_shape", and "__" is reserved in C++.
    if (d != '_' || (!s.empty() && s.back() != '_'))
      s += d;
  }
  while (!s.empty() && s.back() == '_')
    s.pop_back();
  return s.empty() ? "t" : s;
}

} // namespace

absl::StatusOr<std::string> SymbolPrefixForClass(const std::string &name) {
  std::vector<std::string> parts = absl::StrSplit(name, "::");
  for (const std::string &p : parts)
    if (!IsIdentifier(p))
      return absl::InvalidArgumentError(absl::StrCat(
          "--class: '", name,
          "' is not a C++ class name (identifiers joined by ::, none a "
          "keyword or reserved)"));
  for (const std::string &p : parts)
    if (p == "std" || p == "kiln")
      return absl::InvalidArgumentError(
          absl::StrCat("--class: '", name, "' uses the name '", p,
                       "', which the header's own code refers to"));
  return Mangle(parts);
}

std::string CppHeader(const Artifact &artifact, const std::string &class_name,
                      size_t artifact_bytes, const std::string &model) {
  std::vector<std::string> parts = absl::StrSplit(class_name, "::");
  const std::string prefix = Mangle(parts);
  std::string cls = parts.back();
  parts.pop_back();
  std::string guard;
  for (char c : prefix + "H")
    guard += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  const LaunchPlan &plan = artifact.plan;
  std::string h = absl::StrCat(
      "// ", class_name, ": generated by graph-compile from ",
      CommentSafe(model), ". Do not edit.\n",
      "// Link with the object written beside this header and Kiln's runtime\n"
      "// (//runtime:static_model); no compiler is needed.\n"
      "// Compiled for ",
      artifact.target.triple, ", CPU ", artifact.target.cpu, ".\n", "#ifndef ",
      guard, "\n#define ", guard,
      "\n\n#include <array>\n#include <cstddef>\n#include <cstdint>\n#include "
      "<string>\n\n#include \"runtime/static_model.h\"\n\nextern \"C\" {\n",
      "extern const unsigned char ", prefix, "artifact[];\n");
  for (const std::string &k : plan.kernels)
    absl::StrAppend(&h, "void ", prefix, k, "(void **);\n");
  absl::StrAppend(&h, "}\n\n");
  for (const std::string &ns : parts)
    absl::StrAppend(&h, "namespace ", ns, " {\n");
  if (!parts.empty())
    absl::StrAppend(&h, "\n");

  absl::StrAppend(
      &h, "class ", cls, " {\npublic:\n",
      "  static constexpr ::std::size_t kNumFeeds = ",
      artifact.signature.feeds.size(), ";\n",
      "  static constexpr ::std::size_t kNumFetches = ",
      artifact.signature.fetches.size(), ";\n",
      "  /// Bytes of the arena a Run works in (64-byte aligned).\n",
      "  static constexpr ::std::int64_t kArenaBytes = ", plan.arena_bytes,
      ";\n");

  // Every identifier the class declares; a tensor's accessor and its
  // constants take a name none of them has.
  std::set<std::string> used = {
      "kNumFeeds",      "kNumFetches", "kArenaBytes", "ok",     "error", "Run",
      "kArtifactBytes", "kNumKernels", "kKernels",    "model_", cls};
  auto accessors = [&](const std::vector<TensorSpec> &specs, bool feed) {
    for (size_t i = 0; i < specs.size(); ++i) {
      const TensorSpec &spec = specs[i];
      const std::string base =
          absl::StrCat(feed ? "feed_" : "fetch_", Sanitize(spec.name));
      std::string name = base;
      for (int k = 2; used.count(name) || used.count(name + "_shape") ||
                      used.count(name + "_elements");
           ++k)
        name = absl::StrCat(base, "_", k);
      for (const char *suffix : {"", "_shape", "_elements"})
        used.insert(name + suffix);
      std::vector<std::string> dims;
      for (int64_t d : spec.shape)
        dims.push_back(absl::StrCat(d));
      std::string type = CppType(spec.dtype);
      absl::StrAppend(&h, "\n  // ", feed ? "Feed " : "Fetch ", i, ": \"",
                      CommentSafe(spec.name), "\", ", spec.TypeString(), ".\n",
                      "  static constexpr ::std::array<::std::int64_t, ",
                      spec.shape.size(), "> ", name, "_shape = {",
                      absl::StrJoin(dims, ", "), "};\n",
                      "  static constexpr ::std::int64_t ", name,
                      "_elements = ", spec.num_elements(), ";\n");
      if (feed)
        absl::StrAppend(&h, "  ", type, " *", name, "() { return static_cast<",
                        type, " *>(model_.feed_data(", i, ")); }\n");
      else
        absl::StrAppend(&h, "  const ", type, " *", name,
                        "() const { return static_cast<const ", type,
                        " *>(model_.fetch_data(", i, ")); }\n");
    }
  };
  accessors(artifact.signature.feeds, true);
  accessors(artifact.signature.fetches, false);

  std::string args = absl::StrCat(prefix, "artifact, kArtifactBytes, ",
                                  "kKernels, kNumKernels");
  absl::StrAppend(
      &h,
      "\n  /// Allocates the arena and every feed and fetch buffer, once.\n",
      "  ", cls, "() : model_(", args, ") {}\n",
      "  /// Works in `arena` (kArenaBytes bytes, 64-byte aligned), which "
      "the\n",
      "  /// caller owns and keeps for the object's lifetime.\n", "  explicit ",
      cls, "(void *arena) : model_(", args, ", arena) {}\n\n",
      "  /// False when the model cannot run here; error() says why.\n",
      "  bool ok() const { return model_.ok(); }\n",
      "  const ::std::string &error() const { return model_.error(); }\n\n",
      "  /// Computes the fetches from the feeds. Allocates nothing; one Run "
      "at\n",
      "  /// a time per object. False when !ok().\n",
      "  bool Run() { return model_.Run(); }\n\n", "private:\n",
      "  static constexpr ::std::size_t kArtifactBytes = ", artifact_bytes,
      ";\n",
      "  static constexpr ::std::size_t kNumKernels = ", plan.kernels.size(),
      ";\n",
      "  static constexpr ::kiln::KernelFn kKernels[kNumKernels + 1] = {");
  for (const std::string &k : plan.kernels)
    absl::StrAppend(&h, prefix, k, ", ");
  absl::StrAppend(&h, "nullptr};\n  ::kiln::StaticModel model_;\n};\n");
  if (!parts.empty())
    absl::StrAppend(&h, "\n");
  for (auto it = parts.rbegin(); it != parts.rend(); ++it)
    absl::StrAppend(&h, "} // namespace ", *it, "\n");
  absl::StrAppend(&h, "\n#endif // ", guard, "\n");
  return h;
}

} // namespace kiln
