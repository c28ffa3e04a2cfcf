//===- loader.h - Read a GraphDef from disk -------------------------------===//
//
// Part of Kiln. GraphDefs come as protobuf text (.pbtxt, .pbtext, .txt) or
// binary (anything else).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_LOADER_H
#define KILN_GRAPH_LOADER_H

#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.pb.h"

namespace kiln {

/// Reads a GraphDef, choosing text or binary format from the file extension.
/// Parse errors name the file and, for text, the line and column.
absl::StatusOr<GraphDef> LoadGraphDef(const std::string &path);

/// Parses a GraphDef from protobuf text format.
absl::StatusOr<GraphDef> ParseGraphDefText(const std::string &text,
                                           const std::string &source_name);

} // namespace kiln

#endif // KILN_GRAPH_LOADER_H
