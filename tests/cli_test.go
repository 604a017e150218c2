package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func checkHelpListsTheRunCommand(t *testing.T, s step) {
	r := s.run(t, "--help")
	if r.status != 0 || !strings.Contains(r.stdout, "run") {
		t.Errorf("--help: want exit status 0 and a list of commands naming run, got %v", r)
	}
	r = s.run(t, "run", "--help")
	if r.status != 0 || !strings.Contains(r.stdout, "--hostname") {
		t.Errorf("run --help: want exit status 0 and the --hostname flag described, got %v", r)
	}
}

func checkOutputPassesThroughUntouched(t *testing.T, s step) {
	r := s.runWithInput(t, "from stdin\n", s.runArgs(nil, "sh", "-c", "cat; echo to stdout; echo to stderr >&2")...)
	if r.status != 0 || r.stdout != "from stdin\nto stdout\n" || r.stderr != "to stderr\n" {
		t.Errorf("want stdout %q, stderr %q and exit status 0, got %v", "from stdin\nto stdout\n", "to stderr\n", r)
	}
}

func checkExitStatusIsTheCommands(t *testing.T, s step) {
	for _, want := range []int{0, 1, 7, 255} {
		r := s.runContainer(t, nil, "sh", "-c", "exit "+strconv.Itoa(want))
		if r.status != want {
			t.Errorf("run sh -c 'exit %d': want exit status %d, got %v", want, want, r)
		}
	}
}

func checkKilledContainerExitsWith128PlusSignal(t *testing.T, s step) {
	c := s.start(t, nil, "sh", "-c", "echo ready; exec sleep 30")
	c.waitForLine(t, "ready")
	// SIGKILL from the host reaches even a PID 1 without a handler.
	if err := syscall.Kill(c.containerPID(t), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if status, _ := c.wait(t); status != 128+9 {
		t.Errorf("container killed by SIGKILL: want the runtime to exit with 137, got %d (stderr %q)", status, c.stderr.String())
	}
}

// wantOneLineError fails t unless r is a failure with one line on stderr
// holding every one of words.
func wantOneLineError(t *testing.T, what string, r result, words ...string) {
	t.Helper()
	if r.status == 0 {
		t.Errorf("%s: want a non-zero exit status, got %v", what, r)
	}
	if !oneLine(r.stderr) {
		t.Errorf("%s: want one line on stderr, got %q", what, r.stderr)
	}
	for _, w := range words {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: want the error to mention %q, got %q", what, w, r.stderr)
		}
	}
}

// assertHostAsFound fails t if the host differs from the snapshot taken when
// the check began: for a run that failed, which must leave nothing behind,
// checked at once, before a later run of the same check can tidy it away.
func assertHostAsFound(t *testing.T, after string) {
	t.Helper()
	if diff := checkBaseline.diffSettled(); diff != "" {
		t.Errorf("after %s, the host is not as the check found it:\n%s", after, diff)
	}
}

func checkNoCommandIsAnError(t *testing.T, s step) {
	wantOneLineError(t, "run without a command", s.run(t, s.runArgs(nil)...), "command")
}

func checkUnknownFlagIsAnError(t *testing.T, s step) {
	wantOneLineError(t, "run --no-such-flag true", s.runContainer(t, []string{"--no-such-flag"}, "true"), "no-such-flag")
}

func checkMissingCommandExits127(t *testing.T, s step) {
	r := s.runContainer(t, nil, "no-such-command-tinyrun")
	wantOneLineError(t, "run no-such-command-tinyrun", r, "no-such-command-tinyrun")
	if r.status != 127 {
		t.Errorf("run no-such-command-tinyrun: want exit status 127, as a shell gives, got %d", r.status)
	}
}

func checkBadHostnameIsRejected(t *testing.T, s step) {
	for _, name := range []string{"bad name", "-leading-dash", strings.Repeat("a", 65)} {
		r := s.runContainer(t, []string{"--hostname", name}, "true")
		wantOneLineError(t, "run --hostname "+name, r, "hostname")
	}
}

func checkNonRootIsRefused(t *testing.T, s step) {
	// A copy the unprivileged user can reach, whatever the checkout's permissions.
	// (t.TempDir's parent directory is private to root.)
	dir, err := os.MkdirTemp("", "tinyrun-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(s.bin))
	data, err := os.ReadFile(s.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	unprivileged := step{number: s.number, name: s.name, bin: bin}
	r := unprivileged.runAs(t, 65534, unprivileged.runArgs(nil, "true")...)
	wantOneLineError(t, "run as user nobody", r, "needs root")
}
