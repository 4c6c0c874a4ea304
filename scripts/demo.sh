#!/usr/bin/env bash
# Install the dependencies, build oci-run and run one container from a fresh
# busybox bundle (state under the default --root). The bundle is removed afterwards.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/build.sh

bundle=$(mktemp -d -t oci-run-demo.XXXXXX)
id=demo-$$
# On exit: drop the container's state if it is still there, then the bundle.
trap 'build/oci-run delete --force "$id" >/dev/null 2>&1 || true; rm -rf -- "$bundle"' EXIT

# shellcheck disable=SC2016  # expanded by the shell inside the container
OCI_RUN=build/oci-run tests/make-bundle.sh "$bundle" \
  sh -c 'echo "hello from $(hostname), pid $$ in the container"; cat /proc/self/status | grep -E "^(Uid|CapEff)"'

echo "+ build/oci-run run -b $bundle $id"
rc=0
build/oci-run run -b "$bundle" "$id" || rc=$?
echo "container exit code: $rc"
exit "$rc"
