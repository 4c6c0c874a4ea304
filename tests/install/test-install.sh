#!/usr/bin/env bash
# `cmake --install` into a temp DESTDIR, with the default prefix and with
# another one: every file in place, the binaries run from there, and the hook
# path that the installed `oci-run spec --network` writes is the installed
# oci-run-network.
#   tests/install/test-install.sh BUILD_DIR
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/oci-run-install.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

failures=0 checks=0
check() {  # DESCRIPTION COMMAND...
  local what=$1
  shift
  checks=$((checks + 1))
  if "$@" >/dev/null 2>&1; then
    echo "ok - $what"
  else
    echo "not ok - $what"
    failures=$((failures + 1))
  fi
}

for prefix in /usr/local /opt/oci-run; do
  dest=$tmp/dest${prefix//\//_}
  DESTDIR=$dest cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; echo "not ok - cmake --install --prefix $prefix"; exit 1; }
  root=$dest$prefix
  check "$prefix: nothing installed outside DESTDIR$prefix" \
    test -z "$(cd "$dest" && find . -type f ! -path ".$prefix/*")"
  for b in oci-run oci-run-network oci-run-image; do
    check "$prefix: bin/$b is executable" test -x "$root/bin/$b"
    check "$prefix: $b --version" grep -q "^$b version " <<<"$("$root/bin/$b" --version)"
  done
  ver=$("$root/bin/oci-run" --version)
  for line in "commit: " "spec: " "libseccomp: "; do
    check "$prefix: oci-run --version has a '$line' line" grep -q "^$line" <<<"$ver"
  done
  commands=$("$root/bin/oci-run" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
  check "$prefix: oci-run --help lists commands" test -n "$commands"
  for page in oci-run $(printf 'oci-run-%s ' $commands) oci-run-network; do
    check "$prefix: man8/$page.8" grep -q '^\.TH ' "$root/share/man/man8/$page.8"
  done
  check "$prefix: man1/oci-run-image.1" grep -q '^\.TH ' "$root/share/man/man1/oci-run-image.1"
  check "$prefix: bash completion" grep -q 'complete -F _oci_run oci-run' \
    "$root/share/bash-completion/completions/oci-run"
  check "$prefix: LICENSE" grep -q 'Apache License' "$root/share/doc/oci-run/LICENSE"
  if [[ $(id -u) -eq 0 ]]; then
    mkdir -p "$tmp/bundle"
    "$root/bin/oci-run" spec -b "$tmp/bundle" --network testnet >/dev/null 2>&1 || true
    check "$prefix: spec --network names the installed hook" \
      grep -q "\"$root/bin/oci-run-network\"" "$tmp/bundle/config.json"
    rm -rf -- "$tmp/bundle"
  fi
done

echo "$((checks - failures)) passed, $failures failed"
[[ $failures -eq 0 ]]
