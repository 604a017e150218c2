#!/bin/sh
# provision.sh: installs, on a Debian or Ubuntu machine, the packages that
# building the rootfs, the demo and the tests need, when they are missing;
# one line says which. make runs it before every target that starts
# containers (make deps), and CI runs it first. Go is not installed here:
# see README.md.
#
#   sh scripts/provision.sh [--quiet]   --quiet: say nothing when nothing is missing
set -eu

# busybox-static: the rootfs; procps: ps on the host (chapter 02); util-linux:
# unshare and nsenter; diffutils: the chapters' diffs; iproute2: ip; sudo and
# make: the README's commands; git: make lint lists the files to check with
# it; iptables: NAT and published ports (step 04); gcc and libc6-dev: step
# 07's exec joins a container's namespaces in C, before Go starts (cgo);
# runc: step 07's checks run tinyrun's config.json with it and compare the
# two containers (tests/spec_test.go), and make bench times it.
packages="busybox-static procps util-linux diffutils iproute2 iptables bash sudo make git gcc libc6-dev runc"

if ! command -v dpkg-query >/dev/null 2>&1; then
	[ "${1:-}" = --quiet ] && exit 0 # not Debian or Ubuntu: README.md lists what to install
	echo "provision: no dpkg here: install with your package manager: $packages" >&2
	exit 1
fi
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -z "$missing" ]; then
	[ "${1:-}" = --quiet ] || echo "provision: every package is installed already"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "provision: missing$missing: run as root (sudo make ..., or sudo sh scripts/provision.sh)" >&2
	exit 1
fi
echo "provision: installing$missing with apt-get"
export DEBIAN_FRONTEND=noninteractive
# DPkg::Lock::Timeout: wait for apt's daily job, which may hold the lock on
# a machine that has just booted, rather than fail.
apt="apt-get -o DPkg::Lock::Timeout=300"
$apt install -y -qq $missing >/dev/null ||
	{ $apt update -qq >/dev/null && $apt install -y -qq $missing >/dev/null; } ||
	{ echo "provision: apt-get install$missing failed: see apt-get's messages above" >&2; exit 1; }
