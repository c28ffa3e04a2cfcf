#!/usr/bin/env bash
# Builds Kiln with Bazel and installs what a build outside Bazel (make,
# CMake, a plain g++ line) needs to use it:
#
#   PREFIX/bin/graph-compile                  the compiler's command line
#   PREFIX/bin/kiln-run                       runs an artifact file with the
#                                             runtime alone
#   PREFIX/lib/libkiln_runtime.so             the runtime: runs AOT classes
#                                             and artifacts; no LLVM, MLIR
#                                             or protobuf inside
#   PREFIX/lib/libkiln.so                     the Session API: compiler and
#                                             runtime (links libMLIR and
#                                             libLLVM-19 from Debian)
#   PREFIX/include/{runtime,session,...}/*.h  the public headers
#   PREFIX/lib/pkgconfig/kiln-runtime.pc      for libkiln_runtime.so
#   PREFIX/lib/pkgconfig/kiln.pc              for libkiln.so
#
# A program links one of the two libraries, not both: libkiln.so holds the
# runtime too.
#
#   tools/install.sh PREFIX [--runtime-only] [BAZEL_BUILD_FLAGS...]
#   tools/install.sh /usr/local -c opt        # an optimized build
#   tools/install.sh /opt/kiln --runtime-only # runtime, kiln-run, headers, .pc
#
# Without flags it builds as `bazel test //...` does, reusing its outputs.
# See README.md, "Using Kiln from your own build".
set -euo pipefail
if [ $# -lt 1 ] || [[ "$1" == -* ]]; then
  echo "usage: $0 PREFIX [--runtime-only] [BAZEL_BUILD_FLAGS...]" >&2
  exit 2
fi
prefix=$(realpath -m "$1")
shift
runtime_only=0
if [ "${1:-}" = --runtime-only ]; then
  runtime_only=1
  shift
fi
flags=("$@")
cd "$(dirname "$0")/.."

runtime_headers=(
  runtime/artifact.h
  runtime/executable.h
  runtime/hash.h
  runtime/npy.h
  runtime/static_model.h
  runtime/tensor.h
  runtime/thread_pool.h
)
# session/session.h and what it includes, and the GraphDef loader.
compiler_headers=(
  codegen/PipelineOptions.h
  graph/loader.h
  session/session.h
)

targets=(//runtime:kiln_runtime //tools:kiln-run)
[ "$runtime_only" -eq 1 ] || targets+=(//session:kiln //tools:graph-compile)
bazel build --noshow_progress --ui_event_filters=-info "${flags[@]}" \
  "${targets[@]}"
bin=$(bazel info "${flags[@]}" bazel-bin 2>/dev/null)

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 755 "$bin/runtime/libkiln_runtime.so" "$prefix/lib/"
install -D -m 755 "$bin/tools/kiln-run" "$prefix/bin/kiln-run"
for h in "${runtime_headers[@]}"; do
  install -D -m 644 "$h" "$prefix/include/$h"
done

version=$(sed -n 's/.*kKilnVersion\[\] = "\(.*\)";/\1/p' runtime/version.h)
cat >"$prefix/lib/pkgconfig/kiln-runtime.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: kiln-runtime
Description: Kiln's runtime: runs models compiled ahead of time (graph-compile --emit=obj,header, artifact files); no compiler inside
Version: $version
Requires: absl_status absl_statusor
Libs: -L\${libdir} -lkiln_runtime
Cflags: -I\${includedir}
EOF

if [ "$runtime_only" -eq 0 ]; then
  install -D -m 755 "$bin/tools/graph-compile" "$prefix/bin/graph-compile"
  install -m 755 "$bin/session/libkiln.so" "$prefix/lib/"
  for h in "${compiler_headers[@]}"; do
    install -D -m 644 "$h" "$prefix/include/$h"
  done
  install -D -m 644 "$bin/graph/graph.pb.h" "$prefix/include/graph/graph.pb.h"
  install -D -m 644 graph/graph.proto "$prefix/share/kiln/graph.proto"
  cat >"$prefix/lib/pkgconfig/kiln.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: kiln
Description: Kiln's Session API: compiles deep-learning graphs and runs them (compiler and runtime; use instead of kiln-runtime)
Version: $version
Requires: absl_status absl_statusor protobuf
Libs: -L\${libdir} -lkiln
Cflags: -I\${includedir}
EOF
fi
echo "Installed Kiln $version into $prefix"
