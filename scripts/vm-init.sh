#!/bin/sh
# vm-init.sh: the init (PID 1) of the test VM that scripts/test-vm.sh boots.
# It sets up a minimal system with cgroup v2 at /sys/fs/cgroup, runs the
# unit tests and the steps' checks, prints TINYRUN-VM-STATUS and powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc 2>/dev/null

# The probe of test-vm.sh only asks whether the machine boots at all.
if grep -q 'tinyrun.probe=1' /proc/cmdline; then
	echo TINYRUN-VM-PROBE-OK
	poweroff -f
fi

# pivot_root(2) refuses to move the initramfs (the "rootfs" mount), and every
# container pivots: copy the initramfs to a tmpfs and make that the root.
if [ ! -e /.switched ]; then
	mkdir -p /newroot
	mount -t tmpfs -o size=3g tmpfs /newroot
	for entry in /*; do
		case $entry in /proc | /newroot) ;; *) cp -a "$entry" /newroot/ ;; esac
	done
	mkdir -p /newroot/proc
	touch /newroot/.switched
	umount /proc
	exec switch_root /newroot /init
fi

mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
hostname tinyrun-vm
ip link set lo up
# Modules load on demand (iptables asks the kernel, which runs modprobe).
depmod
echo /sbin/modprobe > /proc/sys/kernel/modprobe
for module in veth bridge overlay; do modprobe "$module"; done

echo "== guest: Linux $(uname -r), cgroup v2 at /sys/fs/cgroup, controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "== not run in the guest: the chapters' transcripts, diffs and excerpts, and the demo: they check the text against the code, which no kernel changes; the host's run covers them"
status=0
for test in /repo/unit/*.test; do
	[ -e "$test" ] || continue
	echo "== unit tests: $(basename "$test" .test)"
	(cd /tmp && "$test" -test.count=1) || status=1
done
run=$(sed -n 's/.*tinyrun\.run=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "== the steps' checks (${run:=TestSteps})"
# The race checks start 50 containers each here, not 250: emulated, the guest
# is about ten times slower, and what it checks is this kernel, not the odds.
cd /repo/tests && ./tests.test -test.v -test.count=1 -test.timeout=40m -test.run "$run" -prebuilt -race-starts 50 || status=1
echo "TINYRUN-VM-STATUS: $status"
sync
poweroff -f
