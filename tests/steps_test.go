package tests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// check is one behaviour a step promises, named after what the user sees.
type check struct {
	name  string
	since int    // the first step that must pass it; every later step must too
	hint  string // where to look when it fails
	run   func(t *testing.T, s step)
}

// checks is the specification of every step, in the order the steps add it.
var checks = []check{
	// step 01: UTS namespace, and the command line every step shares.
	{"HelpListsTheRunCommand", 1, "the program needs a 'run' command (a urfave/cli Command) and --help", checkHelpListsTheRunCommand},
	{"HostnameInsideIsTheOneAsked", 1, "the child (init) must call sethostname(2) with --hostname before it execs the command", checkHostnameInsideIsTheOneAsked},
	{"HostnameDoesNotLeakToHost", 1, "sethostname must run in the child, inside the new UTS namespace: is CLONE_NEWUTS in Cloneflags, and is the hostname set in init rather than in run?", checkHostnameDoesNotLeakToHost},
	{"DefaultHostnameIsNotTheHosts", 1, "without --hostname, give the container a name of its own (a random ID)", checkDefaultHostnameIsNotTheHosts},
	{"ContainerHasItsOwnUTSNamespace", 1, "add CLONE_NEWUTS to SysProcAttr.Cloneflags", namespaceCheck("uts")},
	{"OutputPassesThroughUntouched", 1, "give the child the runtime's own stdin, stdout and stderr, and print nothing around them", checkOutputPassesThroughUntouched},
	{"ExitStatusIsTheCommands", 1, "run must exit with the container's exit status (exec.ExitError's WaitStatus)", checkExitStatusIsTheCommands},
	{"KilledContainerExitsWith128PlusSignal", 1, "when a signal kills the container, exit with 128 + its number, as a shell does", checkKilledContainerExitsWith128PlusSignal},
	{"NoCommandIsAnError", 1, "'run' with no command must print one line saying so and exit non-zero", checkNoCommandIsAnError},
	{"UnknownFlagIsAnError", 1, "an unknown flag must give one line naming it (OnUsageError) and a non-zero exit", checkUnknownFlagIsAnError},
	{"MissingCommandExits127", 1, "when exec.LookPath fails in the child, print one line naming the command and exit 127", checkMissingCommandExits127},
	{"BadHostnameIsRejected", 1, "validate --hostname in the parent, before creating anything (at most 64 bytes, letters, digits, '-' and '.')", checkBadHostnameIsRejected},
	{"NonRootIsRefused", 1, "check os.Geteuid() before starting the container, and say that root is needed", checkNonRootIsRefused},
	{"BadInputIsOneClearLine", 1, "check every flag and argument before creating anything, and fail with status 125 and one line that names the bad value and what to do", checkBadInputIsOneClearLine},
	{"EnvironmentIsTheContainersOwn", 1, "exec the command with an environment of the container's own (PATH, HOSTNAME, HOME; TERM with a terminal), never os.Environ(), the runtime's", checkEnvironmentIsTheContainersOwn},
	{"InheritedDescriptorsStayOutside", 1, "first thing in main, mark every descriptor above stderr close-on-exec (unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)): Go does so for the files it opens, not for those the runtime inherited", checkInheritedDescriptorsStayOutside},
	{"ContainerHasASessionOfItsOwn", 1, "set SysProcAttr.Setsid: the container then starts a session of its own, without the user's terminal as its controlling terminal; relay Ctrl-C from the runtime like any other signal", checkContainerHasASessionOfItsOwn},

	// step 02: PID namespace.
	{"CommandIsPID1", 2, "add CLONE_NEWPID to Cloneflags: the child is then PID 1 of the new namespace", checkCommandIsPID1},
	{"ContainerHasItsOwnPIDNamespace", 2, "add CLONE_NEWPID to SysProcAttr.Cloneflags", namespaceCheck("pid")},
	{"SIGTERMReachesPID1", 2, "relay the signals the runtime receives (signal.Notify) to the container's process", signalCheck(unix.SIGTERM)},
	{"SIGINTReachesPID1", 2, "relay the signals the runtime receives (signal.Notify) to the container's process", signalCheck(unix.SIGINT)},
	{"ContainerDiesWithTheRuntime", 2, "set SysProcAttr.Pdeathsig so the container's PID 1 is killed when the runtime dies", checkContainerDiesWithTheRuntime},

	// step 03: mount and IPC namespaces, the root filesystem.
	{"ContainerHasItsOwnMountNamespace", 3, "add CLONE_NEWNS to SysProcAttr.Cloneflags", namespaceCheck("mnt")},
	{"ContainerHasItsOwnIPCNamespace", 3, "add CLONE_NEWIPC to SysProcAttr.Cloneflags", namespaceCheck("ipc")},
	{"PsShowsOnlyTheContainer", 3, "mount a new proc filesystem on /proc inside the container, after pivot_root", checkPsShowsOnlyTheContainer},
	{"RootIsTheRootfs", 3, "bind-mount the rootfs on itself, then pivot_root into it", checkRootIsTheRootfs},
	{"HostFilesAreUnreachable", 3, "after pivot_root, unmount the old root (umount2 with MNT_DETACH)", checkHostFilesAreUnreachable},
	{"ChrootEscapeStaysInside", 3, "chroot(2) is no jail: pivot_root into the rootfs and detach the old root (umount2 MNT_DETACH), so that chapter 03's escape climbs only to the container's own root", checkChrootEscapeStaysInside},
	{"OldRootIsDetached", 3, "after pivot_root, unmount the old root (umount2 with MNT_DETACH) so it is not in the container's mount table", checkOldRootIsDetached},
	{"HostMountsUnchangedWhileRunning", 3, "make every mount private (MS_REC|MS_PRIVATE on /) before mounting anything, so nothing propagates to the host", checkHostMountsUnchangedWhileRunning},
	{"WorksWhenHostRootIsShared", 3, "on a host whose / is shared (systemd's default), make / private with MS_REC|MS_PRIVATE before the bind mount and pivot_root, or pivot_root fails with EINVAL and mounts leak", checkWorksWhenHostRootIsShared},
	{"HostProcIsUntouched", 3, "mount proc only inside the container's own mount namespace, after pivot_root", checkHostProcIsUntouched},
	{"DevHasTheUsualDevices", 3, "mount a tmpfs on /dev and mknod null, zero, full, random, urandom and tty; mount devpts on /dev/pts and a tmpfs on /dev/shm", checkDevHasTheUsualDevices},
	{"SysIsReadOnly", 3, "mount sysfs on /sys with MS_RDONLY", checkSysIsReadOnly},
	{"CommandIsLookedUpInTheRootfs", 3, "look the command up after pivot_root, so that a host-only program (bash) is not found", checkCommandIsLookedUpInTheRootfs},
	{"MissingRootfsIsAnError", 3, "check --rootfs in the parent and say to run 'make rootfs'", checkMissingRootfsIsAnError},
	{"SymlinkedProcSysOrDevIsRefused", 3, "open /proc, /sys and /dev once, inside the root (openat2 with RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS), before mounting on them, and refuse in one line a root where one is not a real directory: mount(2) by path follows a symlink, which can send proc, and the masks over it, anywhere; then mount onto the descriptor you hold", checkSymlinkedProcSysOrDevIsRefused},

	// step 04: network namespace, bridge, NAT, published ports.
	{"ContainerHasItsOwnNetworkNamespace", 4, "add CLONE_NEWNET to SysProcAttr.Cloneflags", namespaceCheck("net")},
	{"Eth0HasAnAddressInTheSubnet", 4, "create a veth pair with one end on the bridge and the other, eth0, in the container; give eth0 an address of the subnet before the child goes on", checkEth0HasAnAddressInTheSubnet},
	{"LoopbackAndGatewayAnswer", 4, "bring lo up in the container, give the bridge the gateway address, and add a default route via it", checkLoopbackAndGatewayAnswer},
	{"NetworkFilesDescribeTheContainer", 4, "write hosts, hostname and resolv.conf per container and bind-mount them over the rootfs's /etc files", checkNetworkFilesDescribeTheContainer},
	{"NetworkFilesAreReadOnly", 4, "bind-mount hosts, hostname and resolv.conf read-only (mount_setattr with MOUNT_ATTR_RDONLY): they live in the host's /run", checkNetworkFilesAreReadOnly},
	{"ContainersReachEachOther", 4, "plug every container's veth into the same bridge", checkContainersReachEachOther},
	{"OutsideSeesTheHostsAddress", 4, "enable ip_forward and MASQUERADE the subnet's traffic leaving through another interface", checkOutsideSeesTheHostsAddress},
	{"PublishedPortAnswers", 4, "DNAT the host port to the container in PREROUTING (other machines) and OUTPUT (the host itself); 127.0.0.1 also needs route_localnet on the bridge and MASQUERADE of 127.0.0.0/8", checkPublishedPortAnswers},
	{"UnpublishedPortsAreUnreachableFromTheLAN", 4, "end the runtime's FORWARD chain with a DROP of what goes out to the bridge: only replies and published ports may enter it", checkUnpublishedPortsAreUnreachableFromTheLAN},
	{"ConcurrentContainersGetDistinctAddresses", 4, "allocate addresses under an exclusive lock (flock), so that two runtimes never take the same one", checkConcurrentContainersGetDistinctAddresses},
	{"NetworkNoneHasOnlyLoopback", 4, "with --network none, create the namespace and bring up only lo", checkNetworkNoneHasOnlyLoopback},
	{"BadNetworkFlagsAreErrors", 4, "check -p, --network and --subnet before anything is created, with one line naming the bad value", checkBadNetworkFlagsAreErrors},
	{"PortInUseIsAnError", 4, "before starting, refuse a host port that a program listens on or another container publishes", checkPortInUseIsAnError},
	{"FullSubnetIsAnError", 4, "when every address of the subnet is leased, say so and start nothing", checkFullSubnetIsAnError},
	{"MissingIptablesIsAClearError", 4, "name the iptables commands tried and what to install; undo the bridge set up before the failure", checkMissingIptablesIsAClearError},
	{"KilledRuntimeIsCleanedUpByTheNextRun", 4, "leases name their runtime (PID and start time); reclaim those whose runtime is gone, with their rules, and remove the bridge with the last container", checkKilledRuntimeIsCleanedUpByTheNextRun},
	{"RuntimeKilledAtAnyPhaseIsReclaimed", 4, "write the container's record (state.json) before making what it describes, and let the next run and cleanup tear down every record whose runtime is gone (PID and start time): its address, rules, cgroup and layer", checkRuntimeKilledAtAnyPhaseIsReclaimed},
	{"ReusedNetworkNamespaceInheritsNothing", 4, "key the bridge's state by something the kernel never gives two network namespaces (the inode and SO_NETNS_COOKIE), and drop the state of a namespace that is gone", checkReusedNetworkNamespaceInheritsNothing},
	{"FirewallChangesInOneBatchEachWay", 4, "write the runtime's chains whole, as one iptables-restore --noflush input, only when they change; iptables-save only when the bridge comes or goes", checkFirewallChangesInOneBatchEachWay},

	// step 05: cgroups.
	{"MemoryHogIsOOMKilled", 5, "write -m to memory.max (v2) or memory.limit_in_bytes and memory.memsw.limit_in_bytes (v1); after the container exits, read oom_kill from memory.events or memory.oom_control and say so", checkMemoryHogIsOOMKilled},
	{"MemoryWithinTheLimitSucceeds", 5, "a limit above what the command needs must not get in its way", checkMemoryWithinTheLimitSucceeds},
	{"ForkBombStopsAtThePidsLimit", 5, "write --pids-limit to pids.max, and put the container's PID 1 in the cgroup before it runs anything", checkForkBombStopsAtThePidsLimit},
	{"CPUQuotaIsHalfACPU", 5, "--cpus 0.5 is a quota of 50000 µs per 100000 µs: cpu.max on v2, cpu.cfs_quota_us and cpu.cfs_period_us on v1", checkCPUQuotaIsHalfACPU},
	{"CpusetPinsToCPU0", 5, "write --cpuset-cpus to cpuset.cpus; on v1 copy cpuset.mems (and the parent's cpus and mems) first", checkCpusetPinsToCPU0},
	{"BadLimitsAreErrors", 5, "check every limit before creating anything, and say which value is wrong", checkBadLimitsAreErrors},
	{"LimitsHoldInTheContainersOwnCgroupFromTheStart", 5, "write each limit in the container's own cgroup, tinyrun/ID, never the shared parent, and put the child in it before it is let go to run its command", checkLimitsHoldInTheContainersOwnCgroupFromTheStart},
	{"SwapIsNotAllowedBeyondTheLimit", 5, "with -m, write the limit to memory.memsw.limit_in_bytes too (v1: memory and swap together), or 0 to memory.swap.max (v2: swap alone), after memory.limit_in_bytes or memory.max", checkSwapIsNotAllowedBeyondTheLimit},
	{"PlainKillIsNotReportedAsOOM", 5, "report an OOM kill only when the cgroup's oom_kill counter (memory.events, memory.oom_control) says the OOM killer acted, not for every SIGKILL", checkPlainKillIsNotReportedAsOOM},

	// step 06: images and overlayfs.
	{"WritesDoNotChangeTheImage", 6, "mount an overlay with the image's layers as lowerdir and a per-container upperdir and workdir, and pivot_root into it", checkWritesDoNotChangeTheImage},
	{"UpperDirHoldsChangesAndWhiteouts", 6, "the container's upperdir is /var/lib/tinyrun/containers/ID/upper: overlayfs copies changed files there and marks deletions with whiteouts", checkUpperDirHoldsChangesAndWhiteouts},
	{"TwoLayerImageShowsTheUpperVersion", 6, "lowerdir lists the layers top first: the last layer of the image goes first", checkTwoLayerImageShowsTheUpperVersion},
	{"VolumesPersistAndRoRefusesWrites", 6, "bind-mount -v HOST:CTR before pivot_root; for :ro remount the bind mount with MS_RDONLY", checkVolumesPersistAndRoRefusesWrites},
	{"BadImportsAreRefused", 6, "refuse tar entries with an absolute name, a .. component, or a symlink among their parents, and remove the half-made layer", checkBadImportsAreRefused},
	{"ImportNeverWritesThroughSymlinks", 6, "before creating an entry, remove what an earlier entry left at its path (a symlink could lead anywhere): never open, chmod or chown through it", checkImportNeverWritesThroughSymlinks},
	{"RmiRefusesAnImageInUse", 6, "record each container's image, and refuse to remove an image a live container uses", checkRmiRefusesAnImageInUse},
	{"DeviceNodesAreSkippedWithANote", 6, "skip character and block devices in a tarball, saying so on stderr", checkDeviceNodesAreSkippedWithANote},
	{"ImportNameClashIsAnError", 6, "refuse to import under the name of an existing image", checkImportNameClashIsAnError},
	{"BadVolumesAreErrors", 6, "check -v before creating anything: absolute paths, an existing host path, HOST:CTR[:ro]", checkBadVolumesAreErrors},
	{"ImportsAndRunsAtOnceAllSucceed", 6, "extract an import outside the state lock, into a directory of its own, and rename it into place under the lock; look the image up under the lock in run", checkImportsAndRunsAtOnceAllSucceed},
	{"ImageStoreIsPrivate", 6, "create /var/lib/tinyrun with mode 0700: other users of the host must not reach the layers, nor a setuid program a container leaves in its upper directory", checkImageStoreIsPrivate},
	{"ImportKeepsSetuidSetgidAndSticky", 6, "tar's mode has the Unix bits (04000, 02000, 01000): convert with hdr.FileInfo().Mode(), and chmod after chown", checkImportKeepsSetuidSetgidAndSticky},
	{"RoVolumeIsReadOnlyAllTheWayDown", 6, "make a :ro volume read-only with mount_setattr(2), MOUNT_ATTR_RDONLY and AT_RECURSIVE: a remount changes only the top mount and clears nosuid and nodev", checkRoVolumeIsReadOnlyAllTheWayDown},
	{"VolumeMountPointNeverWritesTheHost", 6, "resolve each volume's mount point once, inside the root, with openat2 RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS, and keep the descriptor: create what is missing relative to its parent's descriptor (mkdirat, openat O_CREAT|O_EXCL|O_NOFOLLOW), never by name after an Lstat, which a container sharing the volume can answer with a file and then replace with a symlink to the host", checkVolumeMountPointNeverWritesTheHost},
	{"NestedVolumeStaysInsideTheContainer", 6, "mount each volume onto the descriptor of its mount point, opened once with openat2 RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS: open_tree(OPEN_TREE_CLONE|AT_RECURSIVE) of the source, then move_mount with MOVE_MOUNT_T_EMPTY_PATH (or fsopen/fsmount/move_mount); mount(2) by path follows a symlink swapped in after the check, out of the container", checkNestedVolumeStaysInsideTheContainer},
	{"RoVolumeStaysReadOnlyWhileRaced", 6, "set a volume's attributes (MOUNT_ATTR_RDONLY; nodev in step 07) with mount_setattr(2) on the detached mount that open_tree(OPEN_TREE_CLONE) gives, before move_mount attaches it: set by path after the mount, they can land on another volume swapped in between", checkRoVolumeStaysReadOnlyWhileRaced},

	// step 07: the complete runtime.
	{"DetachedServerIsServedListedAndLogged", 7, "run -d starts a monitor (the same binary, 'monitor ID') that owns the container, writes its stdout and stderr to a log, and records its exit; run prints the ID once the command runs. ps reads the records (state, address, ports); logs prints the log; stop sends SIGTERM, then SIGKILL after -t seconds, and returns once the monitor has recorded the exit; rm tears down what the record describes", checkDetachedServerIsServedListedAndLogged},
	{"ExecSeesTheContainersNetworkLimitAndVolume", 7, "exec must join the container where it lives: setns(2) into its mount and network namespaces (so it sees the volume and eth0), and write its PID to the container's cgroup.procs before it execs the command; refuse a container whose record says it has exited", checkExecSeesTheContainersNetworkLimitAndVolume},
	{"ExecJoinsEveryNamespace", 7, "setns(2) into the mount, UTS, IPC, network and PID namespaces of the container's first process (/proc/PID/ns/*) before the Go runtime starts threads (a cgo constructor, as runc's nsexec does); CLONE_NEWPID only applies to children, so fork once more after it", checkExecJoinsEveryNamespace},
	{"CommitMakesAnImageWithTheChanges", 7, "commit the container's upper directory as a new layer on top of its image's layers, and keep its whiteouts (deleted files) as whiteouts in the layer; the base image never changes", checkCommitMakesAnImageWithTheChanges},
	{"InteractiveShellOnAPseudoTerminal", 7, "with -t, give the container a new pseudo-terminal (its slave as stdin, stdout and stderr, and its controlling terminal: setsid, TIOCSCTTY), put the user's terminal in raw mode and copy both ways, so that Ctrl-C reaches the container's foreground process; restore the terminal and exit with the container's status; exec -t the same way", checkInteractiveShellOnAPseudoTerminal},
	{"FiftyConcurrentRunsAndRemoves", 7, "every change to the records (a new ID, a name, an address) and every teardown happens under the state lock, held briefly, never while a container starts or stops", checkFiftyConcurrentRunsAndRemoves},
	{"MonitorSpeaksNoEnvironment", 7, "exec the waiter as 'monitor --wait PID ID' and the end as 'monitor --status STATUS ID' (the C constructor reads argc and argv), with no TINYRUN_ variable; once run -d has its 'started', dup2 monitor.log of the container's directory over the monitor's stderr, not /dev/null", checkMonitorSpeaksNoEnvironment},
	{"MonitorHasACgroupOfItsOwn", 7, "under the lock, in reserve, make tinyrun/ID-monitor in the memory and pids hierarchies (record it first), and write the monitor's own PID to its cgroup.procs right before the container's join; at its end the monitor steps out into the hierarchy's root before the cgroup is removed with the container's", checkMonitorHasACgroupOfItsOwn},
	{"KilledMonitorLeavesAnExitedContainer", 7, "give the container's first process a parent-death signal (Pdeathsig) from its monitor; ps reports a container whose monitor is gone (PID and start time) as exited, and rm tears it down", checkKilledMonitorLeavesAnExitedContainer},
	{"BadInputForEveryCommandIsOneClearLine", 7, "every command checks its arguments, and the container they name (ID, unique prefix or name), before it changes anything, and fails with status 125 and one line saying what is wrong and what to do", checkBadInputForEveryCommandIsOneClearLine},
	{"NetworksKeepTheirContainersApart", 7, "network create writes a network's definition (a subnet, a bridge of its own); run --network NAME plugs the container into that bridge, and the firewall drops what one bridge forwards to another; network rm refuses a network that a running container uses", checkNetworksKeepTheirContainersApart},
	{"NetworkCommandsRefuseBadInput", 7, "network create refuses a name taken or not a network's, a subnet that is not private or overlaps another network's; run refuses an unknown --network and a --subnet beside it: one line, status 125, nothing made", checkNetworkCommandsRefuseBadInput},
	{"DamagedRecordDoesNotBreakPs", 7, "when a record cannot be read, ps says which file on stderr and goes on listing the others", checkDamagedRecordDoesNotBreakPs},
	{"DamagedRecordDoesNotStopRuns", 7, "reclaim, which run does first, goes past a record it cannot read (keeping it, as a record that holds nothing known) instead of failing every run; cleanup names it in one line and says what to do", checkDamagedRecordDoesNotStopRuns},
	{"UserLookupNeverOpensAFifo", 7, "look -u up in the image's files and the volumes by descriptor: open with O_PATH inside the layer or volume (openat2 RESOLVE_IN_ROOT), fstat, and read only a regular file (reopened through /proc/self/fd): opened for reading, a FIFO blocks run under the state lock, and a device node is opened on the host", checkUserLookupNeverOpensAFifo},
	{"CreateWaitsForStart", 7, "create is run -d stopping at created: init does all its setup, says created, then blocks opening a FIFO of the container's directory (passed as a descriptor, reopened through /proc/self/fd after pivot_root) just before execve; start opens it for reading, reads init's byte and removes it; a container is created while its PID 1 runs and the FIFO is there", checkCreateWaitsForStart},
	{"LifecycleRefusesInTheWrongState", 7, "read a container's status from its PID 1 (by PID and start time), not from its owner; keep in one table which states each command may act in (exec and kill: running; rm: stopped, or any with -f; stop: running, or stopped with nothing to do), and refuse in one line; a stopped container whose owner is still recording its end is waited for, not reported running", checkLifecycleRefusesInTheWrongState},
	{"KilledWhileReleasingIsReleased", 7, "in ended, save the exit first, then give back the cgroup and the network namespace (giveBack) and save again; a record is released only when it has an exit and holds neither: reclaim ends every record whose owner is gone and that is not released, keeping an exit already recorded", checkKilledWhileReleasingIsReleased},
	{"CtrlCAbortsAHangingStart", 7, "until init's command runs, let the first signal caught kill init (abortOnSignal), so that the wait on its channel ends in an error; run then undoes the start as after any failure, and says in one line that the start was interrupted", checkCtrlCAbortsAHangingStart},
	{"CommitFreezesTheContainer", 7, "commit freezes a running container while it copies its upper directory (v2: write 1 to cgroup.freeze and wait for 'frozen 1' in cgroup.events; v1: make the container's cgroup in the freezer hierarchy too, write FROZEN to freezer.state and wait until it reads FROZEN), then thaws it; whatever kills a container thaws it first", checkCommitFreezesTheContainer},
	{"KilledBeforeStartLeavesNothing", 7, "a created container is one whose init waits on exec.fifo: when its init dies (the monitor's waiter reaps it and records 137) or its monitor dies (init dies too, by the parent-death signal, and reclaim records 137), it is exited, and rm takes everything back", checkKilledBeforeStartLeavesNothing},
	{"LayerWithoutRecordIsReclaimed", 7, "records live in /run, which a reboot empties, and layers and logs in /var/lib: under the lock, reclaim removes (unmount, then RemoveAll) every layer directory of /var/lib/tinyrun/containers that no record names", checkLayerWithoutRecordIsReclaimed},
	{"DefaultContainerRefusesEveryAttack", 7, "give root in the container Docker's default capabilities without MKNOD (drop the others from the bounding set with PR_CAPBSET_DROP, then capset permitted, effective and inheritable), install a seccomp filter (classic BPF, an allow-list answering SECCOMP_RET_ERRNO with EPERM to the rest) that refuses the calls that change the kernel or make namespaces, mask and bind read-only the host's files in /proc, and mount the rootfs nodev", checkDefaultContainerRefusesEveryAttack},
	{"KernelFilesAreMaskedOrReadOnly", 7, "once /proc and /sys are mounted, bind /dev/null over each masked file (/proc/kcore, /proc/keys, /proc/timer_list ...), mount an empty read-only tmpfs over each masked directory (/proc/acpi, /sys/firmware ...), and bind each read-only path (/proc/sys, /proc/sysrq-trigger, /proc/bus, /proc/fs, /proc/irq) onto itself and remount it read-only", checkKernelFilesAreMaskedOrReadOnly},
	{"SecurityOptNoNewPrivilegesAndSeccompUnconfined", 7, "--security-opt no-new-privileges: prctl(PR_SET_NO_NEW_PRIVS, 1) before the execve; --security-opt seccomp=unconfined: install no filter, and keep dropping the capabilities as always", checkSecurityOptNoNewPrivilegesAndSeccompUnconfined},
	{"SeccompDefaultIsDockersAllowList", 7, "make the default filter an allow-list: defaultAction SCMP_ACT_ERRNO (EPERM) and Docker's default profile's rules, resolved for the capabilities the container keeps (mbind only with CAP_SYS_NICE), less the calls tinyrun refuses beyond Docker (clock_adjtime without CAP_SYS_TIME; the keyrings and io_uring, whatever the profile says); seccomp=unconfined lets them all through", checkSeccompDefaultIsDockersAllowList},
	{"SeccompRefusesThe32BitDoor", 7, "test seccomp_data.arch before the number: a call made through int $0x80 is numbered in i386's table (mbind is 274 there, 237 on amd64), and tinyrun has no i386 table, so the filter kills the process (SECCOMP_RET_KILL_PROCESS) for any architecture but its own", checkSeccompRefusesThe32BitDoor},
	{"DockersOwnProfileLoads", 7, "--security-opt seccomp=FILE: read Docker's JSON profile (names, archMap, includes and excludes by capability, architecture and minKernel), resolve it for the container's capabilities into linux.seccomp, and compile it like the default: every operator on both 32-bit halves of an argument, a return right after each rule's test (a conditional jump reaches 255 instructions at most), names of other architectures skipped", checkDockersOwnProfileLoads},
	{"PrivilegedContainerHasTheHostsCapabilities", 7, "--privileged keeps every capability of the runtime's own bounding set, installs no seccomp filter, and masks nothing", checkPrivilegedContainerHasTheHostsCapabilities},
	{"UserFlagRunsAsThatUserWithoutCapabilities", 7, "-u USER[:GROUP]: look the user up in the container's /etc/passwd, and its groups in /etc/group (members listed by exact name), after the mounts; then setgroups, setgid, setuid, in that order, just before the execve (setuid away from 0 clears the permitted and effective capabilities); exec -u the same way", checkUserFlagRunsAsThatUserWithoutCapabilities},
	{"CapAddAndCapDropChangeTheCapabilities", 7, "--cap-add and --cap-drop take a name with or without CAP_, in any case, or ALL: start from the defaults, drop, then add; refuse MKNOD (tinyrun keeps no device policy) and unknown names with one line and status 125, before creating anything", checkCapAddAndCapDropChangeTheCapabilities},
	{"ExecRunsUnderTheContainersRestrictions", 7, "record the container's capabilities, no-new-privileges and seccomp choice, and apply them in exec's joined process, just before its execve, as init does", checkExecRunsUnderTheContainersRestrictions},
	{"WorkdirCannotLeadOutOfTheContainer", 7, "after chdir into -w, ask getcwd(2) where that is: outside the container's root the kernel has no path for it (ENOENT, or '(unreachable)'); refuse it with status 125; run exec's -w the same way", checkWorkdirCannotLeadOutOfTheContainer},
	{"RuntimeBinaryCannotBeOverwrittenFromInside", 7, "start init and exec's joined process from a copy of the binary that cannot be written, never from its path on the host: the binary on a read-only mount of its own (open_tree with OPEN_TREE_CLONE, mount_setattr with MOUNT_ATTR_RDONLY, then execveat of that descriptor), or a sealed memfd; a container's /proc/PID/exe of a runtime process then leads to a file it cannot open for writing even once nothing runs it (CVE-2019-5736)", checkRuntimeBinaryCannotBeOverwrittenFromInside},
	{"UserContainerDiesWithTheRuntime", 7, "setuid(2) away from root clears the parent-death signal: read it (PR_GET_PDEATHSIG) before the user changes and set it again after (PR_SET_PDEATHSIG), as runc does", checkUserContainerDiesWithTheRuntime},
	{"NoRuntimeDescriptorReachesTheContainer", 7, "open every file O_CLOEXEC and mark inherited descriptors close-on-exec first thing (close_range); in exec's joined process too, and the descriptor of the binary the runtime starts from", checkNoRuntimeDescriptorReachesTheContainer},
	{"ExecIgnoresAFakeCapLastCap", 7, "find the last capability by asking the kernel (prctl PR_CAPBSET_READ fails with EINVAL past it), never by reading /proc/sys/kernel/cap_last_cap: exec runs in the root of the container's PID 1, which can chroot into a directory where that path is a file saying 0", checkExecIgnoresAFakeCapLastCap},
	{"ProcStaysMaskedWhileRaced", 7, "refuse an image whose /proc, /sys or /dev is not a real directory (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS); mount proc onto the descriptor of /proc (fsopen/fsmount/move_mount), and mask and make read-only its files relative to that mount, never by looking '/proc/...' up again", checkProcStaysMaskedWhileRaced},
	{"WorkdirIsNeverMadeThroughAMagicLink", 7, "walk -w once from a descriptor of the root, a part at a time, with openat2 RESOLVE_NO_MAGICLINKS (an image's symlink may be followed, /proc/self/fd/N may not), making each missing directory with mkdirat relative to its parent's descriptor, then fchdir to the last descriptor: a check of the path followed by MkdirAll and chdir by name resolves it again, through whatever was swapped in; exec's -w too", checkWorkdirIsNeverMadeThroughAMagicLink},
	{"CommitNeverCopiesHostFiles", 7, "walk the container's upper directory by descriptors: openat with O_NOFOLLOW (O_DIRECTORY for directories) relative to the parent's descriptor, fstat what was opened, read directories and copy files from those descriptors; WalkDir, Lstat and os.Open by path follow a symlink the running container swaps in", checkCommitNeverCopiesHostFiles},
	{"ConfigIsAnOCISpec", 7, "make one specs.Spec (runtime-spec v1.2.1) of the flags, the image and the defaults, and let everything else follow from it: 'run --dry-run' prints it (json.MarshalIndent) and makes nothing; a real run writes it as config.json in /run/tinyrun/containers/ID before init starts. root.path is /var/lib/tinyrun/containers/ID/merged; the mounts are /proc, /dev, /dev/pts, /dev/shm, /sys (ro), the network files of the container's directory, then each volume (rbind, nodev, ro for :ro); the namespaces pid, network (joined by its path, /run/tinyrun/containers/ID/netns, which run makes and pins before init starts), ipc, uts and mount; -m is linux.resources.memory.limit; cgroupsPath is /tinyrun/ID", checkConfigIsAnOCISpec},
	{"DryRunFollowsTheRunFlags", 7, "each run flag is a field of the spec: -u NAME the uid and gid of the image's /etc/passwd, -w process.cwd, --cpus linux.resources.cpu's quota over a period of 100000, --cpuset-cpus cpu.cpus, --pids-limit pids.limit, no-new-privileges process.noNewPrivileges; seccomp=unconfined leaves linux.seccomp out, --privileged also the masked and read-only paths", checkDryRunFollowsTheRunFlags},
	{"RuncRunsTinyrunsBundle", 7, "runc, run on tinyrun's own config.json, made another container than tinyrun did: carry out every field as the spec says, from the spec alone (the options of each kernel mount as mount attributes: ro, nosuid, nodev, noexec, strictatime; the capability sets; the seccomp profile; noNewPrivileges). runc missing? apt-get install runc (sudo make deps)", checkRuncRunsTinyrunsBundle},
	{"RuntimeVerbsAsRuncHasThem", 7, "tinyrun runtime create --bundle DIR --pid-file FILE ID: read config.json strictly, make the container as run does but with no parent-death signal, write the pid file atomically once init says created, and exit (the caller, a subreaper, adopts init); start opens exec.fifo; state prints specs.State (pid only while created or running); kill signals by pidfd; delete removes the cgroup and the record; each verb asks the lifecycle table first, as runc refuses start twice, kill when stopped and delete when running", checkRuntimeVerbsAsRuncHasThem},
	{"RuntimeJoinsANamespaceByPath", 7, "a linux.namespaces entry with a path is joined, not made: leave its flag out of clone(2), and in init, before any mount, open the path and setns(2) into it with the type's CLONE_NEW* flag (the main thread is locked, and it is the one that execs)", checkRuntimeJoinsANamespaceByPath},
	{"EnvValuesNeverInArgvOrHostEnviron", 7, "send the spec to init, and exec's process to its helper, over the socketpair: never as arguments or environment variables of a runtime process (monitor, init, exec's helper); -e's values reach only the command, through execve's environment, inside the container", checkEnvValuesNeverInArgvOrHostEnviron},
}

// partedStep is the step whose exercise comes in parts
// (scripts/exercise/exercises.txt): make check STEP=7 PART=3 runs, with
// -part, the checks checkParts gives part 3, and no other.
const partedStep = "step07-full"

// checkParts sorts step 07's checks into the parts of its exercise. A check
// goes to a part whose TODOs it grades; a check of code that no part leaves
// TODO, to the part of docs/07-full.md that teaches that code. "security"
// is chapter 08's defences. TestEachStep07CheckHasOnePart keeps the table
// whole, and TestExerciseSkeletons shows each part's skeleton failing its
// part's checks.
var checkParts = map[string][]string{
	// The spec and the bundle: nothing to write.
	"1": {"ConfigIsAnOCISpec", "DryRunFollowsTheRunFlags", "RuncRunsTinyrunsBundle"},
	// The runtime alone, and the record and its states: nothing to write.
	"2": {"RuntimeVerbsAsRuncHasThem", "RuntimeJoinsANamespaceByPath", "DamagedRecordDoesNotBreakPs",
		"DamagedRecordDoesNotStopRuns", "LayerWithoutRecordIsReclaimed", "KilledWhileReleasingIsReleased",
		"CtrlCAbortsAHangingStart"},
	// The monitor: its log, its arguments on stdin, create's --create-only.
	"3": {"DetachedServerIsServedListedAndLogged", "MonitorSpeaksNoEnvironment", "KilledMonitorLeavesAnExitedContainer",
		"CreateWaitsForStart", "EnvValuesNeverInArgvOrHostEnviron", "MonitorHasACgroupOfItsOwn",
		"KilledBeforeStartLeavesNothing"},
	// exec, stop and rm, and the refusals of the lifecycle table.
	"4": {"ExecSeesTheContainersNetworkLimitAndVolume", "ExecJoinsEveryNamespace", "InteractiveShellOnAPseudoTerminal",
		"FiftyConcurrentRunsAndRemoves", "BadInputForEveryCommandIsOneClearLine", "LifecycleRefusesInTheWrongState"},
	// commit's copy; the networks, which are given.
	"5": {"CommitMakesAnImageWithTheChanges", "CommitNeverCopiesHostFiles", "CommitFreezesTheContainer", "NetworksKeepTheirContainersApart",
		"NetworkCommandsRefuseBadInput"},
	"security": {"DefaultContainerRefusesEveryAttack", "KernelFilesAreMaskedOrReadOnly",
		"SecurityOptNoNewPrivilegesAndSeccompUnconfined", "SeccompDefaultIsDockersAllowList", "SeccompRefusesThe32BitDoor",
		"DockersOwnProfileLoads", "PrivilegedContainerHasTheHostsCapabilities", "UserFlagRunsAsThatUserWithoutCapabilities",
		"CapAddAndCapDropChangeTheCapabilities", "ExecRunsUnderTheContainersRestrictions",
		"WorkdirCannotLeadOutOfTheContainer", "RuntimeBinaryCannotBeOverwrittenFromInside",
		"UserContainerDiesWithTheRuntime", "NoRuntimeDescriptorReachesTheContainer", "ExecIgnoresAFakeCapLastCap",
		"ProcStaysMaskedWhileRaced", "WorkdirIsNeverMadeThroughAMagicLink", "UserLookupNeverOpensAFifo"},
}

// graded says whether TestSteps runs check c on step s: every check since
// an earlier step, and with -part only the part's own.
func graded(c check, s step) bool {
	if *partFlag != "" {
		return c.since == s.number && contains(checkParts[*partFlag], c.name)
	}
	return c.since <= s.number
}

// TestSteps runs, for every step under test, every check that step must
// pass, or with -part the checks of one part of its exercise.
func TestSteps(t *testing.T) {
	for _, s := range stepsUnderTest {
		s := s
		t.Run(s.name, func(t *testing.T) {
			for _, c := range checks {
				if !graded(c, s) {
					continue
				}
				var v verdict
				passed := t.Run(c.name, func(t *testing.T) { runCheck(t, c, s, &v) })
				if !v.ran {
					continue // left out by go test -run: not a pass
				}
				hint := c.hint
				if v.hint != "" {
					hint = v.hint // said by the check, from what it saw
				}
				if m := notImplemented.FindStringSubmatch(v.lastRun); v.checkFailed && m != nil {
					hint = "the run stopped at " + m[1] + ", a TODO not written yet: write it first; then this check wants: " + hint
				} else if v.checkFailed && strings.Contains(v.lastRun, "/proc/") && !procMounted(s) {
					hint = "this check reads /proc in the container, where there is none (test -e /proc/self/stat fails): mount proc on /proc after pivot_root (mountProc); if it still fails after that: " + hint
				}
				if v.leak == "" {
					record(outcome{step: s, check: c.name, passed: passed, hint: hint, lastRun: v.lastRun})
					continue
				}
				// What a check left on the host is graded on its own line:
				// the check's own verdict stays its own, and each object
				// left is named once, with what removes it.
				record(outcome{step: s, check: c.name, passed: !v.checkFailed, hint: hint, lastRun: v.lastRun})
				record(outcome{step: s, check: c.name + "/LeavesTheHostAsFound", passed: false, hint: leftoverHint(v.leak)})
			}
		})
	}
}

// notImplemented finds, in a run's stderr, the TODO of a workshop skeleton
// that stopped it (scripts/exercise).
var notImplemented = regexp.MustCompile(`not implemented: (\w+)`)

// procMountedIn caches procMounted, per step binary.
var procMountedIn = map[string]bool{}

// procMounted says whether the step's containers have a /proc: without
// one, every check that reads /proc fails, whatever it checks, and its
// own hint would point elsewhere. Up to step 02 the container sees the
// host's.
func procMounted(s step) bool {
	if s.number < 3 {
		return true
	}
	if mounted, known := procMountedIn[s.bin]; known {
		return mounted
	}
	argv := s.argv(s.runArgs([]string{"--network", "none"}, "test", "-e", "/proc/self/stat")...)
	if s.number < 4 {
		argv = s.argv(s.runArgs(nil, "test", "-e", "/proc/self/stat")...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	err := exec.CommandContext(ctx, argv[0], argv[1:]...).Run()
	var exitErr *exec.ExitError
	mounted := !(errors.As(err, &exitErr) && exitErr.ExitCode() == 1) // test's "no"; anything else: no verdict
	procMountedIn[s.bin] = mounted
	return mounted
}

// checkBaseline is the snapshot of the host taken as the running check began.
var checkBaseline snapshot

// verdict says why a check failed: its own test, or what it left on the host.
type verdict struct {
	ran         bool
	checkFailed bool
	leak        string
	lastRun     string // the last run of the step binary, summed up (runner_test.go)
	hint        string // a hint the check chose from what it saw (hintFromFailure), or ""
}

// checkHint is the hint the running check chose (hintFromFailure).
var checkHint atomic.Value

// hintFromFailure replaces the running check's hint with one that follows
// from what it saw: a check that reads /proc/self/ns in the container should
// not say "add CLONE_NEWUTS" when /proc itself is missing.
func hintFromFailure(hint string) { checkHint.Store(hint) }

// runCheck runs one check and fails it if the host is not as it was before.
func runCheck(t *testing.T, c check, s step, v *verdict) {
	v.ran = true
	before, err := takeSnapshot()
	if err != nil {
		t.Fatalf("snapshot the host: %v", err)
	}
	checkBaseline = before
	hostname := before.parts["hostname"][0]
	t.Cleanup(func() {
		if changed := restoreHostname(t, hostname); changed != "" {
			v.leak = changed
		}
		if diff := hostChanges(before); diff != "" {
			t.Errorf("the host is not as the check found it:\n%s", diff)
			v.leak += diff
		}
	})
	lastRun.Store("")
	checkHint.Store("")
	// Deferred, so that it runs after a t.Fatal in the check too.
	defer func() {
		v.checkFailed = t.Failed()
		v.lastRun, _ = lastRun.Load().(string)
		v.hint, _ = checkHint.Load().(string)
	}()
	c.run(t, s)
}

// hostChanges is what differs on the host from before, once it has settled
// (diffSettled). A nested run grades a skeleton for TestExerciseSkeletons,
// which reads each check's own verdict and not what the check left: there
// it compares at once, without waiting up to 3 s for a leftover to go.
func hostChanges(before snapshot) string {
	if !*nestedFlag {
		return before.diffSettled()
	}
	after, err := takeSnapshot()
	if err != nil {
		return err.Error()
	}
	return before.diff(after)
}

// restoreHostname puts the host's hostname back if a broken step changed it,
// so that one failure does not spoil the host for the next check, and
// returns what changed ("" if nothing).
func restoreHostname(t *testing.T, want string) string {
	got := hostHostname(t)
	if got == want {
		return ""
	}
	changed := fmt.Sprintf("  the host's hostname changed from %q to %q (now restored)", want, got)
	t.Error(changed)
	if err := unix.Sethostname([]byte(want)); err != nil {
		t.Errorf("restore the host's hostname %q: %v", want, err)
	}
	return changed
}

// namespaceCheck returns a check that the container's namespace of kind
// (a name in /proc/self/ns) is not the host's.
func namespaceCheck(kind string) func(t *testing.T, s step) {
	return func(t *testing.T, s step) {
		host := readLink(t, "/proc/self/ns/"+kind)
		r := s.runContainer(t, nil, "readlink", "/proc/self/ns/"+kind)
		if r.status != 0 {
			t.Fatalf("readlink /proc/self/ns/%s in the container: %v", kind, r)
		}
		if got := trimLine(r.stdout); got == host {
			t.Errorf("the container's %s namespace is the host's (%s): want a new one", kind, host)
		}
	}
}

func readLink(t *testing.T, path string) string {
	t.Helper()
	target, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// trimLine returns s without its final newline.
func trimLine(s string) string { return strings.TrimSuffix(s, "\n") }
