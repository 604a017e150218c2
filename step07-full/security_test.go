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
