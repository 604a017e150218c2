#!/bin/bash
# test-vm.sh: runs the steps' checks inside a virtual machine that boots
# Debian 12's stock kernel (the linux-image-amd64 package) with the unified
# cgroup v2 hierarchy, the layout of current Ubuntu and Debian VMs, so that
# the v2 code paths run for real even on a host with v1 or hybrid cgroups.
# Run by 'sudo make test-vm', after 'make build rootfs'.
#
# The machine is a kernel and an initramfs holding busybox, the step
# binaries, the compiled test suite, the rootfs, the kernel modules the
# steps need (veth, bridge, netfilter and NAT, overlay) and the programs the
# tests call, with their libraries. Its init (scripts/vm-init.sh) mounts
# cgroup2 at /sys/fs/cgroup, runs the suite and powers off. The guest's
# console is printed here live; the script exits with the suite's status.
#
# Downloads (the kernel package) are cached in .cache/vm, which git ignores.
# Set TINYRUN_VM_ACCEL=kvm or tcg to skip the probe that picks one, and
# TINYRUN_VM_RUN=TestSteps/step05 (say) to run only some of the checks.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=.cache/vm
timeout_minutes=${TINYRUN_VM_TIMEOUT_MINUTES:-45}
GO=${GO:-go}
mkdir -p "$cache"

say() { echo "test-vm: $*"; }
die() { echo "test-vm: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (apt-get, and the suite's checks): run 'sudo make test-vm'"
for f in bin/step01-uts rootfs/bin/busybox; do
	[ -e "$f" ] || die "$f is missing: run 'make build rootfs' first"
done

# need_command CMD PACKAGE: installs PACKAGE with apt-get when CMD is missing.
need_command() {
	command -v "$1" >/dev/null 2>&1 && return 0
	command -v apt-get >/dev/null 2>&1 || die "$1 not found: install the package $2"
	say "installing $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; } ||
		die "could not install $2"
}
need_command qemu-system-x86_64 qemu-system-x86

# 1. The kernel: the package that linux-image-amd64 depends on, unpacked.
kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
pkg=$(kernel_package)
if [ -z "$pkg" ]; then
	apt-get update -q >/dev/null
	pkg=$(kernel_package)
fi
[ -n "$pkg" ] || die "apt knows no linux-image-amd64: is this Debian with its package lists?"
if [ ! -e "$cache/$pkg/done" ]; then
	say "downloading and unpacking $pkg (once; cached in $cache)"
	rm -rf "$cache/$pkg" && mkdir -p "$cache/$pkg"
	(cd "$cache/$pkg" && apt-get download "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
	dpkg-deb -x "$cache/$pkg"/*.deb "$cache/$pkg/root"
	rm -f "$cache/$pkg"/*.deb
	touch "$cache/$pkg/done"
fi
kernel_root=$cache/$pkg/root
kver=$(ls "$kernel_root/lib/modules")
vmlinuz=$kernel_root/boot/vmlinuz-$kver

# 2. What runs in the guest: the suite compiled, since the guest has no Go,
# and the unit tests of the steps that have them.
stage=$cache/initramfs
rm -rf "$stage"
# Merged /usr, as on Debian 12: /lib/x86_64-linux-gnu/xtables and
# /usr/lib/x86_64-linux-gnu/xtables are one directory, as iptables expects.
mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,run,tmp,var/lib,repo}
for dir in bin sbin lib lib64; do ln -s "usr/$dir" "$stage/$dir"; done
say "compiling the test suite"
"$GO" test -c -o "$stage/repo/tests/tests.test" ./tests
for dir in step*/; do
	if ls "$dir"*_test.go >/dev/null 2>&1; then
		"$GO" test -c -o "$stage/repo/unit/${dir%/}.test" "./${dir%/}"
	fi
done
# The suite finds the steps by their directories, and runs bin/ and rootfs/.
cp -a bin rootfs "$stage/repo/"
for dir in step*/; do mkdir -p "$stage/repo/$dir"; done

# 3. Programs: busybox for everything, then the real ones the tests call.
cp /bin/busybox "$stage/bin/busybox"
for applet in $(busybox --list-full); do
	[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done
# copy_program PATH [NAME]: the program, as NAME in its directory, and every
# library ldd lists for it.
copy_program() {
	local path=$1 name=${2:-$(basename "$1")}
	local dir
	dir=$(dirname "$path")
	mkdir -p "$stage$dir"
	rm -f "$stage$dir/$name"
	cp -L "$path" "$stage$dir/$name"
	copy_libraries "$path"
}
copy_libraries() {
	local lib
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*\.so[^ ]*'); do
		mkdir -p "$stage$(dirname "$lib")"
		[ -e "$stage$lib" ] || cp -L "$lib" "$stage$lib"
	done
}
need_command iptables iptables
need_command nsenter util-linux
# runc: step 07's checks run tinyrun's config.json with it (tests/spec_test.go).
need_command runc runc
for program in /usr/sbin/ip /usr/bin/nsenter /usr/bin/unshare /bin/bash /bin/mount "$(command -v runc)"; do
	copy_program "$program"
done
# Step 07 links the C library (cgo, for exec): its libraries too.
for program in bin/step*; do copy_libraries "$program"; done
# iptables is one binary answering to many names, with plugins it dlopens.
multi=$(readlink -f "$(command -v iptables)")
for name in iptables iptables-save iptables-restore; do
	copy_program "$multi" "$name"
done
xtables=$(dirname "$(ldd "$multi" | grep -o '/[^ ]*libxtables[^ ]*')")/xtables
mkdir -p "$stage$xtables"
cp -a "$xtables/." "$stage$xtables/"
for plugin in "$xtables"/*.so; do copy_libraries "$plugin"; done

# 4. Kernel modules: networking and netfilter, veth, overlay, and the
# libraries they need. The guest's modprobe (busybox) loads them on demand;
# its depmod builds the index at boot.
modules=$stage/lib/modules/$kver
mkdir -p "$modules/kernel/drivers/net" "$modules/kernel/fs"
cp -a "$kernel_root/lib/modules/$kver/kernel/net" "$kernel_root/lib/modules/$kver/kernel/lib" \
	"$kernel_root/lib/modules/$kver/kernel/crypto" "$modules/kernel/"
cp -a "$kernel_root/lib/modules/$kver/kernel/fs/overlayfs" "$modules/kernel/fs/"
cp -a "$kernel_root/lib/modules/$kver/kernel/drivers/net/veth.ko" "$modules/kernel/drivers/net/"
cp "$kernel_root/lib/modules/$kver/modules.builtin" "$modules/" 2>/dev/null || true

# 5. The guest's init and files.
cp scripts/vm-init.sh "$stage/init"
chmod 755 "$stage/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$stage/etc/group"
printf '127.0.0.1\tlocalhost\n' > "$stage/etc/hosts"

say "packing the initramfs"
(cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$cache/initramfs.cpio.gz"
rm -rf "$stage"

# 6. Boot. KVM is much faster, but on some hosts it hangs at boot: a probe
# of a few seconds decides, unless TINYRUN_VM_ACCEL says.
# set_qemu_args ACCEL EXTRA-KERNEL-ARGUMENTS: the qemu command line, in qemu_args.
set_qemu_args() {
	qemu_args=(qemu-system-x86_64 -accel "$1" -m 4096 -smp 2 -nographic -no-reboot -nic none
		-kernel "$vmlinuz" -initrd "$cache/initramfs.cpio.gz" -append "console=ttyS0 panic=-1 quiet $2")
}
accel=${TINYRUN_VM_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	set_qemu_args kvm tinyrun.probe=1
	if [ -r /dev/kvm ] && timeout 20 "${qemu_args[@]}" </dev/null 2>/dev/null | grep -q 'TINYRUN-VM-PROBE-OK'; then
		accel=kvm
	fi
fi
if [ "$accel" = kvm ]; then how="hardware virtualisation"; else how="software emulation, slower"; fi
say "booting Linux $kver with $accel ($how); the guest's console follows"

log=$cache/console.log
set +e
# TINYRUN_VM_RUN narrows the checks (a go test -run pattern, no spaces).
set_qemu_args "$accel" "tinyrun.run=${TINYRUN_VM_RUN:-TestSteps}"
timeout "${timeout_minutes}m" "${qemu_args[@]}" </dev/null | tee "$log"
qemu_status=${PIPESTATUS[0]}
set -e
if [ "$qemu_status" = 124 ]; then
	die "the VM did not finish within $timeout_minutes minutes and was killed (console in $log)"
fi
status=$(sed -n 's/.*TINYRUN-VM-STATUS: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
[ -n "$status" ] || die "the VM stopped without reporting the suite's status (console in $log)"
say "the suite exited with status $status in the VM"
exit "$status"
