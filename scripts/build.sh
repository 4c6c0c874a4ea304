#!/usr/bin/env bash
# Configure and build oci-run with Ninja (RelWithDebInfo):
#   scripts/build.sh             -> build/
#   scripts/build.sh --sanitize  -> build-asan/ (AddressSanitizer + UBSan)
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

build_dir=build
extra=(-DOCI_SANITIZE=OFF)
case ${1:-} in
  "") ;;
  --sanitize)
    build_dir=build-asan
    extra=(-DOCI_SANITIZE=ON)
    ;;
  -h | --help)
    echo "usage: $0 [--sanitize]"
    exit 0
    ;;
  *)
    echo "usage: $0 [--sanitize]" >&2
    exit 2
    ;;
esac

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCI_WERROR=ON "${extra[@]}"
cmake --build "$build_dir"
