#!/usr/bin/env bash
# Writes the man pages from the binaries' own --help text, so that they never
# drift from the command line:
#   dist/gen-man.sh OCI_RUN OCI_RUN_NETWORK OCI_RUN_IMAGE VERSION OUTDIR
# OUTDIR/man8: oci-run.8, oci-run-COMMAND.8 for each command (as runc ships
# runc-create.8 ...), oci-run-network.8; OUTDIR/man1: oci-run-image.1.
set -euo pipefail
[[ $# -eq 5 ]] || { echo "usage: $0 OCI_RUN OCI_RUN_NETWORK OCI_RUN_IMAGE VERSION OUTDIR" >&2; exit 2; }
oci_run=$1 network=$2 image=$3 version=$4 out=$5
mkdir -p "$out/man8" "$out/man1"
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)

# roff-escape a text block: backslashes, and leading dots/quotes.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# page FILE NAME SECTION SUMMARY SYNOPSIS HELP_TEXT SEE_ALSO
page() {
  local file=$1 name=$2 sec=$3 summary=$4 synopsis=$5 help=$6 see=$7
  {
    printf '.TH %s %s "%s" "oci-run %s" "oci-run manual"\n' "$(tr '[:lower:]' '[:upper:]' <<<"$name")" "$sec" "$date" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$summary"
    printf '.SH SYNOPSIS\n.B %s\n' "$(esc <<<"$synopsis")"
    printf '.SH DESCRIPTION\n.nf\n'
    esc <<<"$help"
    printf '.fi\n.SH SEE ALSO\n%s\n' "$see"
  } >"$file"
}

top_help=$("$oci_run" --help)
commands=$(awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' <<<"$top_help")
[[ -n $commands ]] || { echo "gen-man: no commands in '$oci_run --help'" >&2; exit 1; }
see_all=$(for c in $commands; do printf '.BR oci-run-%s (8),\n' "$c"; done)
page "$out/man8/oci-run.8" oci-run 8 "a low-level OCI container runtime (runc-compatible)" \
  "oci-run [global options] COMMAND [options] [ID]" "$top_help" \
  "${see_all}
.BR oci-run-network (8),
.BR oci-run-image (1),
.BR runc (8)"
for c in $commands; do
  summary=$(awk -v c="$c" '/^Commands:/ { on = 1; next } on && $1 == c { $1 = ""; sub(/^ +/, ""); print; exit }' <<<"$top_help")
  help=$("$oci_run" "$c" --help)
  synopsis=$(sed -n 's/^Usage: //p' <<<"$help" | head -n 1)
  page "$out/man8/oci-run-$c.8" "oci-run-$c" 8 "$summary" "${synopsis:-oci-run $c}" "$help" ".BR oci-run (8)"
done
page "$out/man8/oci-run-network.8" oci-run-network 8 "the network hook of oci-run (bridge, veth, IPAM, ports)" \
  "oci-run-network COMMAND ..." "$("$network" --help)" ".BR oci-run (8), .BR oci-run-spec (8)"
page "$out/man1/oci-run-image.1" oci-run-image 1 "make an oci-run bundle from a container image" \
  "oci-run-image [--store DIR] COMMAND ..." "$("$image" --help)" ".BR oci-run (8), .BR oci-run-create (8)"
