#!/usr/bin/env bash
# Configure and build oci-run with Ninja (RelWithDebInfo):
#   scripts/build.sh             -> build/
#   scripts/build.sh --sanitize  -> build-asan/ (AddressSanitizer + UBSan)
#   scripts/build.sh --release   -> build-release/ (Release, -O3: the shipped
#                                   binaries only, no tests; what a packager builds)
# Warnings are errors here (OCI_WERROR); ccache is used when installed.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

build_dir=build
build_type=RelWithDebInfo
extra=(-DOCI_SANITIZE=OFF)
targets=()
case ${1:-} in
  "") ;;
  --sanitize)
    build_dir=build-asan
    extra=(-DOCI_SANITIZE=ON)
    ;;
  --release)
    build_dir=build-release
    build_type=Release
    extra=(-DOCI_SANITIZE=OFF -DOCI_BUILD_TESTS=OFF)
    targets=(--target oci-run oci-run-network oci-run-image)
    ;;
  -h | --help)
    echo "usage: $0 [--sanitize|--release]"
    exit 0
    ;;
  *)
    echo "usage: $0 [--sanitize|--release]" >&2
    exit 2
    ;;
esac

if command -v ccache >/dev/null 2>&1; then
  extra+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DOCI_WERROR=ON "${extra[@]}"
cmake --build "$build_dir" "${targets[@]}"
