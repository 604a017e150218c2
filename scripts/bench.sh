#!/bin/bash
# bench.sh: how long it takes to start a container that runs /bin/true and
# to clean up after it, side by side on the same rootfs and in one run:
#
#   floor   unshare --pid --fork --mount --uts --ipc --net chroot ROOTFS /bin/true
#           (the kernel work alone: namespaces, a fork, an exec)
#   runc    runc run of a bundle whose root is the same rootfs
#   stepNN  each step of tinyrun built so far, with the network it has
#
# Run by 'sudo make bench' (after 'make build rootfs'). BENCH_RUNS sets the
# runs per case (default 50); the median is printed, with its ratio to the
# floor and to runc. It runs in a network namespace of its own, so that the
# bridges of step 04 on never touch the host's network.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-50}
[ "$(id -u)" = 0 ] || { echo "bench: needs root: run 'sudo make bench'" >&2; exit 1; }
[ -x bin/step01-uts ] && [ -e rootfs/bin/busybox ] || { echo "bench: run 'make build rootfs' first" >&2; exit 1; }
if ! command -v runc >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 || { echo "bench: runc not found: install it" >&2; exit 1; }
	echo "bench: installing runc" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q runc >/dev/null
fi

work=$(mktemp -d /tmp/tinyrun-bench.XXXXXX)
netns=tinyrun-bench
image=tinyrun-bench-busybox
cleanup() {
	if [ -x bin/step06-overlayfs ]; then bin/step06-overlayfs rmi "$image" >/dev/null 2>&1 || true; fi
	ip netns del "$netns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$netns"
ip -n "$netns" link set lo up

# runc's bundle: its default config (runc spec), running /bin/true, no
# terminal, with the rootfs (read-only, as runc's default) by absolute path.
mkdir "$work/bundle"
(cd "$work/bundle" && runc spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/^\(\t*\)"sh"$/\1"\/bin\/true"/' \
	-e "s|\"path\": \"rootfs\"|\"path\": \"$PWD/rootfs\"|" "$work/bundle/config.json"

if [ -x bin/step06-overlayfs ]; then
	tar -C rootfs -cf "$work/rootfs.tar" .
	bin/step06-overlayfs import "$work/rootfs.tar" "$image"
fi

# median_ms CMD...: runs CMD $runs times in the bench's network namespace
# and prints the median wall time in milliseconds. $i numbers the run.
median_ms() {
	local times=() i start end
	for ((i = 0; i < runs; i++)); do
		start=$(date +%s%N)
		nsenter --net=/run/netns/$netns -- "$@" >/dev/null 2>&1 ||
			{ echo "bench: failed: $*" >&2; exit 1; }
		end=$(date +%s%N)
		times+=($(((end - start) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f\n", m / 1000}'
}

declare -A median
cases=(floor runc)
median[floor]=$(median_ms unshare --pid --fork --mount --uts --ipc --net chroot rootfs /bin/true)
median[runc]=$(median_ms runc run --bundle "$work/bundle" tinyrun-bench)
# Each step with its default network, and from step 04 on also with
# --network none, which matches runc's default spec: a network namespace
# with loopback only.
for bin in bin/step0[1-6]-*; do
	name=$(basename "$bin")
	arg=()
	[ "$name" = step06-overlayfs ] && arg=("$image")
	median[$name]=$(median_ms "$bin" run "${arg[@]}" true)
	cases+=("$name")
	case $name in step0[1-3]-*) continue ;; esac
	median["$name --network none"]=$(median_ms "$bin" run --network none "${arg[@]}" true)
	cases+=("$name --network none")
done

echo "tinyrun bench: $runs runs per case, median wall time to start and remove a container running /bin/true"
echo "$(uname -sr), $(nproc) CPUs, $(date -u +%Y-%m-%d)"
printf '%-32s %10s %10s %10s\n' case "median ms" "x floor" "x runc"
for c in "${cases[@]}"; do
	awk -v c="$c" -v m="${median[$c]}" -v f="${median[floor]}" -v r="${median[runc]}" \
		'BEGIN {printf "%-32s %10.1f %10.1f %10.2f\n", c, m, m / f, m / r}'
done
