#!/bin/bash
# fresh-root-check.sh: the classroom VM's provisioning, then the README's two
# commands, on a fresh Debian 12: what CI can check of the Vagrant path
# without booting a VM. In order, it:
#
#   1. checks the Vagrantfile with 'vagrant validate' (Debian's vagrant);
#   2. makes a minimal Debian 12 root with debootstrap, in /var/tmp;
#   3. mounts there what a machine has: /proc, /sys and /dev (bind mounts
#      of the host's, made slaves, so that nothing done under them reaches
#      the host's), an empty /run and /tmp;
#   4. copies the repository's committed files into it (git archive);
#   5. the README's first command on a machine with nothing but Go and make:
#      installs make, copies this machine's Go into /opt/go, and runs 'make
#      demo' there, which must install every package it needs (make deps);
#   6. runs scripts/vagrant-provision.sh in it, as the Vagrantfile does;
#   7. runs there 'make demo' and 'make test', as root, as the README says.
#
# The root is a bind mount of itself, which each command enters with
# pivot_root(2) in a mount namespace of its own (in_root). Everything is
# unmounted and removed at the end, whatever happened. Needs root, and
# Debian's mirror and the Go module proxy (the packages, Go and the modules
# are downloaded: that is what is checked).
#
# Run by .ci/run; by hand: sudo bash scripts/fresh-root-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

say() { echo "fresh-root-check: $*"; }
fail() { echo "fresh-root-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root: sudo bash scripts/fresh-root-check.sh"

# need COMMAND PACKAGE: installs PACKAGE with apt-get if COMMAND is missing.
need() {
	command -v "$1" >/dev/null 2>&1 && return
	say "$1 not found: installing $2 with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "$2" >/dev/null ||
		{ apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; } ||
		fail "apt-get install $2 failed"
}
need debootstrap debootstrap
need vagrant vagrant

say "vagrant validate"
vagrant validate

root=$(mktemp -d /var/tmp/tinyrun-fresh.XXXXXX)
chmod 755 "$root" # it becomes /: other users must be able to go through it
cleanup() {
	# A demo or a test that failed may leave a detached container running,
	# with the bridge and rules it shares, on this host (the fresh root is
	# a machine: its containers use the host's network): the fresh root's
	# runtime removes them, by its own records, before the root goes.
	if [ -x "$root/repo/bin/step07-full" ] && mountpoint -q "$root/run"; then
		in_root 'ids=$(bin/step07-full ps -aq 2>/dev/null); [ -z "$ids" ] || bin/step07-full rm -f $ids >/dev/null; for b in bin/step0*; do "$b" cleanup 2>/dev/null; done' || true
	fi
	if mountpoint -q "$root"; then umount -R "$root" || umount -R -l "$root"; fi
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT

mirror=http://deb.debian.org/debian
say "debootstrap bookworm from $mirror into $root"
start=$SECONDS
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
	{ tail -n 20 "$root.log" >&2; rm -f "$root.log"; fail "debootstrap failed"; }
rm -f "$root.log"
say "debootstrap took $((SECONDS - start)) s"

mount --bind "$root" "$root"
mount --make-rprivate "$root"
mount -t proc proc "$root/proc"
for dir in sys dev; do
	mount --rbind "/$dir" "$root/$dir"
	mount --make-rslave "$root/$dir"
done
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The host's own certificate authorities, which a network that inspects
# TLS needs (a fresh machine on it would be given them too): the
# ca-certificates package, which the provisioning installs, takes in
# those of /usr/local/share/ca-certificates.
if [ -d /usr/local/share/ca-certificates ]; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
mkdir "$root/repo"
git archive HEAD | tar -x -C "$root/repo"

# in_root CMD: runs the shell command CMD in the fresh root, in /repo, as
# root with a login shell's PATH (where vagrant-provision.sh puts Go). Not
# in a chroot(2): there the runtime's pivot_root would move only its own
# root, and its containers' mount namespaces would keep the host's / above
# them (nsenter --mount, or chapter 03's chroot escape, would land there).
# So, as a machine's, the fresh root is the root mount of a mount namespace
# of its own: pivot_root into it, and the host's / detached.
in_root() {
	unshare --mount --propagation private -- /bin/sh -c '
		cd "$1" && mkdir -p .host && pivot_root . .host && umount -l /.host && rmdir /.host &&
		exec /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/sh -c "cd /repo && $2"' in_root "$root" "$1"
}

# 5. Nothing but Go and make: the demo installs the rest (iptables,
# busybox-static, gcc...), saying so in one line.
host_go=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$host_go" ] || fail "no Go on this machine to copy into the fresh root: install Go first"
go_root=$("$host_go" env GOROOT)
mkdir -p "$root/opt/go" && cp -a "$go_root/." "$root/opt/go/"
say "make demo with nothing installed but Go and make"
in_root "apt-get install -y -qq make >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq make >/dev/null; }"
in_root "! command -v iptables >/dev/null || { echo 'fresh-root-check: the fresh root has iptables already: nothing to show' >&2; exit 1; }"
in_root "make demo GO=/opt/go/bin/go DEMO_PAUSE=0 >/tmp/demo.log 2>&1 || { tail -n 30 /tmp/demo.log; exit 1; }; grep '^provision: installing' /tmp/demo.log || true"
in_root "command -v iptables >/dev/null || { echo 'fresh-root-check: make demo did not install iptables' >&2; exit 1; }"
rm -rf "$root/opt/go"

start=$SECONDS
say "scripts/vagrant-provision.sh"
in_root "sh scripts/vagrant-provision.sh"
say "provisioning took $((SECONDS - start)) s"
say "make demo"
in_root "make demo DEMO_PAUSE=0 >/tmp/demo.log 2>&1 || { tail -n 30 /tmp/demo.log; exit 1; }"
start=$SECONDS
say "make test"
in_root "make test"
say "make test took $((SECONDS - start)) s"
say "the fresh Debian 12 root provisions, runs the demo, and passes the suite"
