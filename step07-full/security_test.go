package main

import (
	"flag"
	"os"
	"strconv"
	"testing"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// securityOf parses run's security flags from args, as run would.
func securityOf(t *testing.T, args ...string) (security, error) {
	t.Helper()
	set := flag.NewFlagSet("run", flag.ContinueOnError)
	for _, f := range []cli.Flag{userFlag, capAddFlag, capDropFlag, privilegedFlag, securityOptFlag} {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return parseSecurity(cli.NewContext(cli.NewApp(), set, nil))
}

func TestCapabilityFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, sortedNames(map[string]bool{"CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true, "KILL": true,
			"SETGID": true, "SETUID": true, "SETPCAP": true, "NET_BIND_SERVICE": true, "NET_RAW": true, "SYS_CHROOT": true,
			"AUDIT_WRITE": true, "SETFCAP": true})},
		{[]string{"--cap-drop", "ALL", "--cap-add", "cap_net_bind_service"}, []string{"NET_BIND_SERVICE"}},
		{[]string{"--cap-drop", "ALL"}, nil},
		{[]string{"--cap-add", "ALL", "--cap-drop", "MKNOD", "--cap-drop", "SYS_ADMIN"}, len40Without("MKNOD", "SYS_ADMIN")},
		// Docker's rule: a capability both added and dropped stays.
		{[]string{"--cap-drop", "ALL", "--cap-add", "KILL", "--cap-drop", "KILL"}, []string{"KILL"}},
		{[]string{"--cap-drop", "CHOWN", "--cap-drop", "KILL"}, sortedNames(map[string]bool{"DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true,
			"SETGID": true, "SETUID": true, "SETPCAP": true, "NET_BIND_SERVICE": true, "NET_RAW": true, "SYS_CHROOT": true,
			"AUDIT_WRITE": true, "SETFCAP": true})},
	} {
		s, err := securityOf(t, c.args...)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if len(s.Capabilities) != len(c.want) {
			t.Errorf("%v: got %v, want %v", c.args, s.Capabilities, c.want)
			continue
		}
		for i := range c.want {
			if s.Capabilities[i] != c.want[i] {
				t.Errorf("%v: got %v, want %v", c.args, s.Capabilities, c.want)
				break
			}
		}
	}
	for _, bad := range [][]string{{"--cap-add", "MKNOD"}, {"--cap-add", "ALL"}, {"--cap-add", "FLY"}, {"--security-opt", "apparmor=x"}, {"--user", "a b"}, {"--user", "root:"}} {
		if _, err := securityOf(t, bad...); err == nil {
			t.Errorf("%v: accepted, want an error", bad)
		}
	}
}

// len40Without is every capability but the ones named.
func len40Without(names ...string) []string {
	set := map[string]bool{}
	for name := range capabilityNumbers {
		set[name] = true
	}
	for _, n := range names {
		delete(set, n)
	}
	return sortedNames(set)
}

// TestFilterJumpsStayInside checks that every jump of the filter lands on
// an instruction of it, and that it ends with a return: the kernel refuses
// a program otherwise, but only when a container starts.
func TestFilterJumpsStayInside(t *testing.T) {
	for _, kept := range [][]string{defaultCapabilities, nil, {"SYS_ADMIN", "SYS_TIME"}} {
		program := mustCompile(t, kept)
		for i, in := range program {
			if in.Code&0x07 == unix.BPF_JMP && (i+1+int(in.Jt) >= len(program) || i+1+int(in.Jf) >= len(program)) {
				t.Errorf("kept %v: instruction %d jumps past the end", kept, i)
			}
		}
		if last := program[len(program)-1]; last.Code != unix.BPF_RET|unix.BPF_K || last.K != unix.SECCOMP_RET_ALLOW {
			t.Errorf("kept %v: the program does not end by allowing", kept)
		}
	}
	if len(mustCompile(t, []string{"SYS_TIME"})) >= len(mustCompile(t, nil)) {
		t.Error("keeping SYS_TIME does not let the clock calls through the filter")
	}
}

// mustCompile compiles the default filter of a container that keeps kept.
func mustCompile(t *testing.T, kept []string) []unix.SockFilter {
	t.Helper()
	program, err := filterProgram(seccompOf(security{Seccomp: true, Capabilities: kept}))
	if err != nil {
		t.Fatalf("kept %v: %v", kept, err)
	}
	return program
}

// runFilter runs program, as the kernel would, on a call of number nr with
// first argument arg, of this binary's architecture, and returns what it
// returns. It knows the instructions filterProgram emits, and fails on others.
func runFilter(t *testing.T, program []unix.SockFilter, nr uint32, arg uint64) uint32 {
	t.Helper()
	data := map[uint32]uint32{offsetNumber: nr, offsetArchitecture: nativeArchitecture,
		offsetFirstArg: uint32(arg), offsetFirstArg + 4: uint32(arg >> 32)}
	var acc uint32
	for pc := 0; pc < len(program); pc++ {
		in := program[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = data[in.K]
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			acc &= in.K
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			test := map[uint16]bool{unix.BPF_JEQ: acc == in.K, unix.BPF_JGE: acc >= in.K, unix.BPF_JSET: acc&in.K != 0}[in.Code&0xf0]
			if test {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
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

// TestDefaultFilterRefusesWhatItSays runs the default filter on calls the
// spec's rules name, and on calls they do not.
func TestDefaultFilterRefusesWhatItSays(t *testing.T) {
	program := mustCompile(t, defaultCapabilities)
	eperm, enosys := unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM), unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS)
	for _, c := range []struct {
		what string
		nr   uint32
		arg  uint64
		want uint32
	}{
		{"mount", unix.SYS_MOUNT, 0, eperm},
		{"keyctl", unix.SYS_KEYCTL, 0, eperm},
		{"getpid", unix.SYS_GETPID, 0, unix.SECCOMP_RET_ALLOW},
		{"clone of a thread", unix.SYS_CLONE, unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND, unix.SECCOMP_RET_ALLOW},
		{"clone with CLONE_NEWNS", unix.SYS_CLONE, unix.CLONE_NEWNS | uint64(unix.SIGCHLD), eperm},
		{"clone with CLONE_NEWUSER", unix.SYS_CLONE, unix.CLONE_NEWUSER, eperm},
		{"clone with CLONE_NEWNET and CLONE_NEWPID", unix.SYS_CLONE, unix.CLONE_NEWNET | unix.CLONE_NEWPID, eperm},
		{"clone3", unix.SYS_CLONE3, 0, enosys},
	} {
		if got := runFilter(t, program, c.nr, c.arg); got != c.want {
			t.Errorf("%s: the filter returns %#x, want %#x", c.what, got, c.want)
		}
	}
	if got := runFilter(t, mustCompile(t, []string{"SYS_ADMIN"}), unix.SYS_MOUNT, 0); got != unix.SECCOMP_RET_ALLOW {
		t.Errorf("mount with SYS_ADMIN kept: the filter returns %#x, want it allowed", got)
	}
}

func TestReadOnlyBinaryCannotBeWritten(t *testing.T) {
	f, err := readOnlyBinary()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// While this test runs, opening its binary for writing fails with
	// ETXTBSY whatever the mount; what stays once it stops is the mount's
	// flag, which statfs(2) reports.
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("the binary's own mount is not read-only (statfs flags %#x)", fs.Flags)
	}
	exe, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat("/proc/self/fd/" + strconv.Itoa(int(f.Fd()))); err != nil || !os.SameFile(info, exe) {
		t.Errorf("the read-only binary is not this binary: %v", err)
	}
}

// BenchmarkReadOnlyBinary is what a start pays for it.
func BenchmarkReadOnlyBinary(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f, err := readOnlyBinary()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// TestWorkdirRefusesMagicLinks: a -w through a descriptor's magic link
// creates nothing and is refused (here on the host, with a directory
// descriptor of a temporary directory standing for the host's leaked one).
func TestWorkdirRefusesMagicLinks(t *testing.T) {
	outside := t.TempDir()
	dir, err := os.Open(outside)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(cwd)
	fd := strconv.Itoa(int(dir.Fd()))
	paths := []string{"/proc/self/fd/" + fd + "/made", "//proc/self/fd/" + fd, "/tmp/../proc/self/fd/" + fd + "/made"}
	if link, err := os.Readlink("/dev/fd"); err == nil && link == "/proc/self/fd" {
		paths = append(paths, "/dev/fd/"+fd+"/made") // as makeDevices links it (not so in every /dev)
	}
	for _, path := range paths {
		if err := enterWorkdir(path); err == nil {
			t.Errorf("enterWorkdir(%s): accepted, want an error", path)
		}
		if _, err := os.Stat(outside + "/made"); err == nil {
			t.Fatalf("enterWorkdir(%s) created a directory through the descriptor", path)
		}
	}
	if err := enterWorkdir(outside + "/inside"); err != nil {
		t.Errorf("enterWorkdir of an ordinary new directory: %v", err)
	}
}
