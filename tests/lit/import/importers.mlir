// RUN: graph-compile %S/Inputs/small.pbtxt --fetch y --emit=graph -O0 | FileCheck %s
// RUN: graph-compile %S/Inputs/small.onnx --emit=graph -O0 | FileCheck %s

// Each importer's output for the same small graph (Inputs/small.pbtxt, and
// Inputs/small.onnx written by onnx.helper at opset 13), with no pass run:
// one @main whose arguments are the feeds and results the fetches, each
// named by kiln.name; constants as kiln.constant; one kiln op per node,
// typed by its own inference. Both importers build the same module.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32> {kiln.name = "x"}) -> (tensor<4x2xf32> {kiln.name = "y"})
// CHECK-NEXT: %[[W:.*]] = kiln.constant dense<{{\[\[}}0.000000e+00, 1.000000e+00], [2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00]]> : tensor<3x2xf32>
// CHECK-NEXT: %[[MM:.*]] = kiln.matmul %[[X]], %[[W]] : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
// CHECK-NEXT: %[[R:.*]] = kiln.relu %[[MM]] : (tensor<4x2xf32>) -> tensor<4x2xf32>
// CHECK-NEXT: %[[Y:.*]] = kiln.softmax %[[R]] : (tensor<4x2xf32>) -> tensor<4x2xf32>
// CHECK-NEXT: return %[[Y]] : tensor<4x2xf32>
