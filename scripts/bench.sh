#!/bin/bash
# bench.sh: how long it takes to start a container that runs /bin/true and
# to clean up after it, side by side on the same rootfs and in one run:
#
#   floor   unshare --pid --fork --mount --uts --ipc --net chroot ROOTFS /bin/true
#           (the kernel work alone: namespaces, a fork, an exec)
#   runc    runc run of a bundle whose root is the same rootfs
#   stepNN  each step of tinyrun built so far, with the network it has; from
#           step 04 on three times: alone (it creates the bridge and removes
#           it), with the bridge up (another container of the same step keeps
#           it, as a Docker host keeps its own), and with --network none
#           (step 07 with --rm, so that its containers go as the others' do)
#
# With step 07, a second table: 100 detached containers (run -d), each with
# an address on the bridge, started at once, listed with ps, then removed at
# once with rm -f; the memory of their monitors; and proof that nothing is
# left (ps -a lists none, and the runtime's state directories are gone).
#
# Run by 'sudo make bench' (after 'make build rootfs'). BENCH_RUNS sets the
# runs per case (default 50); the median is printed, with its ratio to the
# floor and to runc.
#
# 'sudo bash scripts/bench.sh --phases' times instead the phases of one
# bridged start of step 04, alone and with the bridge up, and of one start
# of step 07 with --network none (its cgroups and overlay): it runs the start
# under strace, which stamps the system calls that begin and end each phase
# (an exec, a fork, the lock, a write, an exit), prints each phase's median,
# then times the slowest kernel work alone, untraced (docs/benchmarks.md
# explains them).
#
# Everything runs in a network namespace made for the bench, so that the
# bridges never touch the host's network, and under the test suite's lock:
# the suite compares the host before and after each check, and the bench's
# containers would show up there. The host is left as found, except that
# runc (and strace, for --phases) are installed with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# sudo's secure_path has these, a root login shell may not: ip, runc and
# the iptables that the runtime runs live there.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

mode=table
case ${1:-} in
'') ;;
--phases) mode=phases ;;
*) echo "usage: bash scripts/bench.sh [--phases]" >&2; exit 2 ;;
esac
runs=${BENCH_RUNS:-50}
[ "$(id -u)" = 0 ] || { echo "bench: needs root: run 'sudo make bench'" >&2; exit 1; }
[ -x bin/step01-uts ] && [ -e rootfs/bin/busybox ] || { echo "bench: run 'make build rootfs' first" >&2; exit 1; }

# need COMMAND PACKAGE: installs PACKAGE with apt-get if COMMAND is missing,
# updating the package lists first if they do not know it.
need() {
	command -v "$1" >/dev/null 2>&1 && return
	command -v apt-get >/dev/null 2>&1 || { echo "bench: $1 not found: install $2" >&2; exit 1; }
	echo "bench: $1 not found: installing $2 with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "$2" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; } ||
		{ echo "bench: apt-get install $2 failed: install it by hand" >&2; exit 1; }
}
need runc runc
[ "$mode" = phases ] && need strace strace

# The test suite's lock (tests/main_test.go): one of the two at a time.
exec 9>>"${TMPDIR:-/tmp}/tinyrun-tests.lock"
if ! flock -n 9; then
	echo "bench: the test suite is running: waiting for it to finish" >&2
	flock 9
fi

work=$(mktemp -d /tmp/tinyrun-bench.XXXXXX)
netns=tinyrun-bench
image=tinyrun-bench-busybox
programName=tinyrun # step 07's, which its monitors show in ps
keeper=   # the PID of the runtime whose container keeps the bridge up
imported= # set once the image is imported
cleanup() {
	[ -z "$keeper" ] || stop_keeper || true
	# The detached containers of a bench cut short, and only those.
	[ ! -s "$work/ids" ] || in_netns bin/step07-full rm -f $(cat "$work/ids") >/dev/null 2>&1 || true
	[ -z "$imported" ] || bin/step06-overlayfs rmi "$image" >/dev/null || true
	if [ -e "/run/netns/$netns" ]; then
		left=$(ip -n "$netns" -o link show | awk -F': ' '$2 != "lo" {print $2}')
		[ -z "$left" ] || echo "bench: left behind in the bench's namespace (removed with it): $left" >&2
		ip netns del "$netns"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# What a bench killed with SIGKILL left: the names are the bench's own.
ip netns del "$netns" 2>/dev/null || true
runc delete --force tinyrun-bench >/dev/null 2>&1 || true
ip netns add "$netns"
ip -n "$netns" link set lo up

# in_netns CMD...: runs CMD in the bench's network namespace. Not
# 'ip netns exec', which also remounts /sys.
in_netns() {
	nsenter --net="/run/netns/$netns" -- "$@" 9>&- # not the lock: not to the containers
}

# median_ms CMD...: runs CMD $runs times in the bench's network namespace
# and prints the median wall time in milliseconds. The clock is bash's own
# (EPOCHREALTIME, in microseconds), so no process but CMD's is timed.
median_ms() {
	local times=() i start end
	for ((i = 0; i < runs; i++)); do
		start=${EPOCHREALTIME/./}
		in_netns "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }
		end=${EPOCHREALTIME/./}
		times+=($((end - start)))
	done
	printf '%s\n' "${times[@]}" | median | awk '{printf "%.1f\n", $1 / 1000}'
}

# median: the median of the numbers on standard input, one a line.
median() {
	sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# start_keeper RUN...: starts, in the background, a container that keeps the
# bridge up (RUN is the step's binary, run and its arguments), and returns
# once it runs. TINYRUN_STOP_AFTER=started makes the runtime stop itself
# right after the start (state.go): then it is continued. Its command is a
# shell that waits, because PID 1 gets SIGTERM only with a handler (pid.go).
start_keeper() {
	# A simple command, not in_netns: $! is then the runtime's PID itself
	# (nsenter execs it), not that of a subshell.
	TINYRUN_STOP_AFTER=started nsenter --net="/run/netns/$netns" -- "$@" \
		sh -c 'trap "exit 0" TERM; sleep 1000 & wait' </dev/null >/dev/null 2>&1 9>&- &
	keeper=$!
	local state i
	for ((i = 0; i < 3000; i++)); do # 60 s
		state=$(sed 's/.*) //; s/ .*//' "/proc/$keeper/stat" 2>/dev/null || true)
		case $state in
		T) kill -CONT "$keeper"; return ;;
		Z | '') echo "bench: the container that keeps the bridge up failed: $*" >&2; exit 1 ;;
		esac
		sleep 0.02
	done
	echo "bench: the container that keeps the bridge up did not start in 60 s: $*" >&2
	exit 1
}

# stop_keeper sends SIGTERM to the runtime of start_keeper, which passes it
# on to its container, and waits until the runtime has cleaned up and exited.
stop_keeper() {
	local pid=$keeper status=0
	keeper=
	kill -TERM "$pid" && kill -CONT "$pid" # continued, if it was still stopped
	wait "$pid" || status=$?
	[ "$status" = 0 ] || { echo "bench: the container that kept the bridge up exited with status $status" >&2; return 1; }
}

# run_args BIN: what BIN's run needs before its command: the image (step 06
# on), and --rm (step 07, which otherwise keeps the exited container).
run_args() {
	case $(basename "$1") in step0[1-5]-*) ;; step06-*) echo "$image" ;; *) echo "--rm $image" ;; esac
}

import_image() {
	imported=yes
	# A killed bench's image goes first. (Only an image that exists: rmi of
	# another leaves the runtime's state directory behind.)
	if bin/step06-overlayfs images | grep -q "^$image"$'\t'; then bin/step06-overlayfs rmi "$image" >/dev/null; fi
	tar -C rootfs -cf "$work/rootfs.tar" .
	bin/step06-overlayfs import "$work/rootfs.tar" "$image" >/dev/null
}

table() {
	# runc's bundle: its default config (runc spec), running /bin/true, no
	# terminal, with the rootfs (read-only, as runc's default) by absolute path.
	mkdir "$work/bundle"
	(cd "$work/bundle" && runc spec)
	sed -i -e 's/"terminal": true/"terminal": false/' -e 's/^\(\t*\)"sh"$/\1"\/bin\/true"/' \
		-e "s|\"path\": \"rootfs\"|\"path\": \"$PWD/rootfs\"|" "$work/bundle/config.json"
	[ ! -x bin/step06-overlayfs ] || import_image

	declare -A median
	local cases=(floor runc) bin name arg
	median[floor]=$(median_ms unshare --pid --fork --mount --uts --ipc --net chroot rootfs /bin/true)
	median[runc]=$(median_ms runc run --bundle "$work/bundle" tinyrun-bench)
	# Each step with its default network. From step 04 on, that is a bridge,
	# which the lone container creates and removes; then with the bridge
	# kept up by another container of the step; then with --network none,
	# which matches runc's default spec: a network namespace with loopback only.
	for bin in bin/step0[1-7]-*; do
		name=$(basename "$bin")
		arg=($(run_args "$bin"))
		median[$name]=$(median_ms "$bin" run "${arg[@]}" true)
		cases+=("$name")
		case $name in step0[1-3]-*) continue ;; esac
		start_keeper "$bin" run "${arg[@]}"
		median["$name, bridge up"]=$(median_ms "$bin" run "${arg[@]}" true)
		stop_keeper
		median["$name --network none"]=$(median_ms "$bin" run --network none "${arg[@]}" true)
		cases+=("$name, bridge up" "$name --network none")
	done
	# Step 07 with --network none and its defences switched off (security.go:
	# --privileged, no seccomp filter), to show what they cost. The read-only
	# binary stays: go test -bench ReadOnlyBinary ./step07-full times it.
	if [ -x bin/step07-full ]; then
		local off="step07-full none, defences off"
		median[$off]=$(median_ms bin/step07-full run --network none --privileged --security-opt seccomp=unconfined --rm "$image" true)
		cases+=("$off")
	fi

	echo "tinyrun bench: $runs runs per case, median wall time to start and remove a container running /bin/true"
	echo "$(uname -sr), $(nproc) CPUs, $(runc --version | head -n 1), $(date -u +%Y-%m-%d)"
	printf '%-32s %10s %10s %10s\n' case "median ms" "x floor" "x runc"
	local c
	for c in "${cases[@]}"; do
		awk -v c="$c" -v m="${median[$c]}" -v f="${median[floor]}" -v r="${median[runc]}" \
			'BEGIN {printf "%-32s %10.1f %10.1f %10.2f\n", c, m, m / f, m / r}'
	done
	[ ! -x bin/step07-full ] || detached 100
}

# detached N: N containers of step 07 started at once with run -d, each
# with an address on the bridge, then removed at once with rm -f.
detached() {
	local n=$1 bin=bin/step07-full i start end ids monitors rss
	start=${EPOCHREALTIME/./}
	for ((i = 0; i < n; i++)); do
		in_netns "$bin" run -d "$image" sleep 1000 >>"$work/ids" 2>>"$work/errors" &
	done
	wait
	end=${EPOCHREALTIME/./}
	[ ! -s "$work/errors" ] || { echo "bench: run -d failed: $(head -n 1 "$work/errors")" >&2; exit 1; }
	local started=$(((end - start) / 1000))
	# The monitors, as they wait: "tinyrun monitor --wait PID ID" (monitor.go).
	monitors=$(pgrep -f -- "^$programName monitor " || true)
	rss=$(for p in $monitors; do awk '/^VmRSS:/ {print $2}' "/proc/$p/status"; done | sort -n)
	local count=$(echo "$rss" | grep -c . || true)
	local psTimes=()
	for ((i = 0; i < 20; i++)); do
		start=${EPOCHREALTIME/./}
		in_netns "$bin" ps >/dev/null
		end=${EPOCHREALTIME/./}
		psTimes+=($((end - start)))
	done
	local listed=$(in_netns "$bin" ps -q | wc -l)
	ids=$(cat "$work/ids")
	start=${EPOCHREALTIME/./}
	for id in $ids; do in_netns "$bin" rm -f "$id" >/dev/null 2>>"$work/errors" & done
	wait
	end=${EPOCHREALTIME/./}
	[ ! -s "$work/errors" ] || { echo "bench: rm -f failed: $(head -n 1 "$work/errors")" >&2; exit 1; }
	local removed=$(((end - start) / 1000))
	local left=$(in_netns "$bin" ps -aq | wc -l)
	echo
	echo "tinyrun bench: $n detached containers (run -d), each with an address on the bridge"
	printf '%-48s %10s
' "started at once, all running (ms)" "$started"
	printf '%-48s %10s
' "listed by ps (containers)" "$listed"
	printf '%-48s %10s
' "ps with them all, median of 20 (ms)" "$(printf '%s\n' "${psTimes[@]}" | median | awk '{printf "%.1f", $1 / 1000}')"
	printf '%-48s %10s
' "monitors found" "$count"
	printf '%-48s %10s
' "monitor RSS, median (KiB)" "$(echo "$rss" | median)"
	printf '%-48s %10s
' "monitor RSS, largest (KiB)" "$(echo "$rss" | tail -n 1)"
	printf '%-48s %10s
' "removed at once with rm -f (ms)" "$removed"
	printf '%-48s %10s
' "left afterwards (ps -a)" "$left"
	printf '%-48s %10s
' "runtime state directories left" "$(ls -d /run/tinyrun/containers /var/lib/tinyrun/containers 2>/dev/null | wc -l)"
}

# The phases of one bridged start and exit, as an awk program that reads one
# strace -f -ttt log (lines: PID SECONDS CALL...) and prints, on one line,
# each phase's milliseconds in phaseNames' order ("-" for one that did not
# happen), then the whole. Each phase runs from one stamped call to the next:
phaseNames=(
	"nsenter (the bench's, in every case)"   # execve nsenter -> execve runtime
	"Go start-up, flags"                     # -> flock (reserve's lock)
	"reserve: lock, reclaim, record"         # -> write of bridge.json, or the clone
	"reserve: create the bridge"             # -> fork of iptables-save
	"reserve: iptables-save"                 # -> fork of iptables-restore
	"reserve: iptables-restore"              # -> its exit
	"reserve: bridge.json, /etc files"       # -> clone of the container
	"clone, exec of init"                    # -> execve /proc/self/exe
	"connect: veth pair, eth0"               # -> write of the ready byte
	"child: mounts, pivot_root"              # -> execve /bin/true
	"the command, /bin/true"                 # -> its exit_group
	"wait for the exit"                      # -> flock (release's lock)
	"release: lock, record, reclaim"         # -> fork of iptables-save, or exit
	"release: iptables-save"                 # -> fork of iptables-restore
	"release: iptables-restore"              # -> its exit
	"release: delete the bridge"             # -> write of ip_forward
	"release: ip_forward, state files"       # -> exit_group of the runtime
	"exit of the runtime"                    # -> the process is gone
)
# shellcheck disable=SC2016
phasesAwk='
function ms(from, to) { return (from && to) ? sprintf("%.2f", (to - from) * 1000) : "-" }
NR == 1 { main = $1; t0 = $2; next }                           # execve of nsenter
$1 == main && /execve\(/ && !tRun { tRun = $2 }
$1 == main && /flock\(.*LOCK_EX/ { if (!lock1) lock1 = $2; else if (!lock2) lock2 = $2 }
$1 == main && /clone\(/ && /CLONE_NEWPID/ { tClone = $2; next }
$1 == main && /clone\(/ && /CLONE_VFORK/ { fork = $2 }        # os/exec starting a program
$1 == main && /write\(/ && index($0, "{\\\"subnet\\\"") && lock1 && !tClone && !tBridge { tBridge = $2 }
/execve\("[^"]*iptables[^"]*-save"/ { if (!tClone) sSave = fork; else rSave = fork }
/execve\("[^"]*iptables[^"]*-restore"/ { restorer = $1; if (!tClone) sRestore = fork; else rRestore = fork }
$1 == restorer && /exit_group\(/ { if (!tClone) sRestored = $2; else rRestored = $2 }
/execve\("\/proc\/self\/exe"/ { child = $1; tInit = $2; next }
$1 == main && /write\(/ && index($0, "\"\\1\", 1)") && !tReady { tReady = $2 }
$1 == child && /execve\(/ && !tCmd { tCmd = $2 }
$1 == child && /exit_group\(/ { tCmdEnd = $2 }
$1 == main && /write\(/ && rRestored && !tForward { tForward = $2 }
$1 == main && /exit_group\(/ { tExit = $2 }
$1 == main && /\+\+\+ exited/ { tGone = $2 }
END {
	if (!sSave) tBridge = 0 # the bridge was up: that bridge.json was another write
	afterReserve = tBridge ? tBridge : tClone
	release = rSave ? rSave : tExit
	print ms(t0, tRun), ms(tRun, lock1), ms(lock1, afterReserve), ms(tBridge, sSave), ms(sSave, sRestore),
		ms(sRestore, sRestored), ms(sRestored, tClone), ms(tClone, tInit), ms(tInit, tReady), ms(tReady, tCmd),
		ms(tCmd, tCmdEnd), ms(tCmdEnd, lock2), ms(lock2, release), ms(rSave, rRestore), ms(rRestore, rRestored),
		ms(rRestored, tForward), ms(tForward, tExit), ms(tExit, tGone), ms(t0, tGone)
}'

# trace_phases OUT RUN...: runs RUN true $runs times under strace, in the
# bench's namespace, and appends each run's phases (phasesAwk) to OUT, and
# its wall time in microseconds to OUT.wall. --seccomp-bpf stops only the
# calls traced, not every call; following each new process still costs.
trace_phases() {
	local out=$1 i start end
	shift
	for ((i = 0; i < runs; i++)); do
		start=${EPOCHREALTIME/./}
		strace -f --seccomp-bpf -ttt -q -e trace=execve,clone,flock,write,exit_group -e signal=none \
			-o "$work/trace" nsenter --net="/run/netns/$netns" -- "$@" true >/dev/null 2>&1 9>&- ||
			{ echo "bench: failed under strace: $* true" >&2; exit 1; }
		end=${EPOCHREALTIME/./}
		echo $((end - start)) >>"$out.wall"
		awk "$phasesAwk" "$work/trace" >>"$out"
	done
}

# column_median FILE N: the median of column N of FILE, without the "-"s.
column_median() {
	awk -v n="$2" '$n != "-" {print $n}' "$1" | median | awk '$1 == "-" {print; next} {printf "%.1f\n", $1}'
}

phases() {
	local bin=bin/step04-net untraced_alone untraced_up untraced_none=-
	trace_phases "$work/alone" "$bin" run
	untraced_alone=$(median_ms "$bin" run true)
	start_keeper "$bin" run
	trace_phases "$work/up" "$bin" run
	untraced_up=$(median_ms "$bin" run true)
	stop_keeper
	# The third column: step 07 with --network none (no bridge phases),
	# everything else it does on the way, cgroups and overlay included.
	local none=(bin/step07-full run --rm --network none "$image")
	if [ -x bin/step07-full ]; then
		import_image
		trace_phases "$work/none" "${none[@]}"
		untraced_none=$(median_ms "${none[@]}" true)
	else
		touch "$work/none" "$work/none.wall"
	fi

	echo "tinyrun bench --phases: run true, $runs runs each under strace -f --seccomp-bpf, median ms per phase"
	echo "$(uname -sr), $(nproc) CPUs, $(strace -V | head -n 1), $(date -u +%Y-%m-%d)"
	printf '%-40s %10s %10s %10s\n' phase "04 alone" "04 br. up" "07 none"
	local i
	for i in "${!phaseNames[@]}"; do
		printf '%-40s %10s %10s %10s\n' "${phaseNames[$i]}" \
			"$(column_median "$work/alone" $((i + 1)))" "$(column_median "$work/up" $((i + 1)))" \
			"$(column_median "$work/none" $((i + 1)))"
	done
	local total=$((${#phaseNames[@]} + 1)) f
	printf '%-40s %10s %10s %10s\n' "traced, nsenter to exit" \
		"$(column_median "$work/alone" $total)" "$(column_median "$work/up" $total)" "$(column_median "$work/none" $total)"
	printf '%-40s' "traced, wall time of strace"
	for f in alone up none; do printf ' %10s' "$(median <"$work/$f.wall" | awk '$1 == "-" {print; next} {printf "%.1f", $1 / 1000}')"; done
	echo
	printf '%-40s %10s %10s %10s\n' "untraced, wall time" "$untraced_alone" "$untraced_up" "$untraced_none"
	kernel_alone
}

# kernel_alone times, without strace, what the kernel does for the slowest
# phases, with ip and iptables-restore alone in the bench's namespace, and
# prints the medians: each row minus the first is the kernel's and the
# command's own work.
kernel_alone() {
	local chain='*filter\n:TINYRUN-BENCH - [0:0]\nCOMMIT\n'
	local unchain='*filter\n:TINYRUN-BENCH - [0:0]\n-X TINYRUN-BENCH\nCOMMIT\n'
	local bridge='link add tinyrun-bench type bridge\naddr add 10.99.0.1/24 dev tinyrun-bench\nlink set tinyrun-bench up\n'
	echo "the same kernel work alone, untraced ($runs runs each, median ms):"
	printf '  %-54s %8s\n' "nsenter sh -c true (the harness)" "$(after_ms true true)"
	local nobridge='ip link del tinyrun-bench 2>/dev/null || true'
	local nochain="printf '$unchain' | iptables-restore -w --noflush 2>/dev/null || true"
	printf '  %-54s %8s\n' "ip -batch: add a bridge, its address, set it up" \
		"$(after_ms "$nobridge" "printf '$bridge' | ip -batch -")"
	printf '  %-54s %8s\n' "ip link del of that bridge" \
		"$(after_ms "$nobridge; printf '$bridge' | ip -batch -" "ip link del tinyrun-bench")"
	printf '  %-54s %8s\n' "ip link del of a veth pair" \
		"$(after_ms "ip link del tinyrun-bench 2>/dev/null; ip link add tinyrun-bench type veth peer name tinyrun-bench1" \
			"ip link del tinyrun-bench")"
	printf '  %-54s %8s\n' "iptables-restore --noflush: create an empty chain" \
		"$(after_ms "$nochain" "printf '$chain' | iptables-restore -w --noflush")"
	printf '  %-54s %8s\n' "iptables-restore --noflush: delete it" \
		"$(after_ms "printf '$chain' | iptables-restore -w --noflush" "printf '$unchain' | iptables-restore -w --noflush")"
	printf '  %-54s %8s\n' "iptables-save" "$(after_ms true "iptables-save >/dev/null")"
}

# after_ms PREPARE CMD: runs the shell commands PREPARE, untimed, then CMD,
# timed, $runs times in the bench's namespace; prints CMD's median in ms.
after_ms() {
	local times=() i start end
	for ((i = 0; i < runs; i++)); do
		in_netns sh -c "$1" || { echo "bench: failed: $1" >&2; exit 1; }
		start=${EPOCHREALTIME/./}
		in_netns sh -c "$2" || { echo "bench: failed: $2" >&2; exit 1; }
		end=${EPOCHREALTIME/./}
		times+=($((end - start)))
	done
	printf '%s\n' "${times[@]}" | median | awk '{printf "%.1f\n", $1 / 1000}'
}

"$mode"
