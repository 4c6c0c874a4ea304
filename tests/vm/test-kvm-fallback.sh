#!/usr/bin/env bash
# The KVM -> TCG fallback of run-vm-tests.sh, without a VM: a fake qemu that
# aborts like qemu on a nested host without MSR support ("failed to set MSR"),
# or starts with KVM but never prints anything, and under TCG prints a passing
# TAP run. Each case must end in "1 passed, 0 failed" after saying that it
# fell back to TCG; a working KVM boot does not fall back.
#
#   tests/vm/test-kvm-fallback.sh OCI_RUN_BINARY
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 OCI_RUN_BINARY" >&2; exit 2; }
oci_run=$1
[[ -x /bin/busybox ]] || { echo "skipped: /bin/busybox missing (install busybox-static)"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/oci-run-kvm-fallback.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

cat >"$tmp/qemu" <<'QEMU'
#!/bin/sh
# fake qemu-system-x86_64: FAKE_KVM=abort|hang decides what a KVM boot does.
case " $* " in
  *" -accel kvm "*)
    echo "kvm-attempt" >>"$FAKE_LOG"
    case $FAKE_KVM in
      abort) echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2
             echo "qemu-system-x86_64: ../target/i386/kvm/kvm.c:3093: kvm_buf_set_msrs: Assertion failed." >&2
             exit 134 ;;
      hang) exec sleep 600 ;;
      ok) ;;
    esac ;;
  *) echo "tcg-attempt" >>"$FAKE_LOG" ;;
esac
printf '# vm-init: init started\r\n1..1\r\nok 1 fake test\r\n# vm-tests: done\r\n'
QEMU
chmod +x "$tmp/qemu"
: >"$tmp/vmlinuz"

failures=0
check() {  # NAME FAKE_KVM ACCEL WANT_LOG WANT_FALLBACK
  local name=$1 out rc=0
  : >"$tmp/log"
  out=$(FAKE_KVM=$2 FAKE_LOG=$tmp/log OCI_RUN_VM_ACCEL=$3 OCI_RUN_VM_QEMU=$tmp/qemu \
    OCI_RUN_VM_KERNEL=$tmp/vmlinuz OCI_RUN_VM_KVM_PROBE=3 OCI_RUN_VM_TIMEOUT=60 \
    "$SCRIPT_DIR/run-vm-tests.sh" "$oci_run" 2>&1) || rc=$?
  local attempts
  attempts=$(tr '\n' ' ' <"$tmp/log")
  local ok=1
  [[ $rc -eq 0 ]] || ok=0
  [[ $out == *"1 passed, 0 failed"* ]] || ok=0
  [[ $attempts == "$4" ]] || ok=0
  if [[ $5 == yes ]]; then
    [[ $out == *"falling back to TCG"* ]] || ok=0
  else
    [[ $out != *"falling back"* ]] || ok=0
  fi
  if [[ $ok -eq 1 ]]; then
    echo "ok - $name"
  else
    echo "not ok - $name (exit $rc, attempts: $attempts)"
    sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  fi
}

check "kvm aborts (failed to set MSR): TCG" abort kvm "kvm-attempt tcg-attempt " yes
check "kvm guest silent: killed, TCG" hang kvm "kvm-attempt tcg-attempt " yes
check "kvm works: no fallback" ok kvm "kvm-attempt " no

if ((failures > 0)); then
  echo "$failures of 3 failed"
  exit 1
fi
echo "3 of 3 passed"
