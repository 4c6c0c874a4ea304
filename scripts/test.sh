#!/usr/bin/env bash
# Install the dependencies, build normally (build/) and with sanitizers
# (build-asan/), check that a Release build of the shipped binaries compiles
# without warnings (build-release/, no tests, ccache when installed), then run
# the tests:
#   - every test in build/
#   - every test again in build-asan/ (ASan+UBSan; leaks fail the run)
# Extra arguments go to both ctest runs, e.g. `scripts/test.sh -L unit`.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/build.sh
scripts/build.sh --sanitize
scripts/build.sh --release

failed=()
ctest --test-dir build --output-on-failure "$@" || failed+=("build")
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  ctest --test-dir build-asan --output-on-failure "$@" || failed+=("build-asan")

if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'test.sh: tests failed in: %s\n' "${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all tests passed"
