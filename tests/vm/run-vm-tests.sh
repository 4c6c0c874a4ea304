#!/usr/bin/env bash
# Run the cgroup v2 container tests in a VM:
#
#   tests/vm/run-vm-tests.sh OCI_RUN_BINARY
#
# Boots the Debian kernel under qemu-system-x86_64 (KVM when /dev/kvm is usable
# and a KVM guest starts, else TCG) with cgroup_no_v1=all and a busybox initramfs holding OCI_RUN_BINARY,
# its shared libraries, guest-init.sh (as /init) and guest-tests.sh. The guest
# prints TAP-like lines on the serial console; this script counts them, prints
# "N passed, M failed" last and exits 0 when nothing failed, 1 otherwise, 77
# (ctest SKIP_RETURN_CODE) when qemu is not installed.
#
# The kernel is never installed on the host: the linux-image package that
# linux-image-amd64 depends on is fetched with `apt-get download` and unpacked
# with `dpkg-deb -x` into a cache, reused by later runs.
#
# Environment:
#   OCI_RUN_VM_CACHE    kernel cache dir (default /var/cache/oci-run-vm, or
#                       ~/.cache/oci-run-vm when that is not writable)
#   OCI_RUN_VM_KERNEL   use this vmlinuz instead (OCI_RUN_VM_MODULES: a dir with
#                       the matching brd.ko, optional)
#   OCI_RUN_VM_TIMEOUT  seconds before the VM is killed (default 600)
#   OCI_RUN_VM_MEMORY   guest memory in MiB (default 1024)
#   OCI_RUN_VM_KEEP=1   keep the temp dir (initramfs, console log)
#   OCI_RUN_VM_ACCEL    kvm or tcg: the accelerator to try first (default kvm
#                       when /dev/kvm is usable); a KVM boot that fails or
#                       prints nothing is retried with TCG
#   OCI_RUN_VM_KVM_PROBE  seconds a KVM guest may stay silent (default 45)
#   OCI_RUN_VM_QEMU     the qemu-system-x86_64 to run (tests use a fake one)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
BUSYBOX=/bin/busybox

log() { echo "vm-tests: $*" >&2; }
die() {
  log "$*"
  echo "0 passed, 1 failed"
  exit 1
}

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  echo "usage: $0 OCI_RUN_BINARY" >&2
  exit 2
fi
oci_run=$(readlink -f -- "$1") || die "$1: not found"
[[ -f $oci_run && -x $oci_run ]] || die "$1: not an executable file"

QEMU=${OCI_RUN_VM_QEMU:-$(command -v qemu-system-x86_64 || true)}
if [[ -z $QEMU ]]; then
  echo "skipped: qemu not installed (apt-get install qemu-system-x86)"
  exit 77
fi
[[ -f $BUSYBOX ]] || die "$BUSYBOX not found: install busybox-static"
if ! "$BUSYBOX" --list | grep -qx switch_root; then
  die "$BUSYBOX has no switch_root applet"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/oci-run-vm.XXXXXX")
cleanup() {
  if [[ ${OCI_RUN_VM_KEEP:-0} == 1 ]]; then
    log "kept $tmp"
  else
    rm -rf -- "$tmp"
  fi
}
trap cleanup EXIT

# --- kernel ------------------------------------------------------------------------

# Prints the cache dir holding boot/vmlinuz-* and lib/modules/*/ for the current
# linux-image-6.x-amd64 package, fetching and unpacking it on first use.
kernel_cache() {
  local cache=${OCI_RUN_VM_CACHE:-}
  if [[ -z $cache ]]; then
    cache=/var/cache/oci-run-vm
    if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
      cache=${XDG_CACHE_HOME:-$HOME/.cache}/oci-run-vm
    fi
  fi
  mkdir -p "$cache" || return 1

  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }') || true
  if [[ -z $pkg ]]; then
    # No apt metadata: fall back to a kernel unpacked by an earlier run.
    local old
    old=$(ls -d "$cache"/linux-image-*/boot 2>/dev/null | sort -V | tail -n 1)
    [[ -n $old ]] || { log "cannot resolve linux-image-amd64 (apt-get update?)"; return 1; }
    dirname -- "$old"
    return 0
  fi

  local dir=$cache/$pkg
  if compgen -G "$dir/boot/vmlinuz-*" >/dev/null; then
    echo "$dir"
    return 0
  fi
  log "fetching $pkg into $cache (once)"
  local dl=$cache/.download.$$
  rm -rf -- "$dl"
  mkdir -p "$dl"
  # apt drops privileges to _apt for downloads; it falls back (with a warning)
  # when _apt cannot write here. Keep that noise to the failure case.
  if ! (cd "$dl" && apt-get download -q "$pkg") >"$dl/apt.log" 2>&1; then
    cat "$dl/apt.log" >&2
    rm -rf -- "$dl"
    return 1
  fi
  local deb
  deb=$(ls "$dl"/*.deb | head -n 1)
  mkdir -p "$dl/x"
  dpkg-deb -x "$deb" "$dl/x" || { rm -rf -- "$dl"; return 1; }
  # Keep only what the VM needs: the kernel, its config and the block-device
  # modules (a few MiB instead of ~400 MiB of modules).
  local kver
  kver=$(ls "$dl/x/lib/modules" | head -n 1)
  mkdir -p "$dl/keep/boot" "$dl/keep/lib/modules/$kver"
  cp "$dl"/x/boot/vmlinuz-* "$dl"/x/boot/config-* "$dl/keep/boot/"
  local m
  for m in drivers/block/brd.ko drivers/block/loop.ko; do
    [[ -f $dl/x/lib/modules/$kver/kernel/$m ]] &&
      cp "$dl/x/lib/modules/$kver/kernel/$m" "$dl/keep/lib/modules/$kver/"
  done
  rm -rf -- "$dir"
  mv "$dl/keep" "$dir"
  rm -rf -- "$dl"
  echo "$dir"
}

if [[ -n ${OCI_RUN_VM_KERNEL:-} ]]; then
  vmlinuz=$OCI_RUN_VM_KERNEL
  moddir=${OCI_RUN_VM_MODULES:-}
else
  kdir=$(kernel_cache) || die "cannot obtain a kernel image"
  vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n 1)
  moddir=$(ls -d "$kdir"/lib/modules/*/ 2>/dev/null | head -n 1)
fi
[[ -r $vmlinuz ]] || die "kernel image $vmlinuz not readable"
log "kernel: $vmlinuz"

# --- initramfs -------------------------------------------------------------------------

root=$tmp/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,newroot,tests,lib/modules}
cp "$BUSYBOX" "$root/bin/busybox"
while IFS= read -r applet; do
  [[ -z $applet || $applet == busybox || $applet == */* ]] && continue
  ln -s busybox "$root/bin/$applet"
done < <("$BUSYBOX" --list)

install -m 0755 "$oci_run" "$root/bin/oci-run"
# Shared libraries and the dynamic loader, at the paths ldd reports (none for
# the default static build: ldd then says so and exits 1).
ldd_out=$(ldd "$oci_run" 2>&1) || true
libs=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' <<<"$ldd_out")
if [[ -z $libs && $ldd_out != *"not a dynamic executable"* ]]; then
  die "ldd $oci_run: $ldd_out"
fi
if [[ $ldd_out == *"not found"* ]]; then
  die "missing libraries: $(grep 'not found' <<<"$ldd_out")"
fi
for lib in $libs; do
  mkdir -p "$root$(dirname -- "$lib")"
  cp -L "$lib" "$root$lib"
done

if [[ -n $moddir && -f $moddir/brd.ko ]]; then
  cp "$moddir/brd.ko" "$root/lib/modules/"
fi
install -m 0755 "$SCRIPT_DIR/guest-init.sh" "$root/init"
install -m 0755 "$SCRIPT_DIR/guest-tests.sh" "$root/tests/guest-tests.sh"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

cpio=(cpio --quiet)
command -v cpio >/dev/null 2>&1 || cpio=("$BUSYBOX" cpio)
(cd "$root" && find . | LC_ALL=C sort | "${cpio[@]}" -o -H newc -R 0:0) | gzip -1 >"$tmp/initramfs.gz" ||
  die "cannot pack the initramfs"
log "initramfs: $(du -h "$tmp/initramfs.gz" | cut -f1)"

# --- boot ----------------------------------------------------------------------------

console=$tmp/console.log
raw=$tmp/console.raw

# run_qemu LIMIT BOUND ACCEL_ARGS...: boots the VM, the serial console going to
# stdout and $console. BOUND > 0: when the console stays empty for BOUND seconds
# or qemu exits without printing anything, kill it and return 200 (the caller
# then tries another accelerator). Else returns qemu's (timeout's) exit status.
run_qemu() {
  local limit=$1 bound=$2
  shift 2
  : >"$raw"
  : >"$tmp/qemu.err"
  timeout --kill-after=10 "$limit" "$QEMU" \
    -nodefaults -no-user-config "$@" \
    -m "${OCI_RUN_VM_MEMORY:-1024}" -smp 2 \
    -kernel "$vmlinuz" -initrd "$tmp/initramfs.gz" \
    -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet rdinit=/init" \
    -display none -monitor none -serial stdio -nic none -no-reboot \
    </dev/null >"$raw" 2>"$tmp/qemu.err" &
  local qpid=$! rc=0 waited=0
  if ((bound > 0)); then
    while [[ ! -s $raw ]] && kill -0 "$qpid" 2>/dev/null && ((waited < bound)); do
      sleep 1
      waited=$((waited + 1))
    done
    if [[ ! -s $raw ]]; then
      if kill -0 "$qpid" 2>/dev/null; then
        log "no console output from the guest within ${bound}s: stopping qemu"
        kill -TERM "$qpid" 2>/dev/null || true
      fi
      wait "$qpid" || rc=$?
      if [[ -s $tmp/qemu.err ]]; then
        sed 's/^/qemu: /' "$tmp/qemu.err" >&2
      fi
      log "qemu exited with status $rc and printed nothing on the console"
      return 200
    fi
  fi
  # The console so far and from now on, live, until qemu exits.
  tail -n +1 -f --pid="$qpid" "$raw" | tr -d '\r' &
  local tpid=$!
  wait "$qpid" || rc=$?
  wait "$tpid" || true
  tr -d '\r' <"$raw" >"$console"
  return "$rc"
}

# KVM when /dev/kvm is usable, else TCG. /dev/kvm being there does not mean
# that KVM works (nested virtualization: `-cpu host` can abort with "failed to
# set MSR", or the guest never reaches init): a KVM boot that prints nothing
# within OCI_RUN_VM_KVM_PROBE seconds is retried with TCG.
# OCI_RUN_VM_ACCEL=kvm|tcg forces the first attempt (kvm is still retried
# with tcg when it fails; tests/vm/test-kvm-fallback.sh uses this).
tcg=(-accel "tcg,thread=multi" -cpu max)
kvm=(-accel kvm -cpu host)
want=${OCI_RUN_VM_ACCEL:-}
if [[ -z $want ]]; then
  want=tcg
  [[ -r /dev/kvm && -w /dev/kvm ]] && want=kvm
fi
limit=${OCI_RUN_VM_TIMEOUT:-600}
start=$(date +%s)
set +e
qemu_rc=200
if [[ $want == kvm ]]; then
  log "booting with kvm (timeout ${limit}s; TCG if the guest is silent for ${OCI_RUN_VM_KVM_PROBE:-45}s)"
  run_qemu "$limit" "${OCI_RUN_VM_KVM_PROBE:-45}" "${kvm[@]}"
  qemu_rc=$?
  if [[ $qemu_rc -eq 200 ]]; then
    log "KVM does not work here: falling back to TCG (software emulation, slower)"
  fi
fi
if [[ $qemu_rc -eq 200 ]]; then
  log "booting with tcg (timeout ${limit}s)"
  run_qemu "$limit" 0 "${tcg[@]}"
  qemu_rc=$?
fi
set -e
elapsed=$(($(date +%s) - start))
log "VM exited with status $qemu_rc after ${elapsed}s"
if [[ -s $tmp/qemu.err ]]; then
  sed 's/^/qemu: /' "$tmp/qemu.err" >&2
fi

# --- results -------------------------------------------------------------------------

passed=$(grep -cE '^ok [0-9]+' "$console" || true)
failed=$(grep -cE '^not ok [0-9]+' "$console" || true)
skipped=$(grep -cE '^ok [0-9]+ # SKIP' "$console" || true)
planned=$(sed -nE 's/^1\.\.([0-9]+)$/\1/p' "$console" | head -n 1)

if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
  log "the VM timed out"
fi
if ! grep -qx '# vm-tests: done' "$console"; then
  log "the guest did not finish the tests (see the console output above)"
  failed=$((failed + 1))
fi
if [[ -n $planned ]] && ((passed + failed < planned)); then
  log "$((planned - passed - failed)) planned tests did not report"
  failed=$((planned - passed))
fi
[[ $skipped -gt 0 ]] && log "$skipped skipped (counted as passed)"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
