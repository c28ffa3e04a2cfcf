#!/usr/bin/env bash
# Builds Kiln's libFuzzer targets with clang-19 (-fsanitize=fuzzer,address,
# undefined), replays each target's regression files, and fuzzes.
#
#   tools/fuzz.sh TARGET [SECONDS [LIBFUZZER_FLAG...]]
#       TARGET is npy, graphdef, onnx, compile or artifact. Builds it,
#       replays its
#       regressions (any crash fails), then fuzzes its corpus for SECONDS
#       (default 600), e.g. for a campaign that goes on past findings:
#         tools/fuzz.sh onnx 1800 -fork=1 -ignore_crashes=1
#   tools/fuzz.sh smoke [SECONDS]
#       CI: builds every target, replays every regression file and fuzzes
#       each target for SECONDS (default 60), two at a time; exits non-zero
#       on any crash. About 10 minutes from a fresh clone on 2 cores.
#   tools/fuzz.sh build [TARGET...]
#       Only builds (default: every target).
#
# Kiln's sources a target reaches are compiled with coverage and sanitizers
# by tests/fuzz/fuzz.mk into build-fuzz/obj (incrementally); LLVM, MLIR,
# protobuf, abseil and libonnx come from Debian uninstrumented, and so do
# the MLIR lowering and the machine code step (with LLD) that the compile
# target links from Bazel's build. Generated sources (graph.pb.*, the .inc files) come from Bazel too.
# Findings land in build-fuzz/TARGET/findings/; each becomes a regression
# file in tests/fuzz/regressions/TARGET/ (see docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
all_targets=(npy graphdef onnx compile artifact)
jobs=${FUZZ_JOBS:-2}

usage() {
  echo "usage: tools/fuzz.sh npy|graphdef|onnx|compile|artifact [SECONDS [FLAG...]]" >&2
  echo "       tools/fuzz.sh smoke [SECONDS] | build [TARGET...]" >&2
  exit 2
}

build() {
  tools/install_deps.sh clang-19 libclang-rt-19-dev
  bazel build --noshow_progress --ui_event_filters=-info \
    //graph:graph_proto //ir:kiln_ir //passes:passes_h //session \
    //tools:graph-compile
  local gen
  gen=$(bazel info bazel-bin 2>/dev/null)
  make --no-print-directory -f tests/fuzz/fuzz.mk -j"$jobs" GEN="$gen" \
    OUT=build-fuzz "$@"
  dictionary
}

# What a run of TARGET reads and writes: its corpus, findings and log. The
# smoke run keeps its own (starting afresh from the seeds each time); a
# campaign goes on from the corpus of earlier campaigns.
corpus() { echo "build-fuzz/$1/${smoke:+smoke-}corpus"; }
findings() { echo "build-fuzz/$1/${smoke:+smoke-}findings"; }
log() { echo "build-fuzz/$1/${smoke:+smoke-}fuzz.log"; }

# Fills the target's corpus with its seeds.
seed() {
  local target=$1 out
  out=$(corpus "$1")
  [ -z "${smoke:-}" ] || rm -rf "$out"
  mkdir -p "$out" "$(findings "$target")"
  case "$target" in
    npy) cp examples/*.npy "$out/" ;;
    graphdef) cp examples/*.pbtxt "$out/" ;;
    artifact)
      # Artifacts of the example and of a few ONNX test models.
      local gc m
      gc="$(bazel info bazel-bin 2>/dev/null)/tools/graph-compile"
      "$gc" examples/mlp.pbtxt -o "$out/mlp.kiln" >/dev/null
      for m in test_gemm_default_matrix_bias test_conv_with_strides_padding \
        test_softmax_axis_1 test_gather_0; do
        "$gc" "/usr/share/libonnx-testdata/data/node/$m/model.onnx" \
          -o "$out/$m.kiln" >/dev/null || true
      done ;;
    onnx | compile)
      # Debian's ONNX backend test models (libonnx-testdata). The compile
      # target takes the small ones (it skips anything big anyway); the
      # smoke run only every eighth of those, to get past them in time.
      tools/install_deps.sh libonnx-testdata
      local i=0 m suite
      for m in /usr/share/libonnx-testdata/data/*/*/model.onnx; do
        if [ "$target" = compile ]; then
          [ "$(stat -c %s "$m")" -le 2000 ] || continue
          i=$((i + 1))
          [ -z "${smoke:-}" ] || [ $((i % 8)) -eq 0 ] || continue
        fi
        suite=$(basename "$(dirname "$(dirname "$m")")")
        cp "$m" "$out/$suite-$(basename "$(dirname "$m")")"
      done ;;
  esac
}

# A libFuzzer dictionary of the op and attribute names the importers know,
# taken from the op table and the ONNX converters (so no list is kept by
# hand): mutations then swap one known name for another. Written once per
# build, before any target reads it.
dictionary() {
  mkdir -p build-fuzz
  {
    grep -ohE '\{"[A-Z][A-Za-z]*", "kiln\.' graph/op_table.cc
    grep -ohE 'onOp\("[A-Z][A-Za-z]*"' graph/onnx_ops_*.cc
    grep -ohE '\{"[a-z_]+", AttrKind' graph/op_table.cc
    grep -ohE 'get(Int|Float|String|Ints)\("[a-z_]+"' graph/onnx_ops_*.cc
  } | grep -oE '"[A-Za-z_]+"' | sort -u >build-fuzz/names.dict
}

# The files each target replays: its own regressions; the compile target
# also compiles the ONNX importer's.
regressions() {
  local dirs=("tests/fuzz/regressions/$1")
  [ "$1" = compile ] && dirs+=(tests/fuzz/regressions/onnx)
  find "${dirs[@]}" -type f 2>/dev/null | sort
}

replay() {
  local target=$1 files log
  mapfile -t files < <(regressions "$target")
  [ ${#files[@]} -gt 0 ] || return 0
  echo "$target: replaying ${#files[@]} regression files"
  log=build-fuzz/$target/${smoke:+smoke-}replay.log
  if ! "build-fuzz/$target/fuzzer" -runs=1 "${files[@]}" >"$log" 2>&1; then
    tail -40 "$log"
    echo "$target: a regression file crashes ($log)"
    return 1
  fi
}

fuzz() {
  local target=$1 seconds=$2
  shift 2
  local status=0 dict=() out
  out=$(log "$target")
  if [ "$target" = onnx ] || [ "$target" = compile ]; then
    dict=(-dict=build-fuzz/names.dict)
  fi
  "build-fuzz/$target/fuzzer" -max_total_time="$seconds" \
    -artifact_prefix="$(findings "$target")/" -print_final_stats=1 \
    "${dict[@]}" "$@" "$(corpus "$target")" >"$out" 2>&1 || status=$?
  grep -E '^stat::number_of_executed_units|^#[0-9]+.*(DONE|oom/timeout/crash)' \
    "$out" | tail -2 | sed "s/^/$target: /"
  if [ "$status" -ne 0 ]; then
    grep -E 'ERROR|Assertion|runtime error|compile_fuzzer:' "$out" |
      head -5 | sed "s/^/$target: /"
    echo "$target: crashed; see $out and $(findings "$target")/"
  fi
  return "$status"
}

case "${1:-}" in
  npy | graphdef | onnx | compile | artifact)
    target=$1
    seconds=${2:-600}
    shift $(($# < 2 ? $# : 2))
    build "$target"
    seed "$target"
    replay "$target"
    fuzz "$target" "$seconds" "$@"
    ;;
  smoke)
    seconds=${2:-60}
    smoke=1
    start=$SECONDS
    build "${all_targets[@]}"
    echo "smoke: built in $((SECONDS - start)) s"
    failed=0
    for t in "${all_targets[@]}"; do
      seed "$t"
      replay "$t" || failed=1
    done
    # Two targets at a time, each on one core.
    pids=()
    for t in "${all_targets[@]}"; do
      fuzz "$t" "$seconds" -rss_limit_mb=4096 &
      pids+=($!)
      if [ ${#pids[@]} -ge "$jobs" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
      fi
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    echo "smoke: $((SECONDS - start)) s in all; $([ $failed -eq 0 ] &&
      echo "no crash" || echo "FAILED")"
    exit "$failed"
    ;;
  build)
    shift
    build "${@:-${all_targets[@]}}"
    ;;
  *) usage ;;
esac
