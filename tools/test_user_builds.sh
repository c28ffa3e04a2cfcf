#!/usr/bin/env bash
# Kiln used from a project's own build, the two ways README.md ("Using Kiln
# from your own build") describes; tools/test.sh runs both after the Bazel
# tests.
#
#   tools/test_user_builds.sh [external] [install]   # default: both
#
# external: builds examples/external, a workspace of its own that uses Kiln
#   as the external repository @kiln, with Bazel, and runs its programs: the
#   class kiln_library compiled at build time (runtime only) and the Session
#   API must print the same probabilities.
# install: tools/install.sh into a temporary prefix, then g++ with
#   pkg-config against it: a class from PREFIX/bin/graph-compile
#   --emit=obj,header with kiln-runtime, the Session API with kiln, and
#   PREFIX/bin/kiln-run on an artifact must print what `graph-compile --run`
#   prints; every installed header must compile on its own.
#
# Prints "<step>: PASSED" or "<step>: FAILED" per step; exits 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
model=$root/examples/aot/classifier.pbtxt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Two inputs: the ramp of examples/aot/features.npy, and cos(0.7 i).
inputs=("$root/examples/aot/features.npy" "$tmp/cos.npy")
python3 - "$tmp/cos.npy" <<'EOF'
import math, struct, sys
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 16), }"
header = header.ljust(117) + "\n"  # 10 + 118 bytes: the data 64-aligned
values = [math.cos(0.7 * i) for i in range(16)]
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
    f.write(header.encode() + struct.pack("<16f", *values))
EOF

# "probs: a b c d" from graph-compile --run's "probs: f32[1,4] = [[a, b, c, d]]".
probs_of_run() {
  sed -n 's/^probs: f32\[1,4\] = \[\[\(.*\)\]\]$/probs: \1/p' | tr -d ','
}

# Fails when the binary $1 loads a compiler library.
links_no_compiler() {
  if ldd "$1" | grep -E 'libLLVM|libMLIR|libprotobuf|libonnx|libkiln\.so'; then
    echo "FAIL: $1 links a compiler library (above)"
    return 1
  fi
}

same() { # label, got, want
  echo "  $1 $2"
  if [ -z "$3" ] || [ "$2" != "$3" ]; then
    echo "FAIL: $1 printed '$2', want '$3'"
    return 1
  fi
}

check_external() {
  local startup=()
  # CI leaves no Bazel server behind.
  if [ -n "${CI:-}" ]; then startup=(--batch); fi
  (cd examples/external &&
    bazel "${startup[@]}" build --disk_cache="$HOME/.cache/kiln-bazel-disk" \
      --noshow_progress --ui_event_filters=-info //:classify //:session_classify)
  local bin=examples/external/bazel-bin input want
  links_no_compiler "$bin/classify"
  for input in "${inputs[@]}"; do
    want=$("$bin/session_classify" "$model" "$input")
    echo "  Session API:          $want"
    same "kiln_library class:  " "$("$bin/classify" "$input")" "$want"
  done
}

check_install() {
  local prefix=$tmp/prefix input want
  tools/install.sh "$prefix" >/dev/null
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
  mkdir "$tmp/install" && cd "$tmp/install"
  "$prefix/bin/graph-compile" "$model" --emit=obj,header \
    --class=my_app::Classifier -o classifier
  # shellcheck disable=SC2046  # pkg-config's output is a list of flags
  g++ -std=c++17 -I. "$root/examples/external/classify.cc" classifier.o \
    $(pkg-config --cflags --libs kiln-runtime) -Wl,-rpath,"$prefix/lib" \
    -o classify
  # shellcheck disable=SC2046
  g++ -std=c++17 "$root/examples/external/session_classify.cc" \
    $(pkg-config --cflags --libs kiln) -Wl,-rpath,"$prefix/lib" \
    -o session_classify
  links_no_compiler classify
  links_no_compiler "$prefix/bin/kiln-run"
  "$prefix/bin/graph-compile" "$model" -o classifier.kiln >/dev/null
  for input in "${inputs[@]}"; do
    want=$("$prefix/bin/graph-compile" "$model" --run \
      --feed "features=$input" | probs_of_run)
    echo "  graph-compile --run:  $want"
    same "class + kiln-runtime:" "$(./classify "$input")" "$want"
    same "Session + kiln:      " "$(./session_classify "$model" "$input")" \
      "$want"
    same "kiln-run artifact:   " "$("$prefix/bin/kiln-run" classifier.kiln \
      --feed "features=$input" | probs_of_run)" "$want"
  done
  local h n=0
  for h in $(cd "$prefix/include" && find . -name '*.h' | sort); do
    # shellcheck disable=SC2046
    if ! echo "#include \"${h#./}\"" |
      g++ -std=c++17 -fsyntax-only -x c++ - $(pkg-config --cflags kiln); then
      echo "FAIL: the installed ${h#./} does not compile on its own"
      return 1
    fi
    n=$((n + 1))
  done
  echo "  $n installed headers compile on their own"
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(external install)
status=0
for step in "${steps[@]}"; do
  case "$step" in
    external | install) ;;
    *)
      echo "usage: $0 [external] [install]" >&2
      exit 2
      ;;
  esac
  echo "== Kiln from a user's build: $step"
  # A subshell outside any condition, so that set -e holds inside it.
  set +e
  (
    set -e
    case "$step" in
      external) check_external ;;
      install) check_install ;;
    esac
  )
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    echo "$step: PASSED"
  else
    echo "$step: FAILED"
    status=1
  fi
done
exit "$status"
