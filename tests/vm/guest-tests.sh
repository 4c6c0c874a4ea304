#!/bin/sh
# Container tests against real cgroup v2 controllers; run inside the test VM by
# guest-init.sh (busybox sh, no python):
#
#   sh guest-tests.sh [OCI_RUN]
#
# Prints a TAP-like stream: "1..N", then "ok N - name", "not ok N - name" or
# "ok N # SKIP reason", with "#"-prefixed diagnostics. The host harness
# (run-vm-tests.sh) counts the lines. Bundles are built here from the initramfs
# busybox; config.json is written with a heredoc in the shape of `oci-run spec`
# (runtime/cli/default_spec.cpp) with terminal=false and a shared rootfs.
OCI=${1:-/bin/oci-run}
CG=/sys/fs/cgroup
WORK=/tmp/vmtests
ROOTFS=$WORK/rootfs
PLAN=19

n=0
failures=0

ok() {
  n=$((n + 1))
  echo "ok $n - $*"
}
not_ok() {
  n=$((n + 1))
  failures=$((failures + 1))
  echo "not ok $n - $*"
}
skip() {
  n=$((n + 1))
  echo "ok $n # SKIP $*"
}
# check NAME COMMAND...: ok if COMMAND succeeds.
check() {
  name=$1
  shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}
diag() {
  printf '%s\n' "$@" | sed 's/^/#   /'
}
diag_file() {
  [ -s "$1" ] && sed 's/^/#   | /' "$1"
}

# --- bundles -------------------------------------------------------------------

make_rootfs() {
  mkdir -p "$ROOTFS"
  for d in proc sys dev tmp root etc run var usr/bin bin; do mkdir -p "$ROOTFS/$d"; done
  chmod 1777 "$ROOTFS/tmp"
  cp /bin/busybox "$ROOTFS/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$ROOTFS/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOTFS/etc/group"
}

# bundle NAME ARGS_JSON: writes $WORK/NAME/config.json and sets b to the bundle dir.
# Optional globals: RES (linux.resources object), DEVS (linux.devices array),
# NO_PIDNS=1 (no pid namespace). Without RES there is no linux.resources at all.
bundle() {
  b=$WORK/$1
  mkdir -p "$b"
  res_line=
  [ -n "$RES" ] && res_line="\"resources\": $RES,"
  devs_line=
  [ -n "$DEVS" ] && devs_line="\"devices\": $DEVS,"
  pidns='{"type": "pid"}, '
  [ "$NO_PIDNS" = 1 ] && pidns=
  cat >"$b/config.json" <<EOF
{
  "ociVersion": "$OCI_VERSION",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $2,
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "$ROOTFS", "readonly": true},
  "hostname": "oci-run",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    $res_line
    $devs_line
    "namespaces": [
      $pidns{"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
    ],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                    "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF
  RES=
  DEVS=
  NO_PIDNS=
}

# --- runtime helpers -------------------------------------------------------------

# state_field ID FIELD: a scalar field of `oci-run state ID`.
state_field() {
  timeout 20 "$OCI" state "$1" 2>/dev/null |
    sed -n "s/^ *\"$2\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\} *\$/\1/p" | head -n 1
}

# cgroup_dir ID: the cgroup2 directory of the container's init (from /proc/PID/cgroup).
cgroup_dir() {
  pid=$(state_field "$1" pid)
  case $pid in '' | 0 | *[!0-9]*) return 1 ;; esac
  p=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
  [ -n "$p" ] || return 1
  echo "$CG$p"
}

# wait_status ID STATUS SECONDS
wait_status() {
  i=0
  while [ $i -lt $(($3 * 10)) ]; do
    [ "$(state_field "$1" status)" = "$2" ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# create ID BUNDLE: container stdio (and create's messages) go to BUNDLE/out.
create() {
  timeout 60 "$OCI" create -b "$2" "$1" </dev/null >"$2/out" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    diag "oci-run create $1 failed (status $rc):"
    diag_file "$2/out"
  fi
  return $rc
}

start() {
  timeout 60 "$OCI" start "$1" >"$WORK/start.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    diag "oci-run start $1 failed (status $rc):"
    diag_file "$WORK/start.out"
  fi
  return $rc
}

remove() {
  timeout 60 "$OCI" delete -f "$1" >"$WORK/delete.out" 2>&1 || {
    diag "oci-run delete -f $1 failed:"
    diag_file "$WORK/delete.out"
  }
}

# file_is FILE EXPECTED: the whole of FILE (trailing newline aside) equals EXPECTED.
file_is() {
  got=$(cat "$1" 2>&1)
  [ "$got" = "$2" ] && return 0
  diag "$1: expected '$2', got '$got'"
  return 1
}

# events_count FILE KEY: the value of "KEY N" in a flat-keyed cgroup file (0 if absent).
events_count() {
  v=$(sed -n "s/^$2 //p" "$1" 2>/dev/null | head -n 1)
  echo "${v:-0}"
}

# --- setup ---------------------------------------------------------------------

mkdir -p "$WORK"
echo "1..$PLAN"
make_rootfs
mkdir -p "$WORK/spec"
if timeout 20 "$OCI" spec -b "$WORK/spec" >"$WORK/spec.out" 2>&1; then
  OCI_VERSION=$(sed -n 's/^ *"ociVersion": *"\([^"]*\)".*/\1/p' "$WORK/spec/config.json" | head -n 1)
else
  diag "oci-run spec failed:"
  diag_file "$WORK/spec.out"
fi
OCI_VERSION=${OCI_VERSION:-1.0.2}
diag "runtime: $("$OCI" --version 2>&1 | head -n 1); ociVersion $OCI_VERSION"

# --- 1: a trivial container, no resources -------------------------------------------

bundle hello '["echo", "hello from the container"]'
out=$(timeout 60 "$OCI" run -b "$b" t-hello </dev/null 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ "$out" = "hello from the container" ]; then
  ok "run: echo in a container (no resources)"
else
  not_ok "run: echo in a container (no resources)"
  diag "status $rc, output:" "$out"
fi
remove t-hello

# --- 2, 3: own cgroup, removed by delete -------------------------------------------

bundle life '["true"]'
dir=
if create t-life "$b"; then
  dir=$(cgroup_dir t-life)
  pid=$(state_field t-life pid)
  if [ -n "$dir" ] && [ "$dir" != "$CG/" ] && [ -d "$dir" ] && grep -qx "$pid" "$dir/cgroup.procs"; then
    ok "create: init is in its own cgroup ($dir)"
  else
    not_ok "create: init is in its own cgroup"
    diag "pid '$pid', cgroup dir '$dir'" "$(cat "/proc/$pid/cgroup" 2>&1)"
  fi
  start t-life
  wait_status t-life stopped 30 || diag "t-life did not stop: $(state_field t-life status)"
  timeout 60 "$OCI" delete t-life >"$WORK/delete.out" 2>&1 || {
    diag "oci-run delete t-life failed:"
    diag_file "$WORK/delete.out"
  }
  if [ -n "$dir" ] && [ ! -e "$dir" ]; then
    ok "delete: the container's cgroup dir is removed"
  else
    not_ok "delete: the container's cgroup dir is removed"
    diag "still there: '$dir'"
  fi
else
  not_ok "create: init is in its own cgroup"
  not_ok "delete: the container's cgroup dir is removed"
fi
remove t-life

# --- 4, 5, 6: memory.max and the OOM killer -------------------------------------------

RES='{"memory": {"limit": 33554432}}'
bundle mem '["sh", "-c", "cat /sys/fs/cgroup/memory.max; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo dd-exit=$?"]'
if create t-mem "$b"; then
  dir=$(cgroup_dir t-mem)
  check "memory.limit 32MiB: memory.max reads 33554432" file_is "$dir/memory.max" 33554432
  start t-mem
  wait_status t-mem stopped 120 || diag "t-mem did not stop: $(state_field t-mem status)"
  first=$(head -n 1 "$b/out")
  if [ "$first" = 33554432 ]; then
    ok "cgroup namespace: the container sees its own memory.max at /sys/fs/cgroup"
  else
    not_ok "cgroup namespace: the container sees its own memory.max at /sys/fs/cgroup"
    diag_file "$b/out"
  fi
  kills=$(events_count "$dir/memory.events" oom_kill)
  # dd is the biggest process: it gets the SIGKILL (the whole container when
  # memory.oom.group is set); it must never finish.
  if [ "$kills" -ge 1 ] 2>/dev/null && ! grep -q '^dd-exit=0$' "$b/out"; then
    ok "memory hog (64MiB) is OOM-killed (oom_kill $kills)"
  else
    not_ok "memory hog (64MiB) is OOM-killed"
    diag "memory.events:" "$(cat "$dir/memory.events" 2>&1)" "container output:"
    diag_file "$b/out"
  fi
else
  not_ok "memory.limit 32MiB: memory.max reads 33554432"
  not_ok "cgroup namespace: the container sees its own memory.max at /sys/fs/cgroup"
  not_ok "memory hog (64MiB) is OOM-killed"
fi
remove t-mem

# --- 7, 8: pids.max and a fork loop -----------------------------------------------------

RES='{"pids": {"limit": 20}}'
bundle pids '["sh", "-c", "i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i+1)); done; echo spawned=$i"]'
if create t-pids "$b"; then
  dir=$(cgroup_dir t-pids)
  check "pids.limit 20: pids.max reads 20" file_is "$dir/pids.max" 20
  start t-pids
  # The shell gives up at the first failed fork, which ends the container.
  wait_status t-pids stopped 60 || diag "t-pids did not stop: $(state_field t-pids status)"
  hits=$(events_count "$dir/pids.events" max)
  if [ "$hits" -ge 1 ] 2>/dev/null && ! grep -q '^spawned=40$' "$b/out"; then
    ok "pids.limit 20 stops a fork loop (pids.events max $hits)"
  else
    not_ok "pids.limit 20 stops a fork loop"
    diag "pids.events:" "$(cat "$dir/pids.events" 2>&1)" "container output:"
    diag_file "$b/out"
  fi
else
  not_ok "pids.limit 20: pids.max reads 20"
  not_ok "pids.limit 20 stops a fork loop"
fi
remove t-pids

# --- 9: cpu.max ----------------------------------------------------------------------

RES='{"cpu": {"quota": 50000, "period": 100000}}'
bundle cpu '["true"]'
if create t-cpu "$b"; then
  check "cpu quota 50000/100000: cpu.max reads \"50000 100000\"" \
    file_is "$(cgroup_dir t-cpu)/cpu.max" "50000 100000"
else
  not_ok "cpu quota 50000/100000: cpu.max reads \"50000 100000\""
fi
remove t-cpu

# --- 10, 11: io.max and io weight on a ram disk -------------------------------------------

if [ -b /dev/ram0 ]; then
  majmin=$(cat /sys/block/ram0/dev)
  maj=${majmin%:*}
  min=${majmin#*:}
  RES="{\"blockIO\": {\"weight\": 500,
    \"throttleReadBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 1048576}],
    \"throttleWriteIOPSDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 100}]}}"
  bundle io '["true"]'
  if create t-io "$b"; then
    dir=$(cgroup_dir t-io)
    want="$majmin rbps=1048576 wbps=max riops=max wiops=100"
    if grep -qx "$want" "$dir/io.max" 2>/dev/null; then
      ok "blockIO throttle on $majmin lands in io.max"
    else
      not_ok "blockIO throttle on $majmin lands in io.max"
      diag "expected '$want' in io.max, got:" "$(cat "$dir/io.max" 2>&1)"
    fi
    # runc: io.bfq.weight when BFQ is there, else io.weight (weight converted
    # from the 10..1000 to the 1..10000 range).
    if [ -f "$dir/io.bfq.weight" ]; then
      check "blockIO weight 500 lands in io.bfq.weight" \
        file_is "$dir/io.bfq.weight" "default 500"
    elif [ -f "$dir/io.weight" ]; then
      w=$(sed -n 's/^default //p' "$dir/io.weight")
      if [ -n "$w" ] && [ "$w" != 100 ]; then
        ok "blockIO weight 500 lands in io.weight (default $w)"
      else
        not_ok "blockIO weight 500 lands in io.weight"
        diag "io.weight:" "$(cat "$dir/io.weight" 2>&1)"
      fi
    else
      skip "no io.weight or io.bfq.weight in the container's cgroup"
    fi
  else
    not_ok "blockIO throttle on $majmin lands in io.max"
    not_ok "blockIO weight lands in io.weight"
  fi
  remove t-io
else
  skip "no block device (/dev/ram0) for io.max"
  skip "no block device (/dev/ram0) for io weight"
fi

# --- 12, 13: device rules (BPF device program) ---------------------------------------------
# The default devices (null, zero, full, tty, random, urandom, ...) are always
# allowed after the configured rules, as in runc, so the rule under test is for
# /dev/kmsg (c 1:11), created in the container through linux.devices.

probe='["sh", "-c", "[ -c /dev/kmsg ] && echo kmsg-node=yes; if echo oci-run-vm-test >/dev/kmsg; then echo kmsg=ok; else echo kmsg=denied; fi; if head -c1 /dev/zero >/dev/null; then echo zero=ok; else echo zero=denied; fi; if echo x >/dev/null; then echo null=ok; else echo null=denied; fi"]'
kmsg='[{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 438, "uid": 0, "gid": 0}]'

RES='{"devices": [{"allow": false, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwm"}]}'
DEVS=$kmsg
bundle devdeny "$probe"
out=$(timeout 60 "$OCI" run -b "$b" t-devdeny </dev/null 2>&1)
rc=$?
got=$(echo "$out" | grep -E '^(kmsg|kmsg-node|zero|null)=' | tr '\n' ' ')
if [ "$got" = "kmsg-node=yes kmsg=denied zero=ok null=ok " ]; then
  ok "device deny c 1:11: /dev/kmsg denied, /dev/zero and /dev/null work"
else
  not_ok "device deny c 1:11: /dev/kmsg denied, /dev/zero and /dev/null work"
  diag "status $rc, output:" "$out"
fi
remove t-devdeny

RES='{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}'
DEVS=$kmsg
bundle devallow "$probe"
out=$(timeout 60 "$OCI" run -b "$b" t-devallow </dev/null 2>&1)
rc=$?
got=$(echo "$out" | grep -E '^(kmsg|kmsg-node|zero|null)=' | tr '\n' ' ')
if [ "$got" = "kmsg-node=yes kmsg=ok zero=ok null=ok " ]; then
  ok "device allow c 1:11 w after deny-all: /dev/kmsg writable"
else
  not_ok "device allow c 1:11 w after deny-all: /dev/kmsg writable"
  diag "status $rc, output:" "$out"
fi
remove t-devallow

# --- 14: kill --all -------------------------------------------------------------------
# No pid namespace, so killing the init alone would leave the sleeps running.

NO_PIDNS=1
bundle killall '["sh", "-c", "sleep 300 & sleep 300 & sleep 300"]'
if create t-killall "$b" && start t-killall; then
  dir=$(cgroup_dir t-killall)
  i=0
  while [ $i -lt 100 ] && [ "$(wc -l <"$dir/cgroup.procs" 2>/dev/null)" -lt 3 ] 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
  done
  diag "before kill --all: $(wc -l <"$dir/cgroup.procs" 2>/dev/null) processes in $dir"
  timeout 30 "$OCI" kill --all t-killall KILL >"$WORK/kill.out" 2>&1 || {
    diag "oci-run kill --all failed:"
    diag_file "$WORK/kill.out"
  }
  wait_status t-killall stopped 30
  i=0
  while [ $i -lt 100 ] && [ -s "$dir/cgroup.procs" ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if [ ! -s "$dir/cgroup.procs" ] && [ "$(state_field t-killall status)" = stopped ]; then
    ok "kill --all KILL empties the container's cgroup"
  else
    not_ok "kill --all KILL empties the container's cgroup"
    diag "status $(state_field t-killall status), cgroup.procs:" "$(cat "$dir/cgroup.procs" 2>&1)"
  fi
else
  not_ok "kill --all KILL empties the container's cgroup"
fi
remove t-killall

# --- 15, 16: pause / resume (cgroup.freeze) -----------------------------------------------

bundle pause '["sleep", "300"]'
if create t-pause "$b" && start t-pause; then
  dir=$(cgroup_dir t-pause)
  timeout 30 "$OCI" pause t-pause >"$WORK/pause.out" 2>&1 || diag_file "$WORK/pause.out"
  if [ "$(state_field t-pause status)" = paused ] && file_is "$dir/cgroup.freeze" 1 &&
    grep -qx 'frozen 1' "$dir/cgroup.events"; then
    ok "pause: cgroup.freeze 1, frozen, state paused"
  else
    not_ok "pause: cgroup.freeze 1, frozen, state paused"
    diag "status $(state_field t-pause status), cgroup.events:" "$(cat "$dir/cgroup.events" 2>&1)"
  fi
  timeout 30 "$OCI" resume t-pause >"$WORK/resume.out" 2>&1 || diag_file "$WORK/resume.out"
  if [ "$(state_field t-pause status)" = running ] && file_is "$dir/cgroup.freeze" 0 &&
    grep -qx 'frozen 0' "$dir/cgroup.events"; then
    ok "resume: cgroup.freeze 0, thawed, state running"
  else
    not_ok "resume: cgroup.freeze 0, thawed, state running"
    diag "status $(state_field t-pause status), cgroup.events:" "$(cat "$dir/cgroup.events" 2>&1)"
  fi
else
  not_ok "pause: cgroup.freeze 1, frozen, state paused"
  not_ok "resume: cgroup.freeze 0, thawed, state running"
fi
remove t-pause

# --- 17, 18, 19: update, cpu shares -> cpu.weight, events --stats ----------------------

RES='{"memory": {"limit": 67108864}, "cpu": {"shares": 1024}, "pids": {"limit": 50}}'
bundle update '["sleep", "300"]'
if create t-update "$b" && start t-update; then
  dir=$(cgroup_dir t-update)
  # v1 shares 2..262144 map onto v2 weight 1..10000: 1024 -> 39.
  check "cpu shares 1024 lands as cpu.weight 39" file_is "$dir/cpu.weight" 39
  printf '{"memory": {"limit": 100663296}, "pids": {"limit": 70}}' >"$WORK/update.json"
  if timeout 30 "$OCI" update -r "$WORK/update.json" t-update >"$WORK/update.out" 2>&1 &&
    file_is "$dir/memory.max" 100663296 && file_is "$dir/pids.max" 70; then
    ok "update -r: memory.max and pids.max change on a running container"
  else
    not_ok "update -r: memory.max and pids.max change on a running container"
    diag_file "$WORK/update.out"
  fi
  timeout 30 "$OCI" events --stats t-update >"$WORK/events.out" 2>&1
  if grep -q '"type":"stats"' "$WORK/events.out" && grep -q '"pids":{"current":[1-9]' "$WORK/events.out" &&
    grep -q '"limit":100663296' "$WORK/events.out"; then
    ok "events --stats: pids.current and the updated memory limit"
  else
    not_ok "events --stats: pids.current and the updated memory limit"
    diag_file "$WORK/events.out"
  fi
else
  not_ok "cpu shares 1024 lands as cpu.weight 39"
  not_ok "update -r: memory.max and pids.max change on a running container"
  not_ok "events --stats: pids.current and the updated memory limit"
fi
remove t-update

# --- end ------------------------------------------------------------------------------

if [ $n -ne $PLAN ]; then
  echo "# guest-tests.sh: ran $n tests, planned $PLAN"
  exit 1
fi
[ $failures -eq 0 ]
