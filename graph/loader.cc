//===- loader.cc - Read a GraphDef from disk ------------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "graph/loader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace kiln {
namespace {

/// Collects text-format parse errors instead of letting protobuf log them.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
public:
  void AddError(int line, int column, const std::string &message) override {
    errors.push_back(absl::StrCat("line ", line + 1, ", column ", column + 1,
                                  ": ", message));
  }
  void AddWarning(int line, int column, const std::string &message) override {}
  std::vector<std::string> errors;
};

bool IsTextPath(const std::string &path) {
  return absl::EndsWith(path, ".pbtxt") || absl::EndsWith(path, ".pbtext") ||
         absl::EndsWith(path, ".txt") || absl::EndsWith(path, ".prototxt");
}

} // namespace

absl::StatusOr<GraphDef> ParseGraphDefText(const std::string &text,
                                           const std::string &source_name) {
  GraphDef graph;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &graph)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": not a valid GraphDef in text format: ",
                     absl::StrJoin(errors.errors, "; ")));
  }
  return graph;
}

absl::StatusOr<GraphDef> LoadGraphDef(const std::string &path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a directory, not a model file"));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string contents = buffer.str();
  if (contents.empty())
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": empty file, no graph in it"));
  if (IsTextPath(path))
    return ParseGraphDefText(contents, path);
  GraphDef graph;
  if (!graph.ParseFromString(contents)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a valid binary GraphDef (use a .pbtxt extension for "
              "text format)"));
  }
  return graph;
}

} // namespace kiln
