#!/usr/bin/env bash
# Install everything needed to build and test oci-run on Debian 12 (apt).
# Does nothing (and never calls apt) when every package is already installed.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  nlohmann-json3-dev libseccomp-dev libcap-dev libyaml-cpp-dev doctest-dev libnl-3-dev libnl-route-3-dev iptables
  busybox-static python3 python3-pytest
  iproute2 procps util-linux qemu-system-x86
  clang  # libFuzzer for tests/fuzz/run-fuzz.sh
  # real engines for the end-to-end suites (conformance/engines)
  podman conmon containernetworking-plugins catatonit containerd bsdutils jq tmux
  # the image-to-bundle tool: libarchive (gzip, zstd), btrfs for its snapshot backend
  libarchive-dev nettle-dev zstd btrfs-progs
  # rootless containers: newuidmap/newgidmap for subuid ranges; podman rootless networking
  uidmap slirp4netns
  # reference runtimes the tests and tests/bench compare with, and bench's syscall count
  runc crun strace
  # the suites' host tools: pgrep/mount/losetup/nsenter (above), cpio for the VM initramfs
  cpio
  # compiler cache: scripts/test.sh's Release build reuses objects (optional)
  ccache
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ $status == ii* ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
