//go:build amd64 || arm64

// Seccomp: a filter the kernel runs on every system call the container
// makes, written as classic BPF (man 2 seccomp, "Filters"), without
// libseccomp: the program is small enough to read.
//
// The filter is the spec's linux.seccomp (spec.go): seccompOf writes
// tinyrun's default there, and filterProgram compiles whatever it says.
// The default refuses, with EPERM, the calls of refusedCalls: each acts on the whole
// machine, or has been the way out of containers before. The capabilities
// confine leaves already stop most of them; the filter is the second wall,
// for the day a kernel bug skips a capability check, and it also stops
// what no capability guards: the kernel keyrings, io_uring (whose
// operations would bypass this very filter). As in Docker's default profile, a call is
// let through again when root keeps the capability that guards it
// (--cap-add SYS_TIME lets the clock be set).
//
// The default, as the spec says it:
//
//	defaultAction SCMP_ACT_ALLOW
//	each call of refusedCalls: SCMP_ACT_ERRNO, EPERM
//	clone with any CLONE_NEW* flag: EPERM (a thread or a fork is fine),
//	    one rule per flag: (flags & CLONE_NEWNS) == CLONE_NEWNS, and so on
//	clone3: ENOSYS, since its flags are in memory, where a filter cannot
//	    look; the C library then falls back to clone
//
// The program filterProgram makes of it, in order:
//
//	the architecture is this binary's, else kill the process: the same
//	    number means another call in another architecture's table
//	(amd64) a number with the x32 bit set: ENOSYS (the x32 table)
//	each rule, in the spec's order: if the call is one it names and its
//	    argument matches, the rule's action
//	anything else: the default action
//
// Read: man 2 seccomp, the kernel's Documentation/userspace-api/seccomp_filter.rst,
// man 7 capabilities.
package main

import (
	"fmt"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// refusedCall is a system call the filter refuses, with the capability
// that lets it through again ("": none, always refused).
type refusedCall struct {
	name       string
	number     int
	capability string
}

// refusedCalls are the calls every architecture has; archRefusedCalls
// (seccomp_amd64.go, seccomp_arm64.go) those only one has.
var refusedCalls = []refusedCall{
	// Kernel modules: code of one's choosing run in the host's kernel.
	{"init_module", unix.SYS_INIT_MODULE, "SYS_MODULE"},
	{"finit_module", unix.SYS_FINIT_MODULE, "SYS_MODULE"},
	{"delete_module", unix.SYS_DELETE_MODULE, "SYS_MODULE"},
	// Rebooting the machine, or into another kernel.
	{"reboot", unix.SYS_REBOOT, "SYS_BOOT"},
	{"kexec_load", unix.SYS_KEXEC_LOAD, "SYS_BOOT"},
	{"kexec_file_load", unix.SYS_KEXEC_FILE_LOAD, "SYS_BOOT"},
	// The clock: one for the whole machine (no namespace sets it).
	{"settimeofday", unix.SYS_SETTIMEOFDAY, "SYS_TIME"},
	{"clock_settime", unix.SYS_CLOCK_SETTIME, "SYS_TIME"},
	{"clock_adjtime", unix.SYS_CLOCK_ADJTIME, "SYS_TIME"},
	// The kernel's keyrings are not namespaced: keys of the host's users.
	{"keyctl", unix.SYS_KEYCTL, ""},
	{"add_key", unix.SYS_ADD_KEY, ""},
	{"request_key", unix.SYS_REQUEST_KEY, ""},
	// Programs and probes in the kernel.
	{"bpf", unix.SYS_BPF, "BPF"},
	{"perf_event_open", unix.SYS_PERF_EVENT_OPEN, "PERFMON"},
	// A file by its handle, from any directory of its filesystem: the
	// "shocker" escape reached the host's files from a container this way.
	{"open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT, "DAC_READ_SEARCH"},
	{"name_to_handle_at", unix.SYS_NAME_TO_HANDLE_AT, "DAC_READ_SEARCH"},
	// Mounts, by the old call and the new API: a mount can undo every
	// mount that hides or protects something (mount.go, maskPaths).
	{"mount", unix.SYS_MOUNT, "SYS_ADMIN"},
	{"umount2", unix.SYS_UMOUNT2, "SYS_ADMIN"},
	{"pivot_root", unix.SYS_PIVOT_ROOT, "SYS_ADMIN"},
	{"fsopen", unix.SYS_FSOPEN, "SYS_ADMIN"},
	{"fsconfig", unix.SYS_FSCONFIG, "SYS_ADMIN"},
	{"fsmount", unix.SYS_FSMOUNT, "SYS_ADMIN"},
	{"fspick", unix.SYS_FSPICK, "SYS_ADMIN"},
	{"move_mount", unix.SYS_MOVE_MOUNT, "SYS_ADMIN"},
	{"open_tree", unix.SYS_OPEN_TREE, "SYS_ADMIN"},
	{"mount_setattr", unix.SYS_MOUNT_SETATTR, "SYS_ADMIN"},
	// New namespaces, or another's (clone's flags are checked below).
	{"unshare", unix.SYS_UNSHARE, "SYS_ADMIN"},
	{"setns", unix.SYS_SETNS, "SYS_ADMIN"},
	// Swap, process accounting and quotas: settings of the whole machine.
	{"swapon", unix.SYS_SWAPON, "SYS_ADMIN"},
	{"swapoff", unix.SYS_SWAPOFF, "SYS_ADMIN"},
	{"acct", unix.SYS_ACCT, "SYS_PACCT"},
	{"quotactl", unix.SYS_QUOTACTL, "SYS_ADMIN"},
	// The kernel's log, and the host's terminals.
	{"syslog", unix.SYS_SYSLOG, "SYSLOG"},
	{"vhangup", unix.SYS_VHANGUP, "SYS_TTY_CONFIG"},
	// Page faults handled by the program: a way to stop the kernel
	// mid-copy, which kernel exploits use to win races.
	{"userfaultfd", unix.SYS_USERFAULTFD, ""},
	// io_uring: its operations run in the kernel without a system call
	// of their own, so this filter would never see them.
	{"io_uring_setup", unix.SYS_IO_URING_SETUP, ""},
	{"io_uring_enter", unix.SYS_IO_URING_ENTER, ""},
	{"io_uring_register", unix.SYS_IO_URING_REGISTER, ""},
	// Obsolete calls nothing current uses.
	{"lookup_dcookie", unix.SYS_LOOKUP_DCOOKIE, "SYS_ADMIN"},
	{"nfsservctl", unix.SYS_NFSSERVCTL, ""},
}

// cloneNamespaceFlags are clone(2)'s flags that make a new namespace.
// CLONE_NEWTIME is not among them: in clone's first argument its bit is
// part of the exit signal; only unshare and clone3 take it.
var cloneNamespaceFlags = []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWUSER,
	unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWCGROUP}

// seccompOf is linux.seccomp for security s: tinyrun's default filter for
// a container that keeps s's capabilities, or nil for none. As in Docker's
// default profile, a call is let through again when root keeps the
// capability that guards it.
func seccompOf(s security) *specs.LinuxSeccomp {
	if !s.Seccomp {
		return nil
	}
	keeps := map[string]bool{}
	for _, name := range s.Capabilities {
		keeps[name] = true
	}
	eperm, enosys := uint(unix.EPERM), uint(unix.ENOSYS)
	var refused []string
	for _, call := range append(refusedCalls, archRefusedCalls...) {
		if call.capability == "" || !keeps[call.capability] {
			refused = append(refused, call.name)
		}
	}
	filter := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{nativeArchitectureName},
		Syscalls:      []specs.LinuxSyscall{{Names: refused, Action: specs.ActErrno, ErrnoRet: &eperm}},
	}
	if !keeps["SYS_ADMIN"] {
		for _, flag := range cloneNamespaceFlags {
			filter.Syscalls = append(filter.Syscalls, specs.LinuxSyscall{Names: []string{"clone"}, Action: specs.ActErrno, ErrnoRet: &eperm,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: flag, ValueTwo: flag, Op: specs.OpMaskedEqual}}})
		}
		filter.Syscalls = append(filter.Syscalls, specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys})
	}
	return filter
}

// syscallNumbers are the calls filterProgram knows by name: those of
// refusedCalls, and clone and clone3.
func syscallNumbers() map[string]int {
	numbers := map[string]int{"clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3}
	for _, call := range append(refusedCalls, archRefusedCalls...) {
		numbers[call.name] = call.number
	}
	return numbers
}

// Where the fields of struct seccomp_data are, the input of the program
// (linux/seccomp.h): the call's number, the architecture, and the
// arguments, 8 bytes each; the low half of each comes first on a
// little-endian machine (both amd64 and arm64 are).
const (
	offsetNumber       = 0
	offsetArchitecture = 4
	offsetFirstArg     = 16
)

// filterProgram compiles the filter the spec's linux.seccomp describes,
// or says which part of it tinyrun cannot compile: actions ALLOW, ERRNO
// and KILL, the calls syscallNumbers knows, and at most one argument
// test per rule, SCMP_CMP_MASKED_EQ on its low 32 bits.
func filterProgram(filter *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	load := func(offset uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offset}
	}
	// jumpIf skips the next instruction unless the test is true.
	jumpIf := func(op uint16, k uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: 0, Jf: 1, K: k}
	}
	ret := func(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }

	if len(filter.Flags) > 0 || filter.ListenerPath != "" || filter.ListenerMetadata != "" {
		return nil, fmt.Errorf("linux.seccomp: tinyrun does not support flags or a listener")
	}
	for _, arch := range filter.Architectures {
		if arch != nativeArchitectureName {
			return nil, fmt.Errorf("linux.seccomp.architectures: %s: this runtime's filter is for %s alone (other architectures' calls kill the process)", arch, nativeArchitectureName)
		}
	}
	defaultAction, err := seccompAction(filter.DefaultAction, filter.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	program := []unix.SockFilter{
		load(offsetArchitecture),
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 0, K: nativeArchitecture},
		ret(unix.SECCOMP_RET_KILL_PROCESS),
		load(offsetNumber),
	}
	if foreignCallsFrom != 0 {
		program = append(program, jumpIf(unix.BPF_JGE, foreignCallsFrom), ret(unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS)))
	}
	numbers := syscallNumbers()
	for _, rule := range filter.Syscalls {
		action, err := seccompAction(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("linux.seccomp.syscalls %v: %w", rule.Names, err)
		}
		if len(rule.Args) > 1 {
			return nil, fmt.Errorf("linux.seccomp.syscalls %v: tinyrun tests one argument per rule", rule.Names)
		}
		for _, name := range rule.Names {
			number, known := numbers[name]
			if !known {
				return nil, fmt.Errorf("linux.seccomp.syscalls: %q is not a call this runtime's filter knows", name)
			}
			if len(rule.Args) == 0 {
				program = append(program, jumpIf(unix.BPF_JEQ, uint32(number)), ret(action))
				continue
			}
			arg := rule.Args[0]
			if arg.Op != specs.OpMaskedEqual || arg.Index > 5 || arg.Value>>32 != 0 || arg.ValueTwo>>32 != 0 {
				return nil, fmt.Errorf("linux.seccomp.syscalls %s: tinyrun tests an argument with SCMP_CMP_MASKED_EQ on its low 32 bits only", name)
			}
			program = append(program,
				// Not this call: skip the next five (the accumulator still
				// holds the call's number).
				unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 5, K: uint32(number)},
				load(offsetFirstArg+8*uint32(arg.Index)),
				unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: uint32(arg.Value)},
				jumpIf(unix.BPF_JEQ, uint32(arg.ValueTwo)),
				ret(action),
				load(offsetNumber), // the number again, for the rules after
			)
		}
	}
	return append(program, ret(defaultAction)), nil
}

// seccompAction is the filter's return value for the spec's action, with
// errno for SCMP_ACT_ERRNO (EPERM when the spec gives none).
func seccompAction(action specs.LinuxSeccompAction, errno *uint) (uint32, error) {
	switch action {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		code := uint32(unix.EPERM)
		if errno != nil {
			code = uint32(*errno)
		}
		return unix.SECCOMP_RET_ERRNO | code&unix.SECCOMP_RET_DATA, nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	}
	return 0, fmt.Errorf("action %s: tinyrun knows SCMP_ACT_ALLOW, SCMP_ACT_ERRNO and SCMP_ACT_KILL", action)
}

// installSeccomp installs the filter on this thread; the command's execve
// keeps it, and so does every process the command starts (man 2 seccomp).
// It needs CAP_SYS_ADMIN or no_new_privs (confine orders it so).
func installSeccomp(filter *specs.LinuxSeccomp) error {
	program, err := filterProgram(filter)
	if err != nil {
		return err
	}
	if len(program) == 0 { // the kernel refuses an empty one (EINVAL)
		return fmt.Errorf("install the seccomp filter: the program is empty")
	}
	prog := unix.SockFprog{Len: uint16(len(program)), Filter: &program[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("install the seccomp filter: %w (the kernel needs CONFIG_SECCOMP_FILTER; or run with --security-opt seccomp=unconfined)", err)
	}
	return nil
}
