#!/bin/sh
# demo.sh: a narrated, non-interactive tour of every step built so far, for a
# classroom screen. Run by 'sudo make demo' (which builds bin/ and rootfs/
# first). DEMO_PAUSE sets the seconds to wait after each command (default 1).
set -u
cd "$(dirname "$0")/.."

pause=${DEMO_PAUSE:-1}
if [ -t 1 ]; then bold=$(printf '\033[1m'); dim=$(printf '\033[2m'); off=$(printf '\033[0m'); else bold= dim= off=; fi

say() { printf '%s%s%s\n' "$dim" "$*" "$off"; }
heading() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$off"; }
# show CMD...: print a command as typed at a root prompt, run it, then pause.
# A command that fails stops the demo: something is broken.
show() {
	printf '%s# %s%s\n' "$bold" "$*" "$off"
	sh -c "$*" || { echo "demo: that command failed (status $?)" >&2; exit 1; }
	sleep "$pause"
}

if [ "$(id -u)" != 0 ]; then
	echo "demo: containers need root: run 'sudo make demo'" >&2
	exit 1
fi

heading "tinyrun: a container runtime, one kernel primitive at a time"
say "Each step is a program that runs a command in a container with one more kind of isolation."

if [ -x bin/step01-uts ]; then
	heading "step01-uts: a hostname of its own (UTS namespace, docs/01-uts.md)"
	show hostname
	show "bin/step01-uts run --hostname box1 hostname"
	say "The container named itself box1; the host kept its name:"
	show hostname
	say "But the process IDs are still the host's:"
	show "bin/step01-uts run sh -c 'echo my PID is \$\$'"
fi

if [ -x bin/step02-pid ]; then
	heading "step02-pid: process IDs of its own (PID namespace, docs/02-pid.md)"
	show "bin/step02-pid run sh -c 'echo my PID is \$\$'"
	say "The command is PID 1 now. Yet ps, which reads /proc, still lists the host's processes:"
	show "bin/step02-pid run sh -c 'ps -e | wc -l'"
	say "Signals sent to the runtime reach PID 1, if it has a handler:"
	show "bin/step02-pid run sh -c 'trap \"echo PID 1 got SIGTERM; exit\" TERM; while :; do sleep 0.1; done' & sleep 0.5; kill -TERM \$!; wait"
fi

if [ -x bin/step03-mount ]; then
	heading "step03-mount: a filesystem and mount table of its own (mount namespace, docs/03-mount.md)"
	show "bin/step03-mount run ps"
	say "Only the container's own processes: /proc is mounted afresh. Its / is the busybox rootfs:"
	show "bin/step03-mount run cat /etc/os-release"
	show "bin/step03-mount run ls /"
	say "The host's files are out of reach, and the host's mount table did not change:"
	show "bin/step03-mount run ls \$PWD || echo \"(status \$?: not in the container)\""
	show "cat /proc/self/mountinfo | wc -l; bin/step03-mount run true; cat /proc/self/mountinfo | wc -l"
fi

if [ -x bin/step04-net ]; then
	heading "step04-net: a network of its own (network namespace, docs/04-net.md)"
	show "bin/step04-net run sh -c 'ip -4 addr show eth0 | grep inet'"
	say "Its own address on the bridge tinyrun0, whose address, the gateway, answers:"
	show "bin/step04-net run ping -c 1 10.77.0.1"
	say "A web server in a container, its port 80 published as the host's 8080:"
	show "bin/step04-net run --hostname web -p 8080:80 sh -c 'httpd -p 80 -h /etc; sleep 2' & sleep 1; busybox wget -q -O - http://127.0.0.1:8080/hostname; wait"
	say "With --network none, only loopback:"
	show "bin/step04-net run --network none ip link"
fi

if [ -x bin/step05-cgroups ]; then
	heading "step05-cgroups: limits on memory, CPU and processes (cgroups, docs/05-cgroups.md)"
	say "A program that eats memory, under a 32 MiB limit, is killed, and the runtime says why:"
	show "bin/step05-cgroups run -m 32m tail /dev/zero || echo \"(status \$?)\""
	say "Pinned to CPU 0 of this host's $(nproc):"
	show "bin/step05-cgroups run --cpuset-cpus 0 grep Cpus_allowed_list /proc/self/status"
	say "Half a CPU: a busy loop gets about half of the time that passes (real vs user):"
	show "bin/step05-cgroups run --cpus 0.5 time sh -c 'i=0; while [ \$i -lt 300000 ]; do i=\$((i+1)); done'"
fi

if [ -x bin/step06-overlayfs ]; then
	# The image busybox, imported here (and removed at the end) if missing.
	if ! bin/step06-overlayfs images | grep -q '^busybox	'; then
		tar -C rootfs -cf /tmp/tinyrun-demo-rootfs.tar . &&
			bin/step06-overlayfs import /tmp/tinyrun-demo-rootfs.tar busybox && imported_busybox=1
		rm -f /tmp/tinyrun-demo-rootfs.tar
	fi
	heading "step06-overlayfs: images, and a layer of its own (overlayfs, docs/06-overlayfs.md)"
	show "bin/step06-overlayfs images"
	say "A container deletes a file of the image and writes a new one..."
	show "bin/step06-overlayfs run busybox sh -c 'rm /etc/group; echo mine > /etc/note; ls /etc'"
	say "...and the next container of the same image starts from the image as it was:"
	show "bin/step06-overlayfs run busybox ls /etc"
	say "A volume outlives its container:"
	show "mkdir -p /tmp/tinyrun-demo && bin/step06-overlayfs run -v /tmp/tinyrun-demo:/data busybox sh -c 'echo kept > /data/file' && cat /tmp/tinyrun-demo/file && rm -r /tmp/tinyrun-demo"
fi

if [ -x bin/step07-full ]; then
	heading "step07-full: tinyrun, a runtime to live with (docs/07-full.md)"
	say "A web server in the background (-d), watched by a monitor; run prints its ID and returns:"
	show "bin/step07-full run -d --name web -p 8080:80 busybox sh -c 'echo hello from web > /index.html; exec httpd -f -v -p 80 -h /'"
	show "bin/step07-full ps"
	say "run -d returns once the command has started, and httpd listens a moment later: ask until it answers:"
	show "timeout 5 sh -c 'until busybox wget -q -O - http://127.0.0.1:8080/ 2>/dev/null; do sleep 0.1; done'"
	say "What it wrote (httpd -v logs each request on stderr), and a command run inside it (exec):"
	show "bin/step07-full logs web"
	show "bin/step07-full exec web ps"
	say "stop sends SIGTERM, then SIGKILL; the container stays, exited, until rm:"
	show "bin/step07-full stop -t 1 web && bin/step07-full ps -a"
	show "bin/step07-full rm web"
fi

if [ -n "${imported_busybox:-}" ]; then bin/step06-overlayfs rmi busybox; fi

heading "That was every step built so far."
say "Next: read docs/00-introduction.md, or try one yourself: sudo make shell STEP=3"
