#!/usr/bin/env bash
# Builds one libFuzzer target with clang-19 (-fsanitize=fuzzer,address,
# undefined) and runs it on its seed corpus for SECONDS (default 600).
#
#   tools/fuzz.sh npy [SECONDS]
#   tools/fuzz.sh graphdef [SECONDS]
#   tools/fuzz.sh onnx [SECONDS]
#
# Kiln's sources the target reaches are compiled here with coverage; LLVM,
# MLIR, protobuf and abseil come from Debian uninstrumented. Generated
# sources (graph.pb.*, the dialect's .inc files) come from a Bazel build.
# Findings land in build-fuzz/TARGET/; each becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tools/fuzz.sh npy|graphdef|onnx [SECONDS]}
seconds=${2:-600}
tools/install_deps.sh clang-19 libclang-rt-19-dev
bazel build --noshow_progress --ui_event_filters=-info //graph:graph_proto //ir:kiln_ir
gen=$(bazel info bazel-bin 2>/dev/null)
out=build-fuzz/$target
mkdir -p "$out/corpus" "$out/findings"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -I. -I"$gen"
  -isystem /usr/lib/llvm-19/include -DONNX_NAMESPACE=onnx -DONNX_ML=1)
absl=(-labsl_statusor -labsl_status -labsl_cord -labsl_cordz_info
  -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle
  -labsl_str_format_internal -labsl_strings -labsl_strings_internal
  -labsl_synchronization -labsl_time -labsl_time_zone -labsl_int128
  -labsl_throw_delegate -labsl_raw_logging_internal -labsl_base
  -labsl_spinlock_wait -labsl_stacktrace -labsl_symbolize
  -labsl_debugging_internal -labsl_demangle_internal -labsl_malloc_internal
  -labsl_bad_optional_access -labsl_bad_variant_access)
case "$target" in
  npy)
    srcs=(tests/fuzz/npy_fuzzer.cc runtime/npy.cc runtime/tensor.cc)
    libs=("${absl[@]}")
    cp examples/*.npy "$out/corpus/" ;;
  graphdef)
    srcs=(tests/fuzz/graphdef_fuzzer.cc graph/loader.cc graph/importer.cc
      graph/op_table.cc graph/build_op.cc ir/Dialect.cc ir/TypeInference.cc ir/Folders.cc ir/Geometry.cc ir/Diagnostics.cc
      runtime/tensor.cc "$gen/graph/graph.pb.cc")
    libs=(-L/usr/lib/llvm-19/lib -Wl,-rpath,/usr/lib/llvm-19/lib -lMLIR
      -lLLVM-19 -lprotobuf "${absl[@]}")
    cp examples/*.pbtxt "$out/corpus/" ;;
  onnx)
    # The seeds are Debian's ONNX backend test models (libonnx-testdata).
    tools/install_deps.sh libonnx-testdata
    srcs=(tests/fuzz/onnx_fuzzer.cc graph/onnx_importer.cc graph/onnx_ops.cc
      graph/source.cc graph/loader.cc graph/importer.cc graph/op_table.cc
      graph/build_op.cc ir/Dialect.cc ir/TypeInference.cc ir/Folders.cc ir/Geometry.cc ir/Diagnostics.cc runtime/tensor.cc
      "$gen/graph/graph.pb.cc")
    libs=(-L/usr/lib/llvm-19/lib -Wl,-rpath,/usr/lib/llvm-19/lib -lMLIR
      -lLLVM-19 -lonnx -lonnx_proto -lprotobuf "${absl[@]}")
    for m in /usr/share/libonnx-testdata/data/*/*/model.onnx; do
      suite=$(basename "$(dirname "$(dirname "$m")")")
      cp "$m" "$out/corpus/$suite-$(basename "$(dirname "$m")").onnx"
    done ;;
  *) echo "unknown target '$target' (npy, graphdef, onnx)" >&2; exit 2 ;;
esac
/usr/lib/llvm-19/bin/clang++ "${flags[@]}" "${srcs[@]}" "${libs[@]}" \
  -o "$out/fuzzer"
"$out/fuzzer" -max_total_time="$seconds" -artifact_prefix="$out/findings/" \
  -print_final_stats=1 "$out/corpus" 2>&1 | tail -15
