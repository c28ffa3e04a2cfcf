//===- onnx_importer.cc - ONNX models to the kiln dialect -----------------===//
//
// Part of Kiln. Loading and checking a model, and the import loop: each
// node is checked against ONNX's schema and converted by the registry entry
// for its op type and opset (onnx_registry.h); tensors are decoded in
// onnx_tensor.cc, nodes are read through onnx_node.h, and the converters
// are in onnx_ops_*.cc.
//
//===----------------------------------------------------------------------===//
#include "graph/onnx_importer.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "graph/build_op.h"
#include "graph/main_builder.h"
#include "graph/onnx_registry.h"
#include "graph/onnx_tensor.h"
#include "graph/op_table.h"
#include "graph/source.h"
#include "ir/Diagnostics.h"
#include "ir/Dialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "onnx/checker.h"
#include "onnx/defs/schema.h"

namespace onnx::checker {
// Exported by libonnx 1.12 but not declared in its header: the form of
// check_model that knows the model's directory (for external data), which
// check_model(path) uses.
void check_model(const ModelProto &model, CheckerContext &ctx);
} // namespace onnx::checker

namespace kiln {

using mlir::Value;

namespace {

/// "; did you mean 'Relu'?" for an op type near one Kiln converts, or "".
/// Why an operator outside Kiln's targets is refused (docs/onnx.md lists
/// them); empty for any other.
std::string OutOfScope(const std::string &op_type) {
  static const auto *reasons = new std::map<std::string, std::string>([] {
    std::map<std::string, std::string> m;
    auto add = [&](std::initializer_list<const char *> ops,
                   const char *reason) {
      for (const char *op : ops)
        m[op] = reason;
    };
    add({"NonZero", "NonMaxSuppression", "Unique", "Compress"},
        "its output's shape depends on the values of its inputs, and Kiln "
        "compiles static shapes: every buffer is planned before the run");
    add({"Gradient", "Adam", "Adagrad", "Momentum"},
        "a training-only operator; Kiln compiles inference");
    add({"StringNormalizer", "TfIdfVectorizer", "RegexFullMatch",
         "StringConcat", "StringSplit"},
        "it works on strings, which Kiln does not compute with");
    add({"SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase",
         "SequenceInsert", "SequenceLength", "SequenceMap", "SplitToSequence",
         "ConcatFromSequence", "Optional", "OptionalGetElement",
         "OptionalHasElement"},
        "it works on sequence or optional values; Kiln's values are tensors");
    add({"RandomNormal", "RandomNormalLike", "RandomUniform",
         "RandomUniformLike", "Multinomial", "Bernoulli"},
        "it draws random numbers");
    return m;
  }());
  auto found = reasons->find(op_type);
  return found == reasons->end() ? "" : found->second;
}

/// What follows "operator not supported": why (for an operator outside
/// Kiln's targets) or the nearest supported name.
std::string OpSuggestion(const std::string &op_type) {
  if (std::string why = OutOfScope(op_type); !why.empty())
    return absl::StrCat(" (outside Kiln's targets: ", why, ")");
  std::string near = SuggestOp(op_type, OnnxOps().opTypes());
  return near.empty() ? "" : absl::StrCat("; did you mean '", near, "'?");
}

} // namespace

//===----------------------------------------------------------------------===//
// The model source and the import loop
//===----------------------------------------------------------------------===//

namespace {

/// Appends the names `node` reads from its graph: its inputs, and the
/// values its subgraphs (an If's branches, a Loop's body) read from outside
/// them, at any depth.
void OuterReads(const onnx::NodeProto &node, std::vector<std::string> &out) {
  for (const std::string &in : node.input())
    if (!in.empty())
      out.push_back(in);
  auto fromSubgraph = [&](const onnx::GraphProto &g) {
    std::set<std::string> local;
    for (const onnx::ValueInfoProto &v : g.input())
      local.insert(v.name());
    for (const onnx::TensorProto &t : g.initializer())
      local.insert(t.name());
    for (const onnx::NodeProto &n : g.node())
      for (const std::string &o : n.output())
        local.insert(o);
    std::vector<std::string> reads;
    for (const onnx::NodeProto &n : g.node())
      OuterReads(n, reads);
    for (std::string &r : reads)
      if (!local.count(r))
        out.push_back(std::move(r));
  };
  for (const onnx::AttributeProto &a : node.attribute()) {
    if (a.has_g())
      fromSubgraph(a.g());
    for (const onnx::GraphProto &g : a.graphs())
      fromSubgraph(g);
  }
}

class OnnxSource : public GraphSource {
public:
  OnnxSource(onnx::ModelProto model, std::string base_dir, int opset)
      : model_(std::move(model)), base_dir_(std::move(base_dir)),
        opset_(opset) {
    for (const onnx::TensorProto &t : model_.graph().initializer())
      initializers_.insert(t.name());
    for (const onnx::ValueInfoProto &v : model_.graph().value_info())
      inferred_[v.name()] = &v;
    for (const onnx::ValueInfoProto &v : model_.graph().output())
      inferred_[v.name()] = &v;
  }

  absl::StatusOr<ImportedGraph>
  Import(const std::vector<std::string> &fetches,
         mlir::MLIRContext &context) const override;

  std::vector<std::string> DefaultFetches() const override {
    std::vector<std::string> names;
    for (const onnx::ValueInfoProto &v : model_.graph().output())
      names.push_back(v.name());
    return names;
  }
  std::vector<std::string> AllFetchable() const override {
    std::vector<std::string> names = DefaultFetches();
    for (const onnx::NodeProto &n : model_.graph().node())
      for (const std::string &o : n.output())
        if (!o.empty())
          names.push_back(o);
    return names;
  }
  std::set<std::string>
  InputsReachedBy(const std::vector<std::string> &requested) const override {
    const onnx::GraphProto &graph = model_.graph();
    std::map<std::string, const onnx::NodeProto *> producer;
    for (const onnx::NodeProto &n : graph.node())
      for (const std::string &o : n.output())
        producer[o] = &n;
    std::vector<std::string> pending =
        requested.empty() ? DefaultFetches() : requested;
    std::set<std::string> seen;
    while (!pending.empty()) {
      std::string name = std::move(pending.back());
      pending.pop_back();
      if (!seen.insert(name).second)
        continue;
      if (auto p = producer.find(name); p != producer.end())
        OuterReads(*p->second, pending);
    }
    std::set<std::string> inputs;
    for (const onnx::ValueInfoProto &v : graph.input())
      if (seen.count(v.name()) && !initializers_.count(v.name()) &&
          !frozen_.count(v.name()))
        inputs.insert(v.name());
    return inputs;
  }
  std::vector<std::string> InputNames() const override {
    std::vector<std::string> names;
    for (const onnx::ValueInfoProto &v : model_.graph().input())
      if (!initializers_.count(v.name()) && !frozen_.count(v.name()))
        names.push_back(v.name());
    return names;
  }
  std::vector<InputDeclaration> DeclaredInputs() const override {
    std::vector<InputDeclaration> inputs;
    for (const onnx::ValueInfoProto &v : model_.graph().input()) {
      if (initializers_.count(v.name()) || frozen_.count(v.name()))
        continue;
      InputDeclaration input;
      input.name = v.name();
      const auto &tt = v.type().tensor_type();
      input.dtype = DTypeFromOnnx(tt.elem_type());
      for (const auto &d : tt.shape().dim()) {
        input.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
        input.symbols.push_back(d.has_dim_value() ? "" : d.dim_param());
      }
      inputs.push_back(std::move(input));
    }
    return inputs;
  }
  std::string ModelBytes() const override;
  std::string WhyNotFeedable(const std::string &name) const override {
    if (frozen_.count(name))
      return "is frozen to a constant at compile time";
    for (const onnx::ValueInfoProto &v : model_.graph().input())
      if (v.name() == name)
        return initializers_.count(name)
                   ? "names an initializer, which cannot be fed"
                   : "";
    return "names no input of the ONNX graph";
  }

private:
  const onnx::ModelProto model_;
  const std::string base_dir_;
  const int opset_;
  std::set<std::string> initializers_;
  /// Types the model declares (graph outputs and value_info).
  std::map<std::string, const onnx::ValueInfoProto *> inferred_;
};

/// "f32[2,3]" from an ONNX type, or "" when not fully known.
std::string KnownType(const onnx::ValueInfoProto &info) {
  if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape())
    return "";
  DType dtype = DTypeFromOnnx(info.type().tensor_type().elem_type());
  if (dtype == DType::kInvalid)
    return "";
  std::vector<int64_t> shape;
  for (const auto &d : info.type().tensor_type().shape().dim()) {
    if (!d.has_dim_value())
      return "";
    shape.push_back(d.dim_value());
  }
  return DTypeName(dtype) + ShapeToString(shape);
}

/// The type `info` declares ("f32[batch,4]"), when `type` disagrees with
/// what it declares: its element type, its rank, or a dimension it gives a
/// size (a symbolic or unknown dimension takes any); "" when they agree or
/// the declaration says nothing.
std::string DeclaredIfDisagrees(const onnx::ValueInfoProto &info,
                                mlir::Type type) {
  if (!info.type().has_tensor_type())
    return "";
  const onnx::TypeProto::Tensor &declared = info.type().tensor_type();
  DType dtype = DTypeFromOnnx(declared.elem_type());
  auto t = mlir::cast<mlir::RankedTensorType>(type);
  bool agrees =
      dtype == DType::kInvalid || dtype == MlirToDType(t.getElementType());
  std::vector<std::string> dims;
  if (declared.has_shape()) {
    agrees &= declared.shape().dim_size() == t.getRank();
    for (int i = 0; i < declared.shape().dim_size(); ++i) {
      const auto &d = declared.shape().dim(i);
      if (d.has_dim_value()) {
        agrees &= i >= t.getRank() || d.dim_value() == t.getDimSize(i);
        dims.push_back(absl::StrCat(d.dim_value()));
      } else {
        dims.push_back(
            d.has_dim_param() && !d.dim_param().empty() ? d.dim_param() : "?");
      }
    }
  }
  if (agrees || dtype == DType::kInvalid || !declared.has_shape())
    return agrees ? "" : KnownType(info);
  return absl::StrCat(DTypeName(dtype), "[", absl::StrJoin(dims, ","), "]");
}

std::string OnnxSource::ModelBytes() const {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    model_.SerializeToCodedStream(&coded);
  }
  // External data files are named in the model; their contents are not,
  // so their sizes and modification times stand for them.
  for (const onnx::TensorProto &t : model_.graph().initializer())
    for (const onnx::StringStringEntryProto &e : t.external_data())
      if (e.key() == "location") {
        struct stat st;
        std::string path = base_dir_ + "/" + e.value();
        if (stat(path.c_str(), &st) == 0)
          absl::StrAppend(&bytes, "\n", path, " ", st.st_size, " ",
                          st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
      }
  // The folder as the file system knows it, however the path was spelled.
  std::error_code e;
  std::filesystem::path dir = std::filesystem::weakly_canonical(base_dir_, e);
  return absl::StrCat("onnx:", e ? base_dir_ : dir.string(), "\n", bytes);
}

absl::StatusOr<ImportedGraph>
OnnxSource::Import(const std::vector<std::string> &requested,
                   mlir::MLIRContext &context) const {
  const onnx::GraphProto &graph = model_.graph();
  std::vector<std::string> unsupported, errors;
  std::vector<std::string> fetches =
      requested.empty() ? DefaultFetches() : requested;

  // Every unsupported op, up front.
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    std::string name = node.name().empty()
                           ? absl::StrCat(node.op_type(), "_", i)
                           : node.name();
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      unsupported.push_back(absl::StrCat("node '", name, "' (", node.op_type(),
                                         "): domain '", node.domain(),
                                         "' is not supported"));
    else if (OnnxOps().forms(node.op_type()).empty())
      unsupported.push_back(absl::StrCat(
          "node '", name, "' (", node.op_type(), ", opset ", opset_,
          "): operator not supported", OpSuggestion(node.op_type())));
  }
  if (!unsupported.empty())
    return absl::UnimplementedError(absl::StrCat(
        "unsupported ONNX model: ", unsupported.size(), " node",
        unsupported.size() == 1 ? "" : "s", " cannot be compiled:\n  ",
        absl::StrJoin(unsupported, "\n  ")));

  MainBuilder main(context);
  mlir::OpBuilder &builder = main.builder();
  DiagnosticCollector diagnostics(context);

  std::map<std::string, Value> values;
  for (const onnx::TensorProto &t : graph.initializer()) {
    absl::StatusOr<mlir::DenseElementsAttr> attr =
        OnnxTensorToAttr(t, base_dir_, context);
    if (!attr.ok()) {
      (attr.status().code() == absl::StatusCode::kUnimplemented ? unsupported
                                                                : errors)
          .push_back(absl::StrCat("initializer '", t.name(),
                                  "': ", attr.status().message()));
      continue;
    }
    values[t.name()] = main.AddConstant(t.name(), *attr);
  }
  std::set<std::string> producedByNode, graphInputs;
  for (const onnx::NodeProto &n : graph.node())
    for (const std::string &o : n.output())
      producedByNode.insert(o);
  for (const onnx::ValueInfoProto &input : graph.input())
    graphInputs.insert(input.name());
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (initializers_.count(input.name()))
      continue;
    if (auto frozen = frozen_.find(input.name()); frozen != frozen_.end()) {
      values[input.name()] = main.AddConstant(
          input.name(), HostTensorToAttr(frozen->second, context));
      continue;
    }
    const auto &tt = input.type().tensor_type();
    mlir::Type elem = OnnxElementType(tt.elem_type(), context);
    if (!input.type().has_tensor_type() || !elem) {
      unsupported.push_back(
          input.type().has_sequence_type() || input.type().has_optional_type()
              ? absl::StrCat("input '", input.name(), "' is ",
                             input.type().has_sequence_type() ? "a sequence"
                                                              : "an optional",
                             ", not a tensor (outside Kiln's targets: its "
                             "values are tensors)")
              : absl::StrCat("input '", input.name(), "': element type ",
                             OnnxTypeName(tt.elem_type()),
                             " is not supported"));
      continue;
    }
    // Unknown dimensions (dim_param, no dim_value) take the shape the
    // Session was fed or graph-compile's --input-shape gave.
    std::vector<int64_t> declared;
    for (const auto &d : tt.shape().dim())
      declared.push_back(d.has_dim_value() ? d.dim_value() : -1);
    if (auto given = shapes_.find(input.name()); given != shapes_.end()) {
      if (!ShapeFits(declared, given->second)) {
        errors.push_back(absl::StrCat("input '", input.name(), "': shape ",
                                      ShapeToString(given->second),
                                      " given for it does not fit its "
                                      "declared shape ",
                                      ShapeToString(declared)));
        continue;
      }
      declared = given->second;
    } else if (!tt.has_shape()) {
      errors.push_back(absl::StrCat(
          "input '", input.name(),
          "' declares no shape; give it with graph-compile --input-shape ",
          input.name(), "=...  (its rank is unknown too)"));
      continue;
    }
    if (auto unknown = std::find(declared.begin(), declared.end(), -1);
        unknown != declared.end()) {
      int dim = unknown - declared.begin();
      errors.push_back(UnknownDimensionError(input.name(), declared, dim,
                                             tt.shape().dim(dim).dim_param()));
      continue;
    }
    llvm::SmallVector<int64_t> shape(declared.begin(), declared.end());
    if (!ShapeWithinLimit(shape)) {
      bool negative = llvm::any_of(shape, [](int64_t d) { return d < 0; });
      errors.push_back(absl::StrCat(
          "input '", input.name(), "' of shape ",
          ShapeToString({shape.begin(), shape.end()}),
          negative ? " has a negative dimension"
                   : " is larger than Kiln's limit of 2^32 elements"));
      continue;
    }
    values[input.name()] = main.AddArgument(
        input.name(), mlir::RankedTensorType::get(shape, elem));
  }
  // Without an input's shape nothing downstream can be checked; report the
  // unknown dimensions alone (what depends on them would only add noise,
  // such as a fetch of that input naming no value).
  std::vector<std::string> unknown;
  for (const std::string &e : errors)
    if (IsUnknownDimensionProblem(e))
      unknown.push_back(e);
  if (!unknown.empty() && unsupported.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ONNX model: ", unknown.size(), " problem",
                     unknown.size() == 1 ? "" : "s", ":\n  ",
                     absl::StrJoin(unknown, "\n  ")));

  // The nodes of `g`, into `values`; If's branches (subgraphs) recurse,
  // seeing the enclosing graphs' values.
  using Values = llvm::SmallVector<Value>;
  std::function<void(const onnx::GraphProto &, std::map<std::string, Value> &)>
      importNodes;
  auto importSubgraph =
      [&](const onnx::GraphProto &sub,
          const std::map<std::string, Value> &outer,
          llvm::ArrayRef<Value> inputs) -> mlir::FailureOr<Values> {
    std::map<std::string, Value> scoped = outer;
    size_t problems = errors.size() + unsupported.size();
    if (static_cast<size_t>(sub.input_size()) != inputs.size()) {
      errors.push_back(absl::StrCat("subgraph '", sub.name(), "' takes ",
                                    sub.input_size(), " inputs; its node ",
                                    "gives it ", inputs.size()));
      return mlir::failure();
    }
    for (auto [input, value] : llvm::zip(sub.input(), inputs))
      scoped[input.name()] = value;
    for (const onnx::TensorProto &t : sub.initializer()) {
      absl::StatusOr<mlir::DenseElementsAttr> attr =
          OnnxTensorToAttr(t, base_dir_, context);
      if (!attr.ok()) {
        errors.push_back(absl::StrCat("initializer '", t.name(),
                                      "' of subgraph '", sub.name(),
                                      "': ", attr.status().message()));
        continue;
      }
      scoped[t.name()] = main.AddConstant(t.name(), *attr);
    }
    importNodes(sub, scoped);
    if (errors.size() + unsupported.size() > problems)
      return mlir::failure();
    Values outputs;
    for (const onnx::ValueInfoProto &o : sub.output()) {
      auto it = scoped.find(o.name());
      if (it == scoped.end()) {
        errors.push_back(absl::StrCat("subgraph '", sub.name(), "': output '",
                                      o.name(), "' names no value"));
        return mlir::failure();
      }
      outputs.push_back(it->second);
    }
    return outputs;
  };
  importNodes = [&](const onnx::GraphProto &g,
                    std::map<std::string, Value> &values) {
    std::set<std::string> producedByNode, graphInputs, inits;
    for (const onnx::NodeProto &n : g.node())
      for (const std::string &o : n.output())
        producedByNode.insert(o);
    for (const onnx::ValueInfoProto &input : g.input())
      graphInputs.insert(input.name());
    for (const onnx::TensorProto &t : g.initializer())
      inits.insert(t.name());
    std::set<std::string> madeEarlier; // Outputs of the nodes before node i.
    for (int i = 0; i < g.node_size(); ++i) {
      if (i > 0)
        for (const std::string &o : g.node(i - 1).output())
          madeEarlier.insert(o);
      const onnx::NodeProto &node = g.node(i);
      std::string name = node.name().empty()
                             ? absl::StrCat(node.op_type(), "_", i)
                             : node.name();
      llvm::SmallVector<Value> inputs;
      bool missing = false;
      for (const std::string &in : node.input()) {
        if (in.empty()) {
          inputs.push_back(Value());
          continue;
        }
        auto it = values.find(in);
        if (it == values.end()) {
          missing = true;
          // Values that exist but failed earlier were reported there.
          if (!producedByNode.count(in) && !graphInputs.count(in) &&
              !inits.count(in))
            errors.push_back(absl::StrCat("node '", name, "' (", node.op_type(),
                                          "): input '", in,
                                          "' names no value of the graph"));
          else if (producedByNode.count(in) && !madeEarlier.count(in))
            errors.push_back(absl::StrCat(
                "node '", name, "' (", node.op_type(), "): input '", in,
                "' is made by a later node (ONNX nodes must be in "
                "topological order)"));
          break;
        }
        inputs.push_back(it->second);
      }
      if (missing)
        continue; // An earlier problem (or a dangling input, reported below).
      NodeContext ctx(node, name, opset_, builder, inputs, base_dir_,
                      &unsupported, &errors);
      ctx.setSubgraphImporter(
          [&](const onnx::GraphProto &sub,
              llvm::ArrayRef<Value> inputs) -> mlir::FailureOr<Values> {
            return importSubgraph(sub, values, inputs);
          });
      diagnostics.SetOpType(name, node.op_type());
      const OnnxOpEntry *entry = OnnxOps().lookup(node.op_type(), opset_);
      if (!entry) {
        // The main graph's unknown ops were reported up front; a
        // subgraph's are found here.
        const std::vector<OnnxOpEntry> &forms = OnnxOps().forms(node.op_type());
        ctx.unsupported(
            forms.empty()
                ? absl::StrCat("operator not supported",
                               OpSuggestion(node.op_type()))
                : absl::StrCat("Kiln converts this operator from opset ",
                               forms.front().since_version));
        continue;
      }
      if (std::string why = CheckAgainstSchema(node, inputs, opset_);
          !why.empty()) {
        ctx.error(why);
        continue;
      }
      size_t diagnosed = diagnostics.errors().size();
      mlir::FailureOr<llvm::SmallVector<Value>> outputs = entry->convert(ctx);
      // Every failure names its node; one that did not would let the import
      // go on without the node's outputs.
      if (mlir::failed(outputs) && !ctx.reported() &&
          diagnostics.errors().size() == diagnosed)
        ctx.error("cannot be converted");
      // A converter may go on past a reported problem (a mistyped attribute
      // read through a getter yields its fallback); its results are dropped.
      if (mlir::failed(outputs) || ctx.reported())
        continue;
      for (int k = 0; k < node.output_size(); ++k) {
        const std::string &out = node.output(k);
        if (out.empty())
          continue;
        if (k >= static_cast<int>(outputs->size())) {
          ctx.unsupported(
              absl::StrCat("output ", k, " ('", out, "') is not supported"));
          continue;
        }
        Value v = (*outputs)[k];
        values[out] = v;
        // Cross-check Kiln's inference against ONNX's where ONNX knows
        // (the main graph's value_info and outputs: a subgraph's values
        // may reuse their names).
        auto known = &g == &graph ? inferred_.find(out) : inferred_.end();
        if (known != inferred_.end()) {
          std::string want = DeclaredIfDisagrees(*known->second, v.getType());
          if (!want.empty())
            errors.push_back(absl::StrCat("node '", name, "' (", node.op_type(),
                                          "): output '", out, "' is ",
                                          TypeString(v.getType()),
                                          " but the model declares it ", want));
        }
      }
    }
  };
  importNodes(graph, values);
  for (const std::string &e : diagnostics.errors())
    errors.push_back(e);
  llvm::SmallVector<Value> results;
  for (const std::string &f : fetches) {
    auto it = values.find(f);
    if (it != values.end()) {
      results.push_back(it->second);
      // A graph output that is an input or initializer, not a node's
      // output (those are checked above), must have the type declared.
      auto declared = inferred_.find(f);
      if (declared != inferred_.end() && !producedByNode.count(f)) {
        std::string want =
            DeclaredIfDisagrees(*declared->second, it->second.getType());
        if (!want.empty())
          errors.push_back(absl::StrCat("output '", f, "' is declared ", want,
                                        " but is ",
                                        TypeString(it->second.getType())));
      }
      continue;
    }
    if (!producedByNode.count(f) && !initializers_.count(f))
      errors.push_back(
          absl::StrCat("fetch '", f, "' names no value of the ONNX graph"));
    else if (errors.empty() && unsupported.empty())
      // Every way a value goes missing should have been reported above;
      // never return fewer results than fetches.
      errors.push_back(absl::StrCat("fetch '", f, "' could not be computed"));
  }
  if (!unsupported.empty())
    return absl::UnimplementedError(absl::StrCat(
        "unsupported ONNX model:\n  ", absl::StrJoin(unsupported, "\n  "),
        errors.empty() ? "" : "\n  ", absl::StrJoin(errors, "\n  ")));
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ONNX model: ", errors.size(), " problem",
        errors.size() == 1 ? "" : "s", ":\n  ", absl::StrJoin(errors, "\n  ")));

  return main.Finish(results, fetches, diagnostics);
}

} // namespace

absl::StatusOr<std::unique_ptr<GraphSource>>
ParseOnnxSource(const std::string &bytes, const std::string &base_dir,
                const std::string &source_name) {
  // An empty string parses as a ModelProto with nothing in it.
  if (bytes.empty())
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": empty file, not an ONNX model"));
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": not a valid ONNX model"));
  int opset = -1;
  for (const onnx::OperatorSetIdProto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = static_cast<int>(o.version());
  if (opset < 1)
    return absl::UnimplementedError(absl::StrCat(
        source_name, ": the model imports no version of the default ONNX "
                     "opset; only that domain is supported"));
  if (opset <= kMaxKnownOpset) {
    // ONNX's own checker, where libonnx knows the opset. Its shape
    // inference is not run: fuzzing found libonnx 1.12's crashing on
    // malformed models, some of which Kiln's checks let through
    // (tests/fuzz/regressions/onnx). Kiln infers every type itself and
    // checks them against the types the model declares.
    try {
      onnx::checker::CheckerContext checker;
      checker.set_model_dir(base_dir);
      onnx::checker::check_model(model, checker);
    } catch (const std::exception &e) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_name, ": ONNX's checker refuses the model: ", e.what()));
    }
  }
  return std::unique_ptr<GraphSource>(
      new OnnxSource(std::move(model), base_dir, opset));
}

absl::StatusOr<std::unique_ptr<GraphSource>>
LoadOnnxSource(const std::string &path) {
  bool ok;
  std::string bytes = ReadWholeFile(path, &ok);
  if (!ok)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  return ParseOnnxSource(bytes, DirName(path), path);
}

} // namespace kiln
