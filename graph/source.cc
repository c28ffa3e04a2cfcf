//===- source.cc - A model a Session can import ---------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "graph/source.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "graph/loader.h"
#include "graph/onnx_importer.h"
#include "runtime/hash.h"

namespace kiln {
namespace {

class GraphDefSource : public GraphSource {
public:
  explicit GraphDefSource(GraphDef graph) : graph_(std::move(graph)) {}

  absl::StatusOr<ImportedGraph>
  Import(const std::vector<std::string> &fetches,
         mlir::MLIRContext &context) const override {
    return ImportGraphDef(graph_, fetches, context, frozen_);
  }
  std::vector<std::string> DefaultFetches() const override {
    return {graph_.signature().fetch().begin(),
            graph_.signature().fetch().end()};
  }
  std::vector<std::string> AllFetchable() const override {
    std::vector<std::string> names;
    for (const NodeDef &node : graph_.node())
      names.push_back(node.name());
    return names;
  }
  std::vector<std::string> InputNames() const override {
    std::vector<std::string> names;
    for (const NodeDef &node : graph_.node())
      if (node.op() == "Placeholder" && !frozen_.count(node.name()))
        names.push_back(node.name());
    return names;
  }
  std::string ModelBytes() const override {
    std::string bytes;
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    graph_.SerializeToCodedStream(&coded);
    coded.Trim();
    return absl::StrCat("graphdef:", bytes);
  }
  std::string WhyNotFeedable(const std::string &name) const override {
    if (frozen_.count(name))
      return "is frozen to a constant at compile time";
    for (const NodeDef &node : graph_.node())
      if (node.name() == name)
        return node.op() == "Placeholder"
                   ? ""
                   : absl::StrCat("names a ", node.op(),
                                  " node; only Placeholder nodes can be fed");
    return "names no node in the graph";
  }

private:
  GraphDef graph_;
};

} // namespace

absl::Status GraphSource::Freeze(const std::string &name, Tensor value) {
  std::string why = WhyNotFeedable(name);
  if (!why.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("cannot freeze '", name, "': it ", why));
  frozen_[name] = std::move(value);
  return absl::OkStatus();
}

std::string GraphSource::Fingerprint() const {
  Hasher hasher;
  hasher.Add(ModelBytes());
  for (const auto &[name, tensor] : frozen_) {
    hasher.Add(name).Add(tensor.TypeString());
    hasher.Add(
        std::string_view(static_cast<const char *>(tensor.raw_data()),
                         tensor.num_elements() * DTypeSize(tensor.dtype())));
  }
  return hasher.HexDigest();
}

std::unique_ptr<GraphSource> MakeGraphDefSource(GraphDef graph) {
  return std::make_unique<GraphDefSource>(std::move(graph));
}

absl::StatusOr<std::unique_ptr<GraphSource>>
LoadGraphSource(const std::string &path) {
  if (absl::EndsWith(path, ".onnx"))
    return LoadOnnxSource(path);
  absl::StatusOr<GraphDef> graph = LoadGraphDef(path);
  if (!graph.ok())
    return graph.status();
  return MakeGraphDefSource(*std::move(graph));
}

} // namespace kiln
