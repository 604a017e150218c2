#!/bin/sh
# provision.sh: installs, on a Debian or Ubuntu machine, the packages that
# building the rootfs, the demo and the tests need. CI runs it first; run it
# yourself on a fresh machine (as root). Go is not installed here: see README.md.
set -eu

# busybox-static: the rootfs; procps: ps on the host (chapter 02); util-linux:
# unshare; diffutils: the chapters' diffs; iproute2: ip; sudo and make: the
# README's commands; git: make lint lists the files to check with it;
# iptables: NAT and published ports (step 04).
packages="busybox-static procps util-linux diffutils iproute2 iptables bash sudo make git"

if [ "$(id -u)" != 0 ]; then
	echo "provision: run as root (sudo sh scripts/provision.sh)" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "provision: no apt-get here: install with your package manager: $packages" >&2
	exit 1
fi

missing=
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "provision: installing$missing"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
else
	echo "provision: every package is installed already"
fi
