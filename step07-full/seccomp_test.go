//go:build amd64 || arm64

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// call is the input of a filter, struct seccomp_data: a system call's
// number, the architecture it was made in, and its six arguments.
type call struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

// native is a call of number nr, of this binary's architecture, with args.
func native(nr uint32, args ...uint64) call {
	c := call{nr: nr, arch: nativeArchitecture}
	copy(c.args[:], args)
	return c
}

// runFilter runs program, as the kernel would, on c, and returns what it
// returns. It knows the instructions filterProgram emits, and fails the
// test on others, on a jump past the end and on falling off the end.
func runFilter(t *testing.T, program []unix.SockFilter, c call) uint32 {
	t.Helper()
	word := func(offset uint32) uint32 {
		switch {
		case offset == offsetNumber:
			return c.nr
		case offset == offsetArchitecture:
			return c.arch
		case offset >= offsetFirstArg && offset < offsetFirstArg+48 && offset%4 == 0:
			arg := c.args[(offset-offsetFirstArg)/8]
			if (offset-offsetFirstArg)%8 == 4 {
				return uint32(arg >> 32)
			}
			return uint32(arg)
		}
		t.Fatalf("load of offset %d, which is no field of seccomp_data the filter reads", offset)
		return 0
	}
	var acc uint32
	for pc := 0; pc < len(program); pc++ {
		in := program[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = word(in.K)
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			acc &= in.K
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			test := map[uint16]bool{unix.BPF_JEQ: acc == in.K, unix.BPF_JGT: acc > in.K, unix.BPF_JGE: acc >= in.K}[in.Code&0xf0]
			if test {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
			if pc+1 >= len(program) {
				t.Fatalf("instruction %d jumps past the end", pc)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("instruction %d: code %#x is not one runFilter knows", pc, in.Code)
		}
	}
	t.Fatal("the program ran past its end")
	return 0
}

var (
	eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	allow  = uint32(unix.SECCOMP_RET_ALLOW)
)

// mustCompile compiles filter, or fails the test.
func mustCompile(t *testing.T, filter *specs.LinuxSeccomp) []unix.SockFilter {
	t.Helper()
	program, err := filterProgram(filter)
	if err != nil {
		t.Fatalf("filterProgram: %v", err)
	}
	return program
}

// defaultFilter compiles the default filter of a container that keeps kept.
func defaultFilter(t *testing.T, kept ...string) []unix.SockFilter {
	t.Helper()
	return mustCompile(t, seccompOf(security{Seccomp: true, Capabilities: kept}))
}

// TestDefaultFilterIsDockersAllowList runs the default filter on calls
// Docker's profile allows, on calls it refuses, and on the calls tinyrun
// refuses beyond it.
func TestDefaultFilterIsDockersAllowList(t *testing.T) {
	program := defaultFilter(t, defaultCapabilities...)
	t.Logf("the default filter: %d instructions", len(program))
	for _, c := range []struct {
		what string
		call call
		want uint32
	}{
		{"getpid", native(unix.SYS_GETPID), allow},
		{"read", native(unix.SYS_READ), allow},
		{"execve", native(unix.SYS_EXECVE), allow},
		{"capset (confine calls it after the filter is in)", native(unix.SYS_CAPSET), allow},
		{"mbind, only with CAP_SYS_NICE in Docker's profile", native(unix.SYS_MBIND), eperm},
		{"move_pages, in no list of Docker's", native(unix.SYS_MOVE_PAGES), eperm},
		{"mount", native(unix.SYS_MOUNT), eperm},
		{"unshare", native(unix.SYS_UNSHARE), eperm},
		{"keyctl", native(unix.SYS_KEYCTL), eperm},
		{"clock_adjtime, allowed by Docker, refused by tinyrun without CAP_SYS_TIME", native(unix.SYS_CLOCK_ADJTIME), eperm},
		{"name_to_handle_at, allowed by Docker", native(unix.SYS_NAME_TO_HANDLE_AT), eperm},
		{"io_uring_setup", native(unix.SYS_IO_URING_SETUP), eperm},
		{"clone of a thread", native(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND), allow},
		{"clone with CLONE_NEWNS", native(unix.SYS_CLONE, unix.CLONE_NEWNS|uint64(unix.SIGCHLD)), eperm},
		{"clone with CLONE_NEWUSER", native(unix.SYS_CLONE, unix.CLONE_NEWUSER), eperm},
		{"clone3", native(unix.SYS_CLONE3), enosys},
		{"personality(PER_LINUX)", native(unix.SYS_PERSONALITY, 0), allow},
		{"personality(0xffffffff), a query", native(unix.SYS_PERSONALITY, 0xffffffff), allow},
		{"personality with a high half", native(unix.SYS_PERSONALITY, 1<<32), eperm},
		{"socket(AF_INET)", native(unix.SYS_SOCKET, unix.AF_INET), allow},
		{"socket(AF_VSOCK), refused by Docker's NE rule", native(unix.SYS_SOCKET, unix.AF_VSOCK), eperm},
		{"a number no table has", native(1000), eperm},
		{"another architecture's call", call{nr: unix.SYS_GETPID, arch: unix.AUDIT_ARCH_I386}, unix.SECCOMP_RET_KILL_PROCESS},
		{"an arm32 call", call{nr: unix.SYS_GETPID, arch: unix.AUDIT_ARCH_ARM}, unix.SECCOMP_RET_KILL_PROCESS},
	} {
		if got := runFilter(t, program, c.call); got != c.want {
			t.Errorf("%s: the filter returns %#x, want %#x", c.what, got, c.want)
		}
	}
	if foreignCallsFrom != 0 {
		if got := runFilter(t, program, native(foreignCallsFrom|unix.SYS_GETPID)); got != enosys {
			t.Errorf("an x32 call: the filter returns %#x, want ENOSYS", got)
		}
	}
}

// TestCapabilitiesOpenTheirCalls: a call that Docker's profile guards with
// a capability is allowed when the container keeps it.
func TestCapabilitiesOpenTheirCalls(t *testing.T) {
	for _, c := range []struct {
		kept string
		call call
	}{
		{"SYS_ADMIN", native(unix.SYS_MOUNT)},
		{"SYS_ADMIN", native(unix.SYS_CLONE, unix.CLONE_NEWNS)},
		{"SYS_ADMIN", native(unix.SYS_CLONE3)},
		{"SYS_NICE", native(unix.SYS_MBIND)},
		{"SYS_TIME", native(unix.SYS_CLOCK_SETTIME)},
		{"SYS_TIME", native(unix.SYS_CLOCK_ADJTIME)},
		{"DAC_READ_SEARCH", native(unix.SYS_OPEN_BY_HANDLE_AT)},
		{"DAC_READ_SEARCH", native(unix.SYS_NAME_TO_HANDLE_AT)},
	} {
		if got := runFilter(t, defaultFilter(t, defaultCapabilities...), c.call); got == allow {
			t.Errorf("call %d: allowed without %s", c.call.nr, c.kept)
		}
		if got := runFilter(t, defaultFilter(t, append([]string{c.kept}, defaultCapabilities...)...), c.call); got != allow {
			t.Errorf("call %d with %s kept: the filter returns %#x, want it allowed", c.call.nr, c.kept, got)
		}
	}
	if got := runFilter(t, defaultFilter(t, len40Without("MKNOD")...), native(unix.SYS_KEYCTL)); got != eperm {
		t.Errorf("keyctl with every capability: the filter returns %#x, want EPERM: no capability opens the keyrings", got)
	}
}

// TestArgumentOperators compiles a rule per operator on a 64-bit value
// whose halves differ, and runs it on values around it.
func TestArgumentOperators(t *testing.T) {
	const v = 0x00000002_80000000
	values := []uint64{0, v - 1, v, v + 1, 0x00000001_ffffffff, 0x00000003_00000000, 0x80000000, 0xffffffff_ffffffff}
	for _, c := range []struct {
		op    specs.LinuxSeccompOperator
		holds func(x uint64) bool
	}{
		{specs.OpEqualTo, func(x uint64) bool { return x == v }},
		{specs.OpNotEqual, func(x uint64) bool { return x != v }},
		{specs.OpGreaterThan, func(x uint64) bool { return x > v }},
		{specs.OpGreaterEqual, func(x uint64) bool { return x >= v }},
		{specs.OpLessThan, func(x uint64) bool { return x < v }},
		{specs.OpLessEqual, func(x uint64) bool { return x <= v }},
	} {
		program := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 3, Value: v, Op: c.op}}}}})
		for _, x := range values {
			want := eperm
			if c.holds(x) {
				want = allow
			}
			if got := runFilter(t, program, native(unix.SYS_GETPID, 0, 0, 0, x)); got != want {
				t.Errorf("%s %#x, argument %#x: the filter returns %#x, want %#x", c.op, uint64(v), x, got, want)
			}
		}
	}
	// MASKED_EQ, on both halves: (x & mask) == want.
	const mask, want = 0x00000010_0000000f, 0x00000010_00000003
	program := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"getpid"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 5, Value: mask, ValueTwo: want, Op: specs.OpMaskedEqual}}}}})
	for x, holds := range map[uint64]bool{want: true, want | 0xf0: true, 0x00000000_00000003: false, 0x00000010_00000004: false, 0xffffffff_fffffff3: true, 0xffffffef_fffffff3: false} {
		if got := runFilter(t, program, native(unix.SYS_GETPID, 0, 0, 0, 0, 0, x)); (got == allow) != holds {
			t.Errorf("MASKED_EQ %#x == %#x, argument %#x: the filter returns %#x", uint64(mask), uint64(want), x, got)
		}
	}
}

// TestEveryArgumentMustHold: a rule with several argument tests applies
// only when all hold; when one fails, the rules after it are tried.
func TestEveryArgumentMustHold(t *testing.T) {
	program := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"getpid", "kill"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
			{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 1, Value: 7, Op: specs.OpGreaterThan}}},
		{Names: []string{"kill"}, Action: specs.ActKillProcess},
	}})
	for _, c := range []struct {
		call call
		want uint32
	}{
		{native(unix.SYS_GETPID, 1, 8), eperm},
		{native(unix.SYS_GETPID, 1, 7), allow},
		{native(unix.SYS_GETPID, 2, 8), allow},
		{native(unix.SYS_KILL, 1, 9), eperm},
		{native(unix.SYS_KILL, 0, 9), unix.SECCOMP_RET_KILL_PROCESS},
		{native(unix.SYS_READ, 1, 8), allow},
	} {
		if got := runFilter(t, program, c.call); got != c.want {
			t.Errorf("call %d, arguments %v: the filter returns %#x, want %#x", c.call.nr, c.call.args[:2], got, c.want)
		}
	}
}

// TestLongProgramsJumpRight: with more rules than a conditional jump can
// skip (255 instructions), every call still reaches its own rule, and an
// argument rule at the end still works.
func TestLongProgramsJumpRight(t *testing.T) {
	var names []string
	for name := range syscallNumbers {
		if name != "getpid" && name != "kill" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	filter := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: errnoValue(uint(unix.EACCES))}
	for _, name := range names {
		filter.Syscalls = append(filter.Syscalls, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow})
	}
	filter.Syscalls = append(filter.Syscalls, specs.LinuxSyscall{Names: []string{"kill"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{{Index: 1, Value: uint64(unix.SIGTERM), Op: specs.OpEqualTo}}})
	program := mustCompile(t, filter)
	if len(program) < 600 {
		t.Fatalf("the program has %d instructions, want more than 600 for this test to mean anything", len(program))
	}
	for _, name := range names {
		if got := runFilter(t, program, native(syscallNumbers[name])); got != allow {
			t.Errorf("%s: the filter returns %#x, want it allowed", name, got)
		}
	}
	eacces := unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)
	for call, want := range map[call]uint32{native(unix.SYS_GETPID): eacces, native(unix.SYS_KILL, 1, uint64(unix.SIGTERM)): allow, native(unix.SYS_KILL, 1, uint64(unix.SIGKILL)): eacces} {
		if got := runFilter(t, program, call); got != want {
			t.Errorf("call %d, arguments %v: the filter returns %#x, want %#x", call.nr, call.args[:2], got, want)
		}
	}
}

// TestFilterRefusesWhatItCannotCompile: an operator, an action or an
// architecture tinyrun does not know is an error naming it, never a
// filter that does something else.
func TestFilterRefusesWhatItCannotCompile(t *testing.T) {
	rule := func(r specs.LinuxSyscall) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{r}}
	}
	for want, filter := range map[string]*specs.LinuxSeccomp{
		"SCMP_CMP_BETWEEN": rule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Op: "SCMP_CMP_BETWEEN"}}}),
		"argument 6":       rule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}),
		"SCMP_ACT_NOTIFY":  rule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActNotify}),
		"SCMP_ACT_TRACE":   rule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActTrace}),
		"errnoRet":         rule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow, ErrnoRet: errnoValue(1)}),
		"SCMP_ACT_MAYBE":   {DefaultAction: "SCMP_ACT_MAYBE"},
		"SCMP_ARCH_VAX":    {DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}},
		"flags":            {DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog}},
	} {
		_, err := filterProgram(filter)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a filter with %s: got error %v, want one that names it", want, err)
		}
	}
	// A name of another architecture is skipped, as runc skips it.
	program := mustCompile(t, rule(specs.LinuxSyscall{Names: []string{"arm_fadvise64_64", "s390_runtime_instr", "getpid"}, Action: specs.ActAllow}))
	if got := runFilter(t, program, native(unix.SYS_GETPID)); got != allow {
		t.Errorf("getpid, named after calls of other architectures: the filter returns %#x, want it allowed", got)
	}
}

// TestDockerProfileConditions resolves a profile's includes and excludes
// as Docker's converter does.
func TestDockerProfileConditions(t *testing.T) {
	p := dockerProfile{DefaultAction: specs.ActErrno, ArchMap: []dockerArchitecture{
		{Arch: specs.ArchX86_64, SubArches: []specs.Arch{specs.ArchX86, specs.ArchX32}},
		{Arch: specs.ArchAARCH64, SubArches: []specs.Arch{specs.ArchARM}}},
		Syscalls: []dockerRule{
			{Names: []string{"always"}, Action: specs.ActAllow},
			{Names: []string{"with-admin"}, Action: specs.ActAllow, Includes: &dockerCondition{Caps: []string{"CAP_SYS_ADMIN"}}},
			{Names: []string{"with-admin-and-nice"}, Action: specs.ActAllow, Includes: &dockerCondition{Caps: []string{"CAP_SYS_ADMIN", "CAP_SYS_NICE"}}},
			{Names: []string{"without-admin"}, Action: specs.ActAllow, Excludes: &dockerCondition{Caps: []string{"CAP_SYS_ADMIN"}}},
			{Names: []string{"here"}, Action: specs.ActAllow, Includes: &dockerCondition{Arches: []string{"amd64", "arm64"}}},
			{Names: []string{"elsewhere"}, Action: specs.ActAllow, Includes: &dockerCondition{Arches: []string{"s390x"}}},
			{Names: []string{"old-kernels"}, Action: specs.ActAllow, Excludes: &dockerCondition{MinKernel: "3.0"}},
			{Names: []string{"new-kernels"}, Action: specs.ActAllow, Includes: &dockerCondition{MinKernel: "3.0"}},
			{Name: "one-name", Action: specs.ActAllow},
		}}
	if err := p.check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kept []string
		want []string
	}{
		{nil, []string{"always", "without-admin", "here", "new-kernels", "one-name"}},
		{[]string{"SYS_ADMIN"}, []string{"always", "with-admin", "here", "new-kernels", "one-name"}},
		{[]string{"SYS_ADMIN", "SYS_NICE"}, []string{"always", "with-admin", "with-admin-and-nice", "here", "new-kernels", "one-name"}},
	} {
		filter := p.forContainer(c.kept)
		var got []string
		for _, rule := range filter.Syscalls {
			got = append(got, rule.Names...)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("kept %v: the rules name %v, want %v", c.kept, got, c.want)
		}
		if len(filter.Architectures) < 2 || filter.Architectures[0] != nativeArchitectureName {
			t.Errorf("architectures %v: want this one's and its archMap entry's", filter.Architectures)
		}
	}
	if err := dockerDefaultProfile.check(); err != nil {
		t.Errorf("Docker's default profile, as seccomp_docker.go holds it: %v", err)
	}
}

// TestLoadSeccompProfileRefusesMalformedFiles: one error each, naming
// what is wrong.
func TestLoadSeccompProfileRefusesMalformedFiles(t *testing.T) {
	dir := t.TempDir()
	for want, text := range map[string]string{
		"JSON":             `{"defaultAction": `,
		"defualtAction":    `{"defualtAction": "SCMP_ACT_ALLOW", "syscalls": []}`,
		"no defaultAction": `{"syscalls": []}`,
		"name or names":    `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}`,
		"archMap":          `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}], "syscalls": []}`,
		"minKernel":        `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "five"}}]}`,
	} {
		path := filepath.Join(dir, "profile.json")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := loadSeccompProfile(path, defaultCapabilities)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("profile %s: got error %v, want one line that mentions %q", text, err, want)
		}
	}
}

// TestKernelAcceptsTheDefaultFilter installs the default filter in a
// child process (this test binary again) and makes calls under it: the
// kernel must take the program, the Go runtime must go on running, and
// the calls must get the verdicts the interpreter above gives.
func TestKernelAcceptsTheDefaultFilter(t *testing.T) {
	if os.Getenv("TINYRUN_SECCOMP_CHILD") == "1" {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := installSeccomp(seccompOf(security{Seccomp: true, Capabilities: defaultCapabilities})); err != nil {
			t.Fatal(err)
		}
		_, _, mbind := unix.Syscall6(unix.SYS_MBIND, 0, 0, 0, 0, 0, 0)
		_, _, keyctl := unix.Syscall(unix.SYS_KEYCTL, 0, ^uintptr(2), 0)
		t.Logf("getpid %d, mbind %v, keyctl %v", os.Getpid(), mbind, keyctl)
		if mbind != unix.EPERM || keyctl != unix.EPERM {
			t.Fatalf("under the default filter: mbind %v, keyctl %v, want EPERM for both", mbind, keyctl)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKernelAcceptsTheDefaultFilter$", "-test.v")
	cmd.Env = append(os.Environ(), "TINYRUN_SECCOMP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("the child under the filter: %v\n%s", err, out)
	}
}
