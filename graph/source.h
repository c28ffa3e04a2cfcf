//===- source.h - A model a Session can import ------------------*- C++ -*-===//
//
// Part of Kiln. A GraphSource is a user's model in one of Kiln's input
// formats (a GraphDef, an ONNX model). The Session asks it to import the
// subgraph a list of fetches needs, and how to judge a feed's name.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_SOURCE_H
#define KILN_GRAPH_SOURCE_H

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/importer.h"

namespace kiln {

/// An input as the model declares it.
struct InputDeclaration {
  std::string name;
  DType dtype = DType::kInvalid;
  /// -1 for a dimension the model leaves unknown (a Placeholder's -1, an
  /// ONNX dim_param or missing dim_value): it takes the fed size.
  std::vector<int64_t> shape;
  /// Per dimension, its symbolic name ("batch", "unk__12") or "": the
  /// dimensions that share a name must be fed the same size.
  std::vector<std::string> symbols;

  bool HasUnknownDims() const;
  /// "f32[?,128]"; symbolic dimensions by name ("f32[batch,128]").
  std::string TypeString() const;
};

/// Whether `shape` of `dtype` can be fed as `input`: same dtype and rank,
/// and the declared sizes. An InvalidArgument error names the feed.
absl::Status CheckFeed(const InputDeclaration &input, DType dtype,
                       const std::vector<int64_t> &shape);

/// A feed's type, as far as checks before compiling need it.
struct FedType {
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;
};

/// Checks feeds before anything compiles: each input in `reached` (the
/// inputs the fetches read, GraphSource::InputsReachedBy) must be fed, and
/// every feed must have its input's declared dtype. (The shape of an input
/// declared static is checked by the executable, where the fetches need
/// it: ONNX's CastLike tests feed an input read only for its type with
/// another shape. `given` replaces the declared shape where one was given.)
/// Errors name the feed and both types.
absl::Status
CheckReachedFeeds(const std::vector<InputDeclaration> &declared,
                  const std::map<std::string, std::vector<int64_t>> &given,
                  const std::set<std::string> &reached,
                  const std::map<std::string, FedType> &fed);

/// Whether the shapes given to `inputs` agree on every named dimension
/// (two inputs declared [batch, 128] and [batch] fed 3 and 4 do not).
absl::Status
CheckSymbols(const std::vector<InputDeclaration> &inputs,
             const std::map<std::string, std::vector<int64_t>> &shapes);

class GraphSource {
public:
  virtual ~GraphSource() = default;

  /// Imports the subgraph `fetches` need; an empty list means DefaultFetches.
  virtual absl::StatusOr<ImportedGraph>
  Import(const std::vector<std::string> &fetches,
         mlir::MLIRContext &context) const = 0;
  /// What a Run without fetches computes (signature fetches, graph outputs).
  virtual std::vector<std::string> DefaultFetches() const = 0;
  /// Everything that can be fetched; importing it checks the whole model.
  virtual std::vector<std::string> AllFetchable() const = 0;
  /// Fixes input `name` to `value` at compile time: later imports see a
  /// constant, so shapes, axes and the like that depend on it are known
  /// (the way a static compiler handles them). The input can no longer be
  /// fed.
  absl::Status Freeze(const std::string &name, Tensor value);
  /// The inputs that can be fed, in the model's order.
  virtual std::vector<std::string> InputNames() const = 0;
  /// The same, with their declared types.
  virtual std::vector<InputDeclaration> DeclaredInputs() const = 0;
  /// Gives `name`, an input with unknown dimensions, its full shape for
  /// later imports (the importers then compile that specialization). The
  /// shape must agree with the declaration and with the shapes given to
  /// inputs sharing a symbolic dimension.
  absl::Status SetInputShape(const std::string &name,
                             std::vector<int64_t> shape);
  /// The shapes SetInputShape gave; replaced wholesale by SetInputShapes
  /// (which checks nothing: the Session checks feeds first).
  const std::map<std::string, std::vector<int64_t>> &input_shapes() const {
    return shapes_;
  }
  void SetInputShapes(std::map<std::string, std::vector<int64_t>> shapes) {
    shapes_ = std::move(shapes);
  }
  /// Whether some feedable input still has a dimension no shape gave.
  bool HasUnknownShapes() const;
  /// Gives each input not yet given a shape one, when all its unknown
  /// dimensions are named and the shapes given so far fix those names
  /// (x: [batch, 4] given 2x4 makes s: [batch] 2).
  void FillNamedDimensions();
  /// Empty when `name` is an input that can be fed; otherwise why not.
  virtual std::string WhyNotFeedable(const std::string &name) const = 0;
  /// The feedable inputs `fetches` (empty: DefaultFetches) read, directly
  /// or through the nodes that compute them (subgraphs included), found
  /// from the model without importing it: a Run can report a missing feed
  /// before it compiles. (Compiling may fold some away, e.g. an input read
  /// only by Shape; they are still asked for, as ONNX Runtime does.)
  virtual std::set<std::string>
  InputsReachedBy(const std::vector<std::string> &fetches) const = 0;

  /// A digest of the model and of the inputs Freeze fixed: sources with
  /// equal fingerprints compile to the same code (the compilation cache's
  /// key).
  std::string Fingerprint() const;

protected:
  /// The bytes that define the model (its serialized form, and for ONNX the
  /// paths, sizes and times of its external data files).
  virtual std::string ModelBytes() const = 0;
  /// Inputs fixed by Freeze; importers turn them into constants.
  std::map<std::string, Tensor> frozen_;
  /// Full shapes of inputs declared with unknown dimensions.
  std::map<std::string, std::vector<int64_t>> shapes_;
};

std::unique_ptr<GraphSource> MakeGraphDefSource(GraphDef graph);

/// Loads a model file: ".onnx" as ONNX, anything else as a GraphDef.
absl::StatusOr<std::unique_ptr<GraphSource>>
LoadGraphSource(const std::string &path);

} // namespace kiln

#endif // KILN_GRAPH_SOURCE_H
