#!/bin/sh
# mkrootfs.sh DIR: builds a small root filesystem in DIR from the host's static
# busybox: the applet links, /etc/passwd, /etc/group, /etc/hosts and the empty
# mount points a container needs. Run by 'make rootfs'; needs no network.
#
# It builds into DIR.new and renames it at the end, so an interrupted build
# never leaves a half-made DIR behind.
set -eu

dest=${1:?usage: mkrootfs.sh DIR}

# find_static_busybox prints the path of a statically linked busybox, if any.
# A dynamically linked one would need the host's C library inside the rootfs.
find_static_busybox() {
	for candidate in /bin/busybox /usr/bin/busybox $(command -v busybox 2>/dev/null); do
		[ -x "$candidate" ] || continue
		# ldd fails ("not a dynamic executable") on a static binary.
		if ! ldd "$candidate" >/dev/null 2>&1; then
			echo "$candidate"
			return 0
		fi
	done
	return 1
}

busybox=$(find_static_busybox) || {
	if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
		echo "mkrootfs: installing busybox-static with apt-get" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2 ||
			{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2; }
		busybox=$(find_static_busybox)
	fi
}
if [ -z "${busybox:-}" ]; then
	echo "mkrootfs: no static busybox found: install your distribution's busybox-static package (apt-get install busybox-static), then run 'make rootfs' again" >&2
	exit 1
fi

rm -rf "$dest.new"
mkdir -p "$dest.new"
cd "$dest.new"

mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp root home
chmod 1777 tmp
chmod 700 root
cp "$busybox" bin/busybox

# One symlink per applet (bin/sh, usr/bin/awk, ...), as 'busybox --install -s'
# would make inside a running system. The absolute target /bin/busybox is
# right inside the container, whatever the rootfs is called on the host.
bin/busybox --list-full | while read -r applet; do
	[ -e "$applet" ] || ln -s /bin/busybox "$applet"
done

cat > etc/passwd <<'END'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
END
cat > etc/group <<'END'
root:x:0:
tty:x:5:
nogroup:x:65534:
END
cat > etc/hosts <<'END'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
END
# Mount points for the per-container files that step 04 bind-mounts over them.
: > etc/hostname
: > etc/resolv.conf
version=$(bin/busybox | head -n 1 | sed -n 's/^BusyBox v\([^ ]*\).*/\1/p')
cat > etc/os-release <<END
NAME="tinyrun busybox rootfs"
ID=tinyrun-busybox
VERSION_ID="$version"
PRETTY_NAME="tinyrun busybox rootfs (BusyBox $version)"
END

cd - >/dev/null
rm -rf "$dest"
mv "$dest.new" "$dest"
echo "mkrootfs: built $dest from $busybox (BusyBox $version)" >&2
