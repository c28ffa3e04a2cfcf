#!/usr/bin/env bash
# Installs the Debian packages Kiln builds and tests with, if any is missing.
# Idempotent, and silent when everything is already there.
set -euo pipefail

packages=(
  g++ python3
  bazel-bootstrap bazel-rules-java bazel-platforms
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools liblld-19-dev
  zlib1g-dev libzstd-dev
  libprotobuf-dev protobuf-compiler libabsl-dev
  libgtest-dev libgmock-dev
  libonnx-dev libonnx-testdata
  python3-numpy pkg-config
)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
