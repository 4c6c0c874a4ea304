#!/usr/bin/env bash
# Build a minimal OCI bundle around the static busybox:
#
#   tests/make-bundle.sh DIR [CMD ARGS...]
#
# Creates DIR/rootfs (busybox + applet links, a few dirs, /etc/passwd and
# /etc/group) and DIR/config.json from `${OCI_RUN:-oci-run} spec -b DIR`, edited
# to terminal=false, root.readonly=false and process.args=CMD ARGS (default: sh).
# Refuses to touch a bundle that already has a config.json.
# DIR and a relative OCI_RUN are taken relative to the caller's working directory.
set -euo pipefail

BUSYBOX_SRC=/bin/busybox
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)

die() {
  echo "make-bundle: $*" >&2
  exit 1
}

if [[ $# -lt 1 || -z $1 || $1 == -h || $1 == --help ]]; then
  echo "usage: $0 DIR [CMD ARGS...]" >&2
  exit 2
fi
dir=$1
shift
if [[ $# -eq 0 ]]; then
  set -- sh
fi

# The runtime that writes the starter config: $OCI_RUN, else oci-run on PATH,
# else this checkout's build.
if [[ -n ${OCI_RUN:-} ]]; then
  oci_run=$OCI_RUN
elif command -v oci-run >/dev/null 2>&1; then
  oci_run=oci-run
elif [[ -x $REPO_ROOT/build/oci-run ]]; then
  oci_run=$REPO_ROOT/build/oci-run
else
  die "oci-run not found: set OCI_RUN=/path/to/oci-run or run scripts/build.sh"
fi

[[ -e $dir/config.json || -L $dir/config.json ]] && die "$dir/config.json exists; refusing to overwrite the bundle"

[[ -f $BUSYBOX_SRC ]] || die "$BUSYBOX_SRC not found: install busybox-static (apt-get install busybox-static)"
# The rootfs has no libc, so the binary must be static (no PT_INTERP header).
python3 - "$BUSYBOX_SRC" <<'EOF' || die "$BUSYBOX_SRC is not a static binary: install busybox-static (not busybox)"
import struct, sys
with open(sys.argv[1], "rb") as f:
    data = f.read()
if data[:4] != b"\x7fELF":
    sys.exit(1)
end = "<" if data[5] == 1 else ">"
if data[4] == 2:  # ELFCLASS64
    phoff = struct.unpack_from(end + "Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
else:
    phoff = struct.unpack_from(end + "I", data, 0x1C)[0]
    phentsize, phnum = struct.unpack_from(end + "HH", data, 0x2A)
for i in range(phnum):
    (p_type,) = struct.unpack_from(end + "I", data, phoff + i * phentsize)
    if p_type == 3:  # PT_INTERP: dynamically linked
        sys.exit(1)
EOF

rootfs=$dir/rootfs
mkdir -p -- "$rootfs"
for d in proc sys dev tmp root etc run var usr/bin bin; do
  mkdir -p -- "$rootfs/$d"
done
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"

cp -- "$BUSYBOX_SRC" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
applets=$("$rootfs/bin/busybox" --list) || die "cannot list the busybox applets"
while IFS= read -r applet; do
  [[ -z $applet || $applet == busybox || $applet == */* ]] && continue
  ln -sfn busybox "$rootfs/bin/$applet"
done <<<"$applets"

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
users:x:100:
nogroup:x:65534:
EOF

"$oci_run" spec -b "$dir" || die "'$oci_run spec -b $dir' failed"

python3 - "$dir/config.json" "$@" <<'EOF' || die "cannot edit $dir/config.json"
import json, sys
path, args = sys.argv[1], sys.argv[2:]
with open(path) as f:
    config = json.load(f)
config["process"]["terminal"] = False
config["process"]["args"] = args
config["root"]["readonly"] = False
with open(path, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
EOF
