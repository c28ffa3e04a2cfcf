//===- graph_test.cc - Loading and importing GraphDefs --------------------===//
//
// Part of Kiln. Loading from text and binary files, and the importer's
// errors: each names the node, and all are reported at once.
//
//===----------------------------------------------------------------------===//
#include <cstdio>
#include <fstream>

#include "google/protobuf/util/message_differencer.h"
#include "graph/importer.h"
#include "graph/loader.h"
#include "graph/op_table.h"
#include "mlir/IR/MLIRContext.h"
#include "tests/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::OpNode;
using testing::ParseGraph;
using testing::PlaceholderNode;

std::string TempPath(const std::string &name) {
  const char *dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

const char kSmallGraph[] = R"pb(
  node {
    name: "x"
    op: "Placeholder"
    attr {
      key: "dtype"
      value { type: DT_FLOAT }
    }
    attr {
      key: "shape"
      value { shape { dim: 2 dim: 3 } }
    }
  }
  node { name: "y" op: "Relu" input: "x" }
  signature { feed: "x" fetch: "y" }
)pb";

TEST(LoaderTest, LoadsTextAndBinary) {
  GraphDef graph = ParseGraph(kSmallGraph);
  std::string text_path = TempPath("small.pbtxt");
  std::ofstream(text_path) << kSmallGraph;
  absl::StatusOr<GraphDef> from_text = LoadGraphDef(text_path);
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  EXPECT_EQ(from_text->node_size(), 2);
  EXPECT_EQ(from_text->node(1).op(), "Relu");

  std::string binary_path = TempPath("small.pb");
  std::ofstream(binary_path, std::ios::binary) << graph.SerializeAsString();
  absl::StatusOr<GraphDef> from_binary = LoadGraphDef(binary_path);
  ASSERT_TRUE(from_binary.ok()) << from_binary.status();
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(*from_binary, graph));
}

TEST(LoaderTest, ReportsParseErrorsWithLine) {
  std::string path = TempPath("broken.pbtxt");
  std::ofstream(path) << "node {\n  name: \"x\"\n  bogus_field: 3\n}\n";
  absl::StatusOr<GraphDef> graph = LoadGraphDef(path);
  ASSERT_FALSE(graph.ok());
  EXPECT_THAT(std::string(graph.status().message()),
              AllOf(HasSubstr("broken.pbtxt"), HasSubstr("line 3"),
                    HasSubstr("bogus_field")));
}

TEST(LoaderTest, MissingFileAndBadBinary) {
  EXPECT_EQ(LoadGraphDef(TempPath("does-not-exist.pb")).status().code(),
            absl::StatusCode::kNotFound);
  std::string path = TempPath("garbage.pb");
  std::ofstream(path, std::ios::binary) << "\xff\xff\xff\xff garbage";
  absl::StatusOr<GraphDef> graph = LoadGraphDef(path);
  ASSERT_FALSE(graph.ok());
  EXPECT_THAT(std::string(graph.status().message()),
              HasSubstr("not a valid binary GraphDef"));
}

/// Imports `text` fetching `fetches` and returns the error message.
std::string ImportError(const std::string &text,
                        const std::vector<std::string> &fetches) {
  mlir::MLIRContext context;
  absl::StatusOr<ImportedGraph> imported =
      ImportGraphDef(ParseGraph(text), fetches, context);
  EXPECT_FALSE(imported.ok()) << "import unexpectedly succeeded";
  return imported.ok() ? "" : std::string(imported.status().message());
}

TEST(ImporterTest, ImportsFeedsAndFetches) {
  mlir::MLIRContext context;
  absl::StatusOr<ImportedGraph> imported =
      ImportGraphDef(ParseGraph(kSmallGraph), {}, context);
  ASSERT_TRUE(imported.ok()) << imported.status();
  ASSERT_EQ(imported->feeds.size(), 1u);
  EXPECT_EQ(imported->feeds[0].name, "x");
  EXPECT_EQ(imported->feeds[0].shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(imported->fetches.size(), 1u);
  EXPECT_EQ(imported->fetches[0].name, "y");
  EXPECT_EQ(imported->fetches[0].dtype, DType::kF32);
}

TEST(ImporterTest, ListsEveryUnknownOp) {
  std::string text = PlaceholderNode("x", "DT_FLOAT", {2}) +
                     OpNode("a", "Frobnicate", {"x"}) +
                     OpNode("b", "Relu", {"a"}) + OpNode("c", "Twiddle", {"b"});
  std::string error = ImportError(text, {"c"});
  EXPECT_THAT(error, AllOf(HasSubstr("node 'a' (Frobnicate): unknown op"),
                           HasSubstr("node 'c' (Twiddle): unknown op"),
                           HasSubstr("unknown ops: Frobnicate, Twiddle")));
  // Nothing Kiln knows is near these two: no guess.
  EXPECT_THAT(error, ::testing::Not(HasSubstr("did you mean")));
}

// A grouped convolution's broken rule is reported on its node.
TEST(ImporterTest, GroupedConvolutionErrorsNameTheNode) {
  std::string text = PlaceholderNode("x", "DT_FLOAT", {1, 8, 4, 4}) +
                     PlaceholderNode("w", "DT_FLOAT", {6, 2, 3, 3}) +
                     OpNode("my_conv", "Conv", {"x", "w"},
                            "attr { key: 'group' value { i: 4 } }");
  EXPECT_THAT(ImportError(text, {"my_conv"}),
              HasSubstr("node 'my_conv' (Conv): group 4 does not divide W's 6 "
                        "output channels (W is [6, 2, ...])"));
}

TEST(ImporterTest, UnknownOpSuggestsTheNearestKnownOne) {
  std::string text =
      PlaceholderNode("x", "DT_FLOAT", {2}) + OpNode("r", "Relu6", {"x"}) +
      OpNode("s", "softmax", {"r"}) + OpNode("m", "Matmul", {"s", "s"}) +
      OpNode("c", "Conv2D", {"m"});
  std::string error = ImportError(text, {"c"});
  EXPECT_THAT(
      error,
      AllOf(HasSubstr("node 'r' (Relu6): unknown op 'Relu6'; did you mean "
                      "'Relu'?"),
            HasSubstr("node 's' (softmax): unknown op 'softmax'; did you mean "
                      "'Softmax'?"),
            HasSubstr("node 'm' (Matmul): unknown op 'Matmul'; did you mean "
                      "'MatMul'?"),
            HasSubstr("node 'c' (Conv2D): unknown op 'Conv2D'; did you mean "
                      "'Conv'?")));
}

TEST(OpTableTest, NearestName) {
  EXPECT_EQ(SuggestOp("Relu6"), "Relu");
  EXPECT_EQ(SuggestOp("LeakyReLU"), "LeakyRelu");
  EXPECT_EQ(SuggestOp("Placeholdr"), "Placeholder");
  EXPECT_EQ(SuggestOp("Frobnicate"), "");
  EXPECT_EQ(SuggestOp(""), "");
  EXPECT_EQ(SuggestOp(std::string(1 << 20, 'R')), "");
  // The ONNX importer adds the ops only its converters know.
  EXPECT_EQ(SuggestOp("BatchNorm"), "");
  EXPECT_EQ(SuggestOp("BatchNormalisation", {"BatchNormalization"}),
            "BatchNormalization");
  // Ties go to the earlier candidate; the limit is a third of the length.
  EXPECT_EQ(NearestName("ab", {"ax", "xb"}), "ax");
  EXPECT_EQ(NearestName("abcdef", {"abcxyz"}), "");
  EXPECT_EQ(NearestName("abcdef", {"abcdyz"}), "abcdyz");
}

TEST(ImporterTest, DanglingInputDuplicateNameAndCycle) {
  std::string dangling = PlaceholderNode("x", "DT_FLOAT", {2}) +
                         OpNode("y", "Add", {"x", "nowhere"});
  EXPECT_THAT(ImportError(dangling, {"y"}),
              HasSubstr("node 'y' (Add): input 'nowhere' names no node"));

  std::string duplicate =
      PlaceholderNode("x", "DT_FLOAT", {2}) + OpNode("x", "Relu", {"x"});
  EXPECT_THAT(ImportError(duplicate, {"x"}),
              HasSubstr("node 'x' (Relu): duplicate node name"));

  std::string cycle = PlaceholderNode("x", "DT_FLOAT", {2}) +
                      OpNode("a", "Add", {"x", "b"}) +
                      OpNode("b", "Relu", {"a"}) + OpNode("c", "Neg", {"x"});
  std::string error = ImportError(cycle, {"c"});
  EXPECT_THAT(error, HasSubstr("cycle through nodes: a, b"));
  EXPECT_THAT(error, ::testing::Not(HasSubstr("c,")));
}

TEST(ImporterTest, ShapeAndDtypeMismatchNameTheNode) {
  std::string text = PlaceholderNode("x", "DT_FLOAT", {2, 3}) +
                     PlaceholderNode("w", "DT_FLOAT", {4, 5}) +
                     PlaceholderNode("i", "DT_INT32", {2, 3}) +
                     OpNode("fc", "MatMul", {"x", "w"}) +
                     OpNode("mixed", "Add", {"x", "i"}) +
                     OpNode("bad_bcast", "Add", {"x", "w"});
  std::string error = ImportError(text, {"fc"});
  EXPECT_THAT(error,
              AllOf(HasSubstr("node 'fc' (MatMul): inner dimensions differ: "
                              "A 'x' [2,3] has 3 columns, but B 'w' [4,5] has "
                              "4 rows"),
                    HasSubstr("node 'mixed' (Add): operand element types "
                              "differ"),
                    HasSubstr("node 'bad_bcast' (Add): shapes [2,3] and [4,5] "
                              "do not broadcast"),
                    HasSubstr("3 problems")));
}

TEST(ImporterTest, MissingAndMistypedAttributes) {
  std::string text =
      PlaceholderNode("x", "DT_FLOAT", {2, 3}) + OpNode("r", "Reshape", {"x"}) +
      OpNode("s", "Softmax", {"x"},
             R"(attr { key: "axis" value { f: 1.5 } })") +
      OpNode("t", "Transpose", {"x"},
             R"(attr { key: "permutation" value { list { i: [1, 0] } } })");
  std::string error = ImportError(text, {"s"});
  EXPECT_THAT(error,
              AllOf(HasSubstr("node 'r' (Reshape): missing required attribute "
                              "'shape'"),
                    HasSubstr("node 's' (Softmax): attribute 'axis' must be "
                              "given as 'i'"),
                    HasSubstr("node 't' (Transpose): unknown attribute "
                              "'permutation'")));
}

TEST(ImporterTest, BadPlaceholdersConstantsAndFetches) {
  std::string text =
      "node { name: \"p\" op: \"Placeholder\" }\n" +
      PlaceholderNode("h", "DT_INVALID", {2}) +
      OpNode("c", "Constant", {},
             R"(attr { key: "value" value { tensor { dtype: DT_FLOAT
                 shape { dim: 3 } float_val: [1, 2] } } })") +
      OpNode("n", "Relu", {"c", "c"});
  std::string error = ImportError(text, {"n", "ghost"});
  EXPECT_THAT(error,
              AllOf(HasSubstr("node 'p' (Placeholder): Placeholder needs a "
                              "'dtype'"),
                    HasSubstr("node 'h' (Placeholder): dtype DT_INVALID is not "
                              "supported"),
                    HasSubstr("node 'c' (Constant): attribute 'value': has 2 "
                              "values, but shape [3] needs 3"),
                    HasSubstr("node 'n' (Relu): takes 1 input(s), got 2"),
                    HasSubstr("fetch 'ghost' names no node")));
}

TEST(ImporterTest, ReshapeAndTransposeErrors) {
  std::string text =
      PlaceholderNode("x", "DT_FLOAT", {2, 3}) +
      OpNode("r", "Reshape", {"x"},
             R"(attr { key: "shape" value { list { i: [4, -1] } } })") +
      OpNode("t", "Transpose", {"x"},
             R"(attr { key: "perm" value { list { i: [0, 0] } } })") +
      OpNode("m", "ReduceSum", {"x"},
             R"(attr { key: "axes" value { list { i: [5] } } })");
  std::string error = ImportError(text, {"r"});
  EXPECT_THAT(error,
              AllOf(HasSubstr("node 'r' (Reshape): cannot reshape [2,3] to "
                              "[4,-1]"),
                    HasSubstr("node 't' (Transpose): perm [0,0] is not a "
                              "permutation"),
                    HasSubstr("node 'm' (ReduceSum): axis 5 is out of range "
                              "for rank 2")));
}

TEST(ImporterTest, ContractionErrorsNameInputsAndFlags) {
  // B after transB is [3,8], so its 3 rows meet A's 8 columns.
  std::string text =
      PlaceholderNode("h", "DT_FLOAT", {2, 8}) +
      OpNode("W2", "Constant", {},
             R"(attr { key: "value" value { tensor { dtype: DT_FLOAT
                 shape { dim: 8 dim: 3 } float_val: 1 } } })") +
      OpNode("b2", "Constant", {},
             R"(attr { key: "value" value { tensor { dtype: DT_FLOAT
                 shape { dim: 4 } float_val: 1 } } })") +
      OpNode("logits", "Gemm", {"h", "W2", "b2"},
             R"(attr { key: "transB" value { i: 1 } })") +
      OpNode("at", "Gemm", {"W2", "W2"},
             R"(attr { key: "transA" value { i: 1 } }
                attr { key: "transB" value { i: 1 } })") +
      OpNode("biased", "Gemm", {"h", "W2", "b2"}) +
      PlaceholderNode("v", "DT_FLOAT", {3}) +
      OpNode("mv", "MatMul", {"h", "v"}) +
      PlaceholderNode("t", "DT_FLOAT", {2, 3, 8}) +
      PlaceholderNode("u", "DT_FLOAT", {5, 8, 4}) +
      OpNode("bmm", "MatMul", {"t", "u"});
  std::string error =
      ImportError(text, {"logits", "at", "biased", "mv", "bmm"});
  EXPECT_THAT(
      error,
      AllOf(HasSubstr("node 'logits' (Gemm): inner dimensions differ: A 'h' "
                      "[2,8] has 8 columns, but B 'W2' [8,3] transposed by "
                      "transB is [3,8] with 3 rows (they would agree with "
                      "transB=0)"),
            HasSubstr("node 'at' (Gemm): inner dimensions differ: A 'W2' "
                      "[8,3] transposed by transA is [3,8] with 8 columns, "
                      "but B 'W2' [8,3] transposed by transB is [3,8] with 3 "
                      "rows (they would agree with transA=0)"),
            HasSubstr("node 'biased' (Gemm): C 'b2' [4] does not broadcast "
                      "to the result [2,3]"),
            HasSubstr("node 'mv' (MatMul): inner dimensions differ: A 'h' "
                      "[2,8] has 8 columns, but B 'v' [3] has 3 elements"),
            HasSubstr("node 'bmm' (MatMul): batch dimensions of A 't' "
                      "[2,3,8] and B 'u' [5,8,4] do not broadcast"),
            HasSubstr("5 problems")));
}

} // namespace
} // namespace kiln
