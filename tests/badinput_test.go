package tests

import (
	"os"
	"strings"
	"testing"
)

// badInput is one malformed command line: from step since on, it must fail
// with status 125 and one line on stderr that mentions mention, before
// anything is created.
type badInput struct {
	since   int
	args    []string // "run" lines get the step's rootfs or image added
	mention string
}

// tarballPlaceholder in args stands for a valid tarball the check makes.
const tarballPlaceholder = "TARBALL"

// badInputs tries each flag of each command with values a new user might
// type, alone and in combination.
var badInputs = []badInput{
	{1, []string{"nosuchcommand"}, "nosuchcommand"},
	{1, []string{"--nosuchflag"}, "nosuchflag"},
	{1, []string{"run", "--nosuchflag", "true"}, "nosuchflag"},
	{1, []string{"run", "--hostname", "two words", "true"}, "hostname"},
	{1, []string{"run", "--hostname", strings.Repeat("a", 65), "true"}, "hostname"},
	{1, []string{"run", "--hostname", "-leading-dash", "true"}, "hostname"},
	{3, []string{"run", "--rootfs", "/nonexistent", "true"}, "rootfs"},
	{4, []string{"run", "-p", "0:80", "true"}, "0:80"},
	{4, []string{"run", "-p", "8080:0", "true"}, "8080:0"},
	{4, []string{"run", "-p", "99999999999999999999:80", "true"}, "99999999999999999999"},
	{4, []string{"run", "-p", "8080:80", "-p", "8080:81", "true"}, "8080"},
	{4, []string{"run", "--network", "none", "-p", "8080:80", "true"}, "-p"},
	{4, []string{"run", "--subnet", "8.8.8.0/24", "true"}, "8.8.8.0/24"},
	{4, []string{"run", "--subnet", "10.0.0.0/7", "true"}, "10.0.0.0/7"},
	{4, []string{"run", "--subnet", "10.77.0.5/24", "true"}, "10.77.0.5/24"},
	{4, []string{"cleanup", "--nosuchflag"}, "nosuchflag"},
	{5, []string{"run", "-m", "abc", "true"}, "abc"},
	{5, []string{"run", "-m", "1k", "true"}, "1k"},
	{5, []string{"run", "-m", "0", "true"}, "0"},
	{5, []string{"run", "-m", "99999999999999g", "true"}, "99999999999999g"},
	{5, []string{"run", "-m", "1g", "--memory", "2g", "true"}, "memory"},
	{5, []string{"run", "--cpus", "abc", "true"}, "abc"},
	{5, []string{"run", "--cpus", "0", "true"}, "--cpus"},
	{5, []string{"run", "--cpus", "1e400", "true"}, "1e400"},
	{5, []string{"run", "--cpus", "100000", "true"}, "100000"},
	{5, []string{"run", "--pids-limit", "0", "true"}, "--pids-limit"},
	{5, []string{"run", "--pids-limit", "3", "true"}, "--pids-limit"},
	{5, []string{"run", "--pids-limit", "abc", "true"}, "abc"},
	{5, []string{"run", "--cpuset-cpus", "0-100000000", "true"}, "0-100000000"},
	{5, []string{"run", "--cpuset-cpus", "4000", "true"}, "4000"},
	{5, []string{"run", "--cpuset-cpus", "1,,2", "true"}, "--cpuset-cpus"},
	{6, []string{"run", "-v", "relative:/data", "true"}, "relative:/data"},
	{6, []string{"run", "-v", "/tmp", "true"}, "/tmp"},
	{6, []string{"run", "-v", "/tmp:/data:rw:more", "true"}, "/tmp:/data:rw:more"},
	{6, []string{"run", "-v", "/tmp:/data:rx", "true"}, "/tmp:/data:rx"},
	{6, []string{"run", "-v", "/nonexistent:/data", "true"}, "/nonexistent"},
	{6, []string{"run", "-v", "/tmp:/proc", "true"}, "/proc"},
	{6, []string{"run", "-v", "/tmp:/dev/shm", "true"}, "/dev"},
	{6, []string{"run", "-v", "/tmp:/sys/fs", "true"}, "/sys"},
	{6, []string{"run", "nosuchimage", "true"}, "nosuchimage"},
	{6, []string{"run", "Bad/Name", "true"}, "Bad/Name"},
	{6, []string{"import"}, "tarball"},
	{6, []string{"import", "/nonexistent.tar", "x"}, "/nonexistent.tar"},
	{6, []string{"import", "/etc/hostname", "tinyrun-test-bad"}, "/etc/hostname"},
	{6, []string{"import", tarballPlaceholder, "Bad Name"}, "Bad Name"},
	{6, []string{"import", "--base", "nosuchimage", tarballPlaceholder, "tinyrun-test-bad"}, "nosuchimage"},
	{6, []string{"import", "--nosuchflag", tarballPlaceholder, "x"}, "nosuchflag"},
	{6, []string{"rmi"}, "image"},
	{6, []string{"rmi", "nosuchimage"}, "nosuchimage"},
	{6, []string{"rmi", "a", "b"}, "image"},
	{6, []string{"images", "--nosuchflag"}, "nosuchflag"},
	{7, []string{"run", "--security-opt", "seccomp=/nonexistent.json", "true"}, "/nonexistent.json"},
	{7, []string{"run", "--security-opt", "seccomp=/etc/passwd", "true"}, "not a seccomp profile"}, // every machine has it; no JSON
	{7, []string{"run", "--security-opt", "seccomp=", "true"}, "seccomp="},
}

func checkBadInputIsOneClearLine(t *testing.T, s step) {
	tarball := ""
	for _, b := range badInputs {
		if b.since > s.number {
			continue
		}
		args := append([]string(nil), b.args...)
		for i, a := range args {
			if a != tarballPlaceholder {
				continue
			}
			if tarball == "" {
				var err error
				if tarball, err = tarDirectory(rootfsDir); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(tarball)
			}
			args[i] = tarball
		}
		if args[0] == "run" && strings.HasPrefix(args[1], "-") && args[1] != "--rootfs" {
			// The step's rootfs or image goes between the flags and the
			// command, so that the bad flag is all that is wrong. (A line
			// that names its own image or rootfs is left as it is.)
			args = s.runArgs(args[1:len(args)-1], args[len(args)-1])
		}
		what := s.name + " " + strings.Join(args, " ")
		r := s.run(t, args...)
		if r.status != 125 {
			t.Errorf("%s: want status 125 (the runtime's own error), got %v", what, r)
		}
		wantOneLineError(t, what, r, b.mention)
		if strings.Contains(r.stderr, "goroutine ") || r.stdout != "" {
			t.Errorf("%s: want one line of error and no output, got %v", what, r)
		}
		assertHostAsFound(t, what)
	}
}
