#!/bin/sh
# /init of the test VM's initramfs (run by busybox sh as pid 1).
#
# Stage 1 (on the initramfs rootfs): copy everything into a tmpfs and
# switch_root into it, because pivot_root(2) -- which the runtime uses to enter
# a container -- refuses to work while the root is the initramfs rootfs.
# Stage 2 (on the tmpfs): mount proc/sys/dev/cgroup2/tmp/run, enable the v2
# controllers, run /tests/guest-tests.sh and power off. The host reads the
# serial console (see run-vm-tests.sh); this script never returns.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root

say() { echo "# vm-init: $*"; }

die() {
  echo "Bail out! vm-init: $*"
  echo "# vm-tests: aborted"
  sync
  poweroff -f
  echo o >/proc/sysrq-trigger 2>/dev/null
  sleep 3600
}

if [ "$1" != stage2 ]; then
  # The host takes a silent console as a guest that never started (and then
  # retries without KVM): say something at once.
  say "init started"
  mount -t proc proc /proc || die "mount /proc"
  mkdir -p /newroot
  mount -t tmpfs -o mode=0755 tmpfs /newroot || die "mount tmpfs /newroot"
  for entry in /*; do
    case $entry in
      /newroot | /proc | /sys | /dev) mkdir -p "/newroot$entry" ;;
      *) cp -a "$entry" /newroot/ || die "copy $entry into /newroot" ;;
    esac
  done
  umount /proc
  # shellcheck disable=SC2093 # falls through only when switch_root fails
  exec switch_root /newroot /init stage2
  die "switch_root failed"
fi

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev || die "mount /dev"
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mkdir -p /tmp /run /root
mount -t tmpfs -o mode=1777 tmpfs /tmp || die "mount /tmp"
mount -t tmpfs -o mode=0755 tmpfs /run || die "mount /run"
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || die "mount cgroup2 on /sys/fs/cgroup"
hostname oci-vm

# Keep the kernel (OOM reports, ...) off the console the host parses.
echo 1 >/proc/sys/kernel/printk

say "kernel $(uname -r), cmdline: $(cat /proc/cmdline)"
if grep -q ' cgroup ' /proc/mounts || grep -qv '^0::' /proc/self/cgroup; then
  say "warning: cgroup v1 hierarchies present"
fi
say "/proc/self/cgroup: $(cat /proc/self/cgroup)"

# A small ram disk (b 1:0) for the io.max test; brd is a module in Debian.
if [ -f /lib/modules/brd.ko ]; then
  insmod /lib/modules/brd.ko rd_nr=1 rd_size=8192 || say "insmod brd failed"
fi
[ -b /dev/ram0 ] && say "block device /dev/ram0: $(cat /sys/block/ram0/dev)"

say "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
for c in cpu memory pids io cpuset; do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || say "cannot enable +$c"
done
say "cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

sh /tests/guest-tests.sh /bin/oci-run
say "guest-tests.sh exited with status $?"
echo "# vm-tests: done"
sync
poweroff -f
echo o >/proc/sysrq-trigger 2>/dev/null
sleep 3600
