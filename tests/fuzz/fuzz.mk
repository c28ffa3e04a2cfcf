# Builds Kiln's libFuzzer targets; driven by tools/fuzz.sh, which passes
# GEN (Bazel's bazel-bin: graph.pb.*, the dialect's and the passes' .inc
# files and the uninstrumented objects) and OUT (build-fuzz).
#
# Kiln's sources a target reaches are compiled here with coverage and
# ASan/UBSan, one object each, so a rebuild after an edit recompiles only
# what changed (-MMD). The compile target also links Bazel's own objects of
# the MLIR lowering, the CPU backend's passes and machine code (codegen/
# common's lowering, codegen/cpu's tuning and MachineCode.cc with LLD,
# codegen/cuda, codegen/Pipeline.cc): they are
# large to compile, not instrumented, and a crash in them still ends the
# fuzzer with a stack trace.
GEN ?= bazel-bin
OUT ?= build-fuzz
CXX := /usr/lib/llvm-19/bin/clang++
OBJ := $(OUT)/obj
# UBSan stops at its first report (as ASan does), so that libFuzzer counts
# undefined behaviour as a crash and keeps the input.
CXXFLAGS := -std=c++17 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer-no-link,address,undefined \
  -fno-sanitize-recover=undefined -I. -I$(GEN) \
  -isystem /usr/lib/llvm-19/include -DONNX_NAMESPACE=onnx -DONNX_ML=1 \
  -MMD -MP
LDFLAGS := -fsanitize=fuzzer,address,undefined

ABSL := -labsl_statusor -labsl_status -labsl_cord -labsl_cordz_info \
  -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle \
  -labsl_str_format_internal -labsl_strings -labsl_strings_internal \
  -labsl_synchronization -labsl_time -labsl_time_zone -labsl_int128 \
  -labsl_throw_delegate -labsl_raw_logging_internal -labsl_base \
  -labsl_spinlock_wait -labsl_stacktrace -labsl_symbolize \
  -labsl_debugging_internal -labsl_demangle_internal -labsl_malloc_internal \
  -labsl_bad_optional_access -labsl_bad_variant_access
MLIR := -L/usr/lib/llvm-19/lib -Wl,-rpath,/usr/lib/llvm-19/lib -lMLIR \
  -lLLVM-19

GRAPH := graph/loader.cc graph/importer.cc graph/op_table.cc \
  graph/build_op.cc graph/main_builder.cc ir/Dialect.cc ir/TypeInference.cc \
  ir/Folders.cc ir/Geometry.cc ir/Diagnostics.cc ir/ScalarBodies.cc \
  ir/ScalarBuilders.cc runtime/tensor.cc \
  gen/graph/graph.pb.cc
ONNX := graph/onnx_importer.cc graph/onnx_node.cc graph/onnx_registry.cc \
  graph/onnx_tensor.cc graph/onnx_ops_elementwise.cc graph/onnx_ops_nn.cc \
  graph/onnx_ops_control.cc graph/onnx_ops_resize.cc \
  graph/onnx_ops_quant.cc graph/onnx_ops_signal.cc \
  graph/onnx_ops_shape.cc graph/source.cc runtime/hash.cc

npy_SRCS := tests/fuzz/npy_fuzzer.cc runtime/npy.cc runtime/tensor.cc
npy_LIBS := $(ABSL)
RUNTIME := runtime/artifact.cc runtime/executable.cc runtime/hash.cc \
  runtime/tensor.cc runtime/thread_pool.cc runtime/cuda_code.cc \
  runtime/cuda_device.cc
artifact_SRCS := tests/fuzz/artifact_fuzzer.cc $(RUNTIME)
artifact_LIBS := $(ABSL) -ldl
graphdef_SRCS := tests/fuzz/graphdef_fuzzer.cc $(GRAPH)
graphdef_LIBS := $(MLIR) -lprotobuf $(ABSL)
onnx_SRCS := tests/fuzz/onnx_fuzzer.cc $(ONNX) $(GRAPH)
onnx_LIBS := $(MLIR) -lonnx -lonnx_proto -lprotobuf $(ABSL)
compile_SRCS := tests/fuzz/compile_fuzzer.cc $(ONNX) $(GRAPH) \
  session/session.cc runtime/artifact.cc runtime/executable.cc \
  runtime/thread_pool.cc runtime/cuda_code.cc runtime/cuda_device.cc \
  codegen/Compile.cc \
  codegen/Targets.cc codegen/cpu/CpuBackend.cc \
  passes/FoldConstants.cc passes/Simplify.cc passes/Fuse.cc \
  passes/InsertChecks.cc passes/Winograd.cc \
  codegen/common/PlanMemory.cc codegen/common/OutlineKernels.cc \
  codegen/common/LaunchPlan.cc codegen/common/FetchesInPlace.cc
compile_BAZEL_OBJS := $(GEN)/codegen/_objs/pipeline/Pipeline.pic.o \
  $(patsubst %,$(GEN)/codegen/common/_objs/to_linalg/%.pic.o, \
    ContractionLowering ControlFlowLowering DataMovementLowering ElementwiseLowering IndexedLowering RecurrenceLowering \
    InlineFusions KilnToLinalg LinearAlgebraLowering LoweringUtils PadInPlace ReductionLowering SortLowering \
    WindowLowering) \
  $(GEN)/codegen/common/_objs/linalg_match/LinalgMatch.pic.o \
  $(patsubst %,$(GEN)/codegen/cpu/_objs/tuning/%.pic.o, \
    ApproximateMath DeinterleaveStridedConvolutions OrderLoops OutputChannelsLast PackWeights \
    ReassociateReductions TileFusions \
    VectorizeContractions VectorizeTransposes) \
  $(GEN)/codegen/cpu/_objs/machine_code/MachineCode.pic.o \
  $(GEN)/codegen/cuda/_objs/backend/CudaBackend.pic.o \
  $(patsubst %,$(GEN)/codegen/cuda/_objs/passes/%.pic.o, \
    ConvolutionsAsMatmuls EmulateOnHost MapKernels Matmul)
compile_LIBS := $(compile_BAZEL_OBJS) /usr/lib/llvm-19/lib/liblldELF.a \
  /usr/lib/llvm-19/lib/liblldCommon.a $(MLIR) -lonnx -lonnx_proto \
  -lprotobuf $(ABSL) -lz -lzstd -ldl

TARGETS := npy graphdef onnx compile artifact
objs = $(patsubst %.cc,$(OBJ)/%.o,$($(1)_SRCS))

.PHONY: all $(TARGETS)
all: $(TARGETS)
$(foreach t,$(TARGETS),$(eval $(t): $(OUT)/$(t)/fuzzer))
$(foreach t,$(TARGETS),$(eval $(OUT)/$(t)/fuzzer: $(call objs,$(t)) \
  $($(t)_BAZEL_OBJS) ; @mkdir -p $$(@D) && echo "link $$@" && \
  $(CXX) $(LDFLAGS) $$(filter %.o,$$^) $(filter-out %.o,$($(t)_LIBS)) -o $$@))

# Every object depends on a stamp named after the flags, so that changing
# them rebuilds everything.
STAMP := $(OBJ)/.flags-$(shell echo '$(CXXFLAGS)' | md5sum | cut -c1-12)
$(STAMP):
	@mkdir -p $(@D) && rm -f $(OBJ)/.flags-* && touch $@

$(OBJ)/gen/%.o: $(GEN)/%.cc $(STAMP)
	@mkdir -p $(@D) && echo "compile $<"
	@$(CXX) $(CXXFLAGS) -c $< -o $@
$(OBJ)/%.o: %.cc $(STAMP)
	@mkdir -p $(@D) && echo "compile $<"
	@$(CXX) $(CXXFLAGS) -c $< -o $@

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
