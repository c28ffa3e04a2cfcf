//===- dtype_table_test.cc - The one element-type table -------------------===//
//
// Part of Kiln. runtime/tensor.cc's table is the only mapping between
// Kiln's DType, graph.proto's DataType, ONNX's TensorProto.DataType and
// MLIR's element types; this test holds it to each format's own names.
//
//===----------------------------------------------------------------------===//
#include "graph/graph.pb.h"
#include "graph/importer.h"
#include "mlir/IR/MLIRContext.h"
#include "onnx/onnx_pb.h"
#include "runtime/tensor.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

TEST(DTypeTableTest, GraphDefNumberingAndNames) {
  // graph.proto's DataType numbers are DType's (the importer casts).
  for (const DTypeInfo &info : AllDTypes()) {
    SCOPED_TRACE(info.name);
    EXPECT_EQ(
        DataType_Name(static_cast<DataType>(static_cast<int>(info.dtype))),
        info.graphdef);
  }
}

TEST(DTypeTableTest, OnnxCodesNameTheSameTypes) {
  for (const DTypeInfo &info : AllDTypes()) {
    SCOPED_TRACE(info.name);
    ASSERT_TRUE(onnx::TensorProto::DataType_IsValid(info.onnx));
    std::string onnx = onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(info.onnx));
    std::string graphdef = info.graphdef;
    EXPECT_EQ(onnx == "FLOAT16" ? "DT_HALF" : "DT_" + onnx, graphdef);
    EXPECT_EQ(DTypeFromOnnx(info.onnx), info.dtype);
  }
  EXPECT_EQ(DTypeFromOnnx(onnx::TensorProto::STRING), DType::kInvalid);
  EXPECT_EQ(DTypeFromOnnx(onnx::TensorProto::COMPLEX64), DType::kInvalid);
}

TEST(DTypeTableTest, MlirTypesRoundTripWithTheirWidths) {
  mlir::MLIRContext context;
  for (const DTypeInfo &info : AllDTypes()) {
    SCOPED_TRACE(info.name);
    mlir::Type t = DTypeToMlir(info.dtype, context);
    ASSERT_TRUE(t);
    EXPECT_EQ(static_cast<int>(t.getIntOrFloatBitWidth()), info.bits);
    EXPECT_EQ(info.bytes, std::max(1, info.bits / 8));
    EXPECT_EQ(MlirToDType(t), info.dtype);
  }
}

} // namespace
} // namespace kiln
