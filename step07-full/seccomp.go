//go:build amd64 || arm64

// Seccomp: a filter the kernel runs on every system call the container
// makes, written as classic BPF (man 2 seccomp, "Filters"), without
// libseccomp: the program is small enough to read.
//
// The filter is the spec's linux.seccomp (spec.go): seccompOf
// (seccomp_profile.go) writes tinyrun's default there, Docker's
// allow-list, or the profile of --security-opt seccomp=FILE, and
// filterProgram compiles whatever it says. A call is known by its name
// (syscallNumbers, seccomp_syscalls_amd64.go and seccomp_syscalls_arm64.go,
// generated from golang.org/x/sys); a name this architecture lacks (Docker's
// profiles name the calls of every architecture) is skipped, as runc does.
//
// The program filterProgram makes, in order:
//
//	the architecture is this binary's, else kill the process: the same
//	    number means another call in another architecture's table, and
//	    tinyrun has only this one's (i386's int 0x80, arm32)
//	(amd64) a number with the x32 bit set: ENOSYS (the x32 table)
//	each rule, in the spec's order, each name in turn: if the call is the
//	    one named and every argument test holds, the rule's action
//	anything else: the default action
//
// Each rule returns right after its own test: a classic BPF conditional
// jump reaches 255 instructions at most (its offsets are 8-bit), and the
// default profile compiles to about 700, so a jump to one shared return
// at the end would not fit.
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
// or says which part of it tinyrun cannot compile. It knows the actions
// of seccompAction, the operators of argumentTest, every architecture's
// name (calls from all but this one kill the process), and no flags.
func filterProgram(filter *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	if len(filter.Flags) > 0 || filter.ListenerPath != "" || filter.ListenerMetadata != "" {
		return nil, fmt.Errorf("linux.seccomp: tinyrun supports no flags and no listener")
	}
	for _, arch := range filter.Architectures {
		if !knownArchitectures[arch] {
			return nil, fmt.Errorf("linux.seccomp.architectures: %q is no architecture of the runtime spec", arch)
		}
	}
	defaultAction, err := seccompAction(filter.DefaultAction, filter.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	program := []unix.SockFilter{
		load(offsetArchitecture),
		jump(unix.BPF_JEQ, nativeArchitecture, 1, 0),
		ret(unix.SECCOMP_RET_KILL_PROCESS),
		load(offsetNumber),
	}
	if foreignCallsFrom != 0 {
		program = append(program, jump(unix.BPF_JGE, foreignCallsFrom, 0, 1), ret(unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS)))
	}
	for _, rule := range filter.Syscalls {
		action, err := seccompAction(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("linux.seccomp.syscalls %v: %w", rule.Names, err)
		}
		// The tests of the arguments, all of which must hold; one that
		// fails jumps to their end plus one, past the return.
		var tests []unix.SockFilter
		for _, arg := range rule.Args {
			test, err := argumentTest(arg)
			if err != nil {
				return nil, fmt.Errorf("linux.seccomp.syscalls %v: %w", rule.Names, err)
			}
			tests = append(tests, test...)
		}
		if len(tests) > 250 {
			return nil, fmt.Errorf("linux.seccomp.syscalls %v: too many argument tests for one rule", rule.Names)
		}
		tests = resolveFailures(tests)
		for _, name := range rule.Names {
			number, known := syscallNumbers[name]
			if !known {
				continue // another architecture's call, or one newer than the table
			}
			if len(tests) == 0 {
				program = append(program, jump(unix.BPF_JEQ, number, 0, 1), ret(action))
				continue
			}
			// Another call: skip the tests, the return and the reload
			// (the accumulator still holds the call's number).
			program = append(program, jump(unix.BPF_JEQ, number, 0, uint8(len(tests)+2)))
			program = append(program, tests...)
			program = append(program, ret(action), load(offsetNumber))
		}
	}
	program = append(program, ret(defaultAction))
	if len(program) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("linux.seccomp: the filter compiles to %d instructions, more than the kernel's %d", len(program), unix.BPF_MAXINSNS)
	}
	return program, nil
}

// The instructions of the program: load 32 bits of seccomp_data, jump
// forward by jt if the test holds and by jf if not, return a verdict.
func load(offset uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offset}
}

func jump(op uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}

func ret(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }

// fail, as a jump offset that argumentTest returns, means "the test does
// not hold"; resolveFailures turns it into the jump past the rule's return.
const fail = 0xff

// argumentTest is the code that tests arg, a 64-bit argument, 32 bits at
// a time: first the high halves (offset +4), then the low ones. It falls
// through to its end when the test holds, and jumps by fail when it does
// not. Comparisons are unsigned, as in libseccomp.
func argumentTest(arg specs.LinuxSeccompArg) ([]unix.SockFilter, error) {
	if arg.Index > 5 {
		return nil, fmt.Errorf("argument %d: a system call has six, 0 to 5", arg.Index)
	}
	high, low := offsetFirstArg+8*uint32(arg.Index)+4, offsetFirstArg+8*uint32(arg.Index)
	valueHigh, valueLow := uint32(arg.Value>>32), uint32(arg.Value)
	switch arg.Op {
	case specs.OpEqualTo:
		return []unix.SockFilter{load(high), jump(unix.BPF_JEQ, valueHigh, 0, fail),
			load(low), jump(unix.BPF_JEQ, valueLow, 0, fail)}, nil
	case specs.OpNotEqual:
		return []unix.SockFilter{load(high), jump(unix.BPF_JEQ, valueHigh, 0, 2),
			load(low), jump(unix.BPF_JEQ, valueLow, fail, 0)}, nil
	case specs.OpMaskedEqual: // (arg & value) == valueTwo
		and := func(k uint32) unix.SockFilter {
			return unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: k}
		}
		return []unix.SockFilter{load(high), and(valueHigh), jump(unix.BPF_JEQ, uint32(arg.ValueTwo>>32), 0, fail),
			load(low), and(valueLow), jump(unix.BPF_JEQ, uint32(arg.ValueTwo), 0, fail)}, nil
	case specs.OpGreaterThan, specs.OpGreaterEqual: // high above: holds; below: fails; equal: the low halves decide
		lowTest := map[specs.LinuxSeccompOperator]uint16{specs.OpGreaterThan: unix.BPF_JGT, specs.OpGreaterEqual: unix.BPF_JGE}[arg.Op]
		return []unix.SockFilter{load(high), jump(unix.BPF_JGT, valueHigh, 3, 0), jump(unix.BPF_JEQ, valueHigh, 0, fail),
			load(low), jump(lowTest, valueLow, 0, fail)}, nil
	case specs.OpLessThan, specs.OpLessEqual: // high above: fails; below: holds; equal: the low halves decide
		lowTest := map[specs.LinuxSeccompOperator]uint16{specs.OpLessThan: unix.BPF_JGE, specs.OpLessEqual: unix.BPF_JGT}[arg.Op]
		return []unix.SockFilter{load(high), jump(unix.BPF_JGT, valueHigh, fail, 0), jump(unix.BPF_JEQ, valueHigh, 0, 2),
			load(low), jump(lowTest, valueLow, fail, 0)}, nil
	}
	return nil, fmt.Errorf("operator %q: tinyrun knows SCMP_CMP_EQ, NE, LT, LE, GT, GE and MASKED_EQ", arg.Op)
}

// resolveFailures turns each jump by fail in tests into a jump to the
// instruction after the one that follows tests (the rule's return).
func resolveFailures(tests []unix.SockFilter) []unix.SockFilter {
	for i := range tests {
		past := uint8(len(tests) - i) // from i+1 to len(tests)+1
		if tests[i].Jt == fail {
			tests[i].Jt = past
		}
		if tests[i].Jf == fail {
			tests[i].Jf = past
		}
	}
	return tests
}

// seccompAction is the filter's return value for the spec's action, with
// errno for SCMP_ACT_ERRNO (EPERM when the spec gives none; the spec
// forbids it elsewhere).
func seccompAction(action specs.LinuxSeccompAction, errno *uint) (uint32, error) {
	if errno != nil && action != specs.ActErrno {
		return 0, fmt.Errorf("action %s takes no errnoRet", action)
	}
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
	case specs.ActTrap: // SIGSYS, which the program may catch
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActLog: // allowed, and logged by the kernel's audit
		return unix.SECCOMP_RET_LOG, nil
	}
	return 0, fmt.Errorf("action %s: tinyrun knows SCMP_ACT_ALLOW, ERRNO, KILL, KILL_THREAD, KILL_PROCESS, TRAP and LOG (TRACE needs a tracer, NOTIFY a listener)", action)
}

// knownArchitectures are the names the spec gives architectures.
var knownArchitectures = map[specs.Arch]bool{
	specs.ArchX86: true, specs.ArchX86_64: true, specs.ArchX32: true, specs.ArchARM: true, specs.ArchAARCH64: true,
	specs.ArchMIPS: true, specs.ArchMIPS64: true, specs.ArchMIPS64N32: true, specs.ArchMIPSEL: true,
	specs.ArchMIPSEL64: true, specs.ArchMIPSEL64N32: true, specs.ArchPPC: true, specs.ArchPPC64: true,
	specs.ArchPPC64LE: true, specs.ArchS390: true, specs.ArchS390X: true, specs.ArchPARISC: true,
	specs.ArchPARISC64: true, specs.ArchRISCV64: true, specs.ArchLOONGARCH64: true, specs.ArchM68K: true,
	specs.ArchSH: true, specs.ArchSHEB: true,
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
