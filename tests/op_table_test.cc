//===- op_table_test.cc - The GraphDef op table against the dialect ------===//
//
// Part of Kiln. The GraphDef importer's op table (graph/op_table.cc) is data:
// it names kiln ops and their attributes by string. This test keeps those
// strings true to the ODS definitions (ir/Ops.td): every entry names a
// registered kiln op and only attributes that op declares, and every kiln op
// is reachable from the table or listed below as deliberately not exposed.
//
//===----------------------------------------------------------------------===//
#include <map>
#include <set>
#include <string>

#include "graph/importer.h"
#include "graph/op_table.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

/// Kiln ops no GraphDef op maps to, and why.
const std::map<std::string, std::string> &NotInTable() {
  static const auto *ops = new std::map<std::string, std::string>{
      {"kiln.fusion", "made by the kiln-fuse pass, not by users"},
      {"kiln.yield", "the terminator of kiln.fusion, kiln.if, kiln.loop"},
      {"kiln.if", "GraphDef If and ONNX If, with subgraphs (importers)"},
      {"kiln.loop", "GraphDef While, ONNX Loop and Scan, with subgraphs"},
      {"kiln.dispatch", "the launch plan's kernel call, made by outlining"},
      {"kiln.check", "a run-time check, made by kiln-insert-checks"},
      {"kiln.in_range", "made by ONNX converters (loss targets)"},
      {"kiln.recurrence",
       "ONNX only: RNN, GRU and LSTM (graph/onnx_ops_nn.cc)"},
      {"kiln.max", "ONNX only: its variadic Max converter (graph/onnx_ops*)"},
      {"kiln.min", "ONNX only: its variadic Min converter (graph/onnx_ops*)"},
      {"kiln.topk", "ONNX only: two results, which GraphDef nodes lack"},
      {"kiln.winograd_input", "made by the kiln-winograd pass from a Conv"},
      {"kiln.winograd_conv", "made by the kiln-winograd pass from a Conv"},
      {"kiln.winograd_output", "made by the kiln-winograd pass from a Conv"},
  };
  return *ops;
}

std::vector<std::string> TableOps() {
  std::vector<std::string> ops;
  for (const std::string &op : SupportedOps())
    if (op != "Placeholder")
      ops.push_back(op);
  return ops;
}

class OpTableTest : public ::testing::Test {
protected:
  void SetUp() override { LoadImporterDialects(context_); }
  mlir::MLIRContext context_;
};

TEST_F(OpTableTest, EveryEntryNamesARegisteredKilnOp) {
  for (const std::string &graph_op : TableOps()) {
    SCOPED_TRACE(graph_op);
    const OpSpec *spec = LookupOp(graph_op);
    ASSERT_NE(spec, nullptr);
    std::optional<mlir::RegisteredOperationName> name =
        mlir::RegisteredOperationName::lookup(spec->kiln_op, &context_);
    ASSERT_TRUE(name.has_value())
        << spec->kiln_op << " is not an op of the kiln dialect";
    EXPECT_EQ(name->getDialectNamespace(), "kiln");
    for (const AttrSpec &attr : spec->attrs)
      EXPECT_TRUE(llvm::any_of(name->getAttributeNames(),
                               [&](mlir::StringAttr declared) {
                                 return declared.getValue() == attr.name;
                               }))
          << spec->kiln_op << " declares no attribute '" << attr.name << "'";
  }
}

TEST_F(OpTableTest, EveryKilnOpIsReachableOrListed) {
  std::set<std::string> mapped;
  for (const std::string &graph_op : TableOps())
    mapped.insert(LookupOp(graph_op)->kiln_op);
  std::set<std::string> registered;
  for (mlir::RegisteredOperationName op : context_.getRegisteredOperations()) {
    if (op.getDialectNamespace() != "kiln")
      continue;
    std::string name = op.getStringRef().str();
    registered.insert(name);
    EXPECT_TRUE(mapped.count(name) || NotInTable().count(name))
        << name
        << " is neither in graph/op_table.cc nor listed as not "
           "exposed in this test";
    EXPECT_FALSE(mapped.count(name) && NotInTable().count(name))
        << name << " is in the table; drop it from the not-exposed list";
  }
  for (const auto &[name, why] : NotInTable())
    EXPECT_TRUE(registered.count(name)) << name << " is not a kiln op";
}

} // namespace
} // namespace kiln
