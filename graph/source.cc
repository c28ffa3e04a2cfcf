//===- source.cc - A model a Session can import ---------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "graph/source.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "graph/loader.h"
#include "graph/onnx_importer.h"
#include "runtime/hash.h"

namespace kiln {
namespace {

/// The node a tensor name refers to: "x" of "x:1" and of "^x".
std::string NodeOf(const std::string &tensor) {
  std::string name = tensor.substr(0, tensor.find(':'));
  return !name.empty() && name[0] == '^' ? name.substr(1) : name;
}

/// Appends the tensors `node` reads: its inputs, and what the nodes of its
/// subgraphs (an If's branches, a While's cond and body) read from outside
/// them.
void OuterReads(const NodeDef &node, std::vector<std::string> &out) {
  for (const std::string &in : node.input())
    out.push_back(in);
  for (const auto &[key, attr] : node.attr()) {
    if (!attr.has_graph())
      continue;
    std::set<std::string> local;
    for (const NodeDef &n : attr.graph().node())
      local.insert(n.name());
    std::vector<std::string> reads;
    for (const NodeDef &n : attr.graph().node())
      OuterReads(n, reads);
    for (std::string &r : reads)
      if (!local.count(NodeOf(r)))
        out.push_back(std::move(r));
  }
}

class GraphDefSource : public GraphSource {
public:
  explicit GraphDefSource(GraphDef graph) : graph_(std::move(graph)) {}

  absl::StatusOr<ImportedGraph>
  Import(const std::vector<std::string> &fetches,
         mlir::MLIRContext &context) const override {
    return ImportGraphDef(graph_, fetches, context, frozen_, shapes_);
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
  std::vector<InputDeclaration> DeclaredInputs() const override {
    std::vector<InputDeclaration> inputs;
    for (const NodeDef &node : graph_.node()) {
      if (node.op() != "Placeholder" || frozen_.count(node.name()))
        continue;
      InputDeclaration input;
      input.name = node.name();
      if (auto dtype = node.attr().find("dtype"); dtype != node.attr().end())
        input.dtype =
            static_cast<DType>(static_cast<int>(dtype->second.type()));
      if (auto shape = node.attr().find("shape"); shape != node.attr().end())
        input.shape.assign(shape->second.shape().dim().begin(),
                           shape->second.shape().dim().end());
      input.symbols.assign(input.shape.size(), "");
      inputs.push_back(std::move(input));
    }
    return inputs;
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
  std::set<std::string>
  InputsReachedBy(const std::vector<std::string> &requested) const override {
    std::map<std::string, const NodeDef *> nodes;
    for (const NodeDef &node : graph_.node())
      nodes[node.name()] = &node;
    std::vector<std::string> pending =
        requested.empty() ? DefaultFetches() : requested;
    std::set<std::string> seen, inputs;
    while (!pending.empty()) {
      std::string name = NodeOf(pending.back());
      pending.pop_back();
      if (!seen.insert(name).second)
        continue;
      auto node = nodes.find(name);
      if (node == nodes.end())
        continue;
      if (node->second->op() == "Placeholder" && !frozen_.count(name))
        inputs.insert(name);
      OuterReads(*node->second, pending);
    }
    return inputs;
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

bool InputDeclaration::HasUnknownDims() const {
  return std::find(shape.begin(), shape.end(), -1) != shape.end();
}

std::string InputDeclaration::TypeString() const {
  std::vector<std::string> dims;
  for (size_t i = 0; i < shape.size(); ++i)
    dims.push_back(shape[i] >= 0 ? absl::StrCat(shape[i])
                   : i < symbols.size() && !symbols[i].empty() ? symbols[i]
                                                               : "?");
  return absl::StrCat(DTypeName(dtype), "[", absl::StrJoin(dims, ","), "]");
}

absl::Status CheckFeed(const InputDeclaration &input, DType dtype,
                       const std::vector<int64_t> &shape) {
  if (dtype == input.dtype && ShapeFits(input.shape, shape))
    return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("feed '", input.name, "': expected ", input.TypeString(),
                   ", got ", DTypeName(dtype), ShapeToString(shape)));
}

absl::Status
CheckReachedFeeds(const std::vector<InputDeclaration> &declared,
                  const std::map<std::string, std::vector<int64_t>> &given,
                  const std::set<std::string> &reached,
                  const std::map<std::string, FedType> &fed) {
  for (const InputDeclaration &input : declared) {
    InputDeclaration expected = input;
    if (auto g = given.find(input.name); g != given.end())
      expected.shape = g->second;
    auto feed = fed.find(input.name);
    if (feed == fed.end()) {
      if (reached.count(input.name))
        return absl::InvalidArgumentError(
            absl::StrCat("missing feed '", input.name, "' (",
                         input.TypeString(), "), which the fetches need"));
      continue;
    }
    if (feed->second.dtype != expected.dtype)
      if (absl::Status s =
              CheckFeed(expected, feed->second.dtype, feed->second.shape);
          !s.ok())
        return s;
  }
  return absl::OkStatus();
}

absl::Status
CheckSymbols(const std::vector<InputDeclaration> &inputs,
             const std::map<std::string, std::vector<int64_t>> &shapes) {
  // Symbol -> (size, the input and dimension that gave it).
  std::map<std::string, std::pair<int64_t, std::string>> sizes;
  for (const InputDeclaration &input : inputs) {
    auto given = shapes.find(input.name);
    if (given == shapes.end())
      continue;
    for (size_t i = 0; i < input.symbols.size() && i < given->second.size();
         ++i) {
      if (input.symbols[i].empty())
        continue;
      std::string where =
          absl::StrCat("dimension ", i, " of '", input.name, "'");
      auto [it, inserted] = sizes.emplace(
          input.symbols[i], std::make_pair(given->second[i], where));
      if (!inserted && it->second.first != given->second[i])
        return absl::InvalidArgumentError(
            absl::StrCat("feeds disagree on dimension '", input.symbols[i],
                         "': ", it->second.second, " is ", it->second.first,
                         ", ", where, " is ", given->second[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status GraphSource::SetInputShape(const std::string &name,
                                        std::vector<int64_t> shape) {
  std::vector<InputDeclaration> inputs = DeclaredInputs();
  auto input =
      std::find_if(inputs.begin(), inputs.end(),
                   [&](const InputDeclaration &d) { return d.name == name; });
  if (input == inputs.end()) {
    std::string why = WhyNotFeedable(name);
    return absl::InvalidArgumentError(
        absl::StrCat("input shape for '", name, "': it ",
                     why.empty() ? "is no input" : why));
  }
  if (absl::Status s = CheckFeed(*input, input->dtype, shape); !s.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("input shape for '", name, "': expected ",
                     input->TypeString(), ", got ", ShapeToString(shape)));
  for (int64_t d : shape)
    if (d < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("input shape for '", name, "': ", ShapeToString(shape),
                       " has a negative dimension"));
  std::map<std::string, std::vector<int64_t>> shapes = shapes_;
  shapes[name] = shape;
  if (absl::Status s = CheckSymbols(inputs, shapes); !s.ok())
    return s;
  shapes_ = std::move(shapes);
  return absl::OkStatus();
}

void GraphSource::FillNamedDimensions() {
  std::vector<InputDeclaration> inputs = DeclaredInputs();
  std::map<std::string, int64_t> sizes;
  for (const InputDeclaration &input : inputs)
    if (auto given = shapes_.find(input.name); given != shapes_.end())
      for (size_t i = 0; i < input.symbols.size(); ++i)
        if (!input.symbols[i].empty() && i < given->second.size())
          sizes.emplace(input.symbols[i], given->second[i]);
  for (const InputDeclaration &input : inputs) {
    if (!input.HasUnknownDims() || shapes_.count(input.name))
      continue;
    std::vector<int64_t> shape = input.shape;
    bool complete = true;
    for (size_t i = 0; i < shape.size() && complete; ++i)
      if (shape[i] < 0) {
        auto size = i < input.symbols.size() ? sizes.find(input.symbols[i])
                                             : sizes.end();
        complete = size != sizes.end();
        if (complete)
          shape[i] = size->second;
      }
    if (complete)
      shapes_[input.name] = shape;
  }
}

bool GraphSource::HasUnknownShapes() const {
  for (const InputDeclaration &input : DeclaredInputs())
    if (input.HasUnknownDims() && !shapes_.count(input.name))
      return true;
  return false;
}

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
  for (const auto &[name, shape] : shapes_)
    hasher.Add("shape:" + name).Add(ShapeToString(shape));
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
