package tests

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

func checkCommandIsPID1(t *testing.T, s step) {
	r := s.runContainer(t, nil, "sh", "-c", "echo $$")
	if r.status != 0 || r.stdout != "1\n" {
		t.Errorf("run sh -c 'echo $$': want %q, got %v", "1\n", r)
	}
}

// signalCheck returns a check that sig, sent to the runtime, reaches a PID 1
// that has a handler for it.
func signalCheck(sig syscall.Signal) func(t *testing.T, s step) {
	return func(t *testing.T, s step) {
		// The shell runs its trap between two short sleeps, and leaves no
		// background process behind even where there is no PID namespace.
		script := `trap 'echo got signal; exit 42' TERM INT; echo ready; while :; do sleep 0.1; done`
		c := s.start(t, nil, "sh", "-c", script)
		c.waitForLine(t, "ready")
		if err := c.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		status, out := c.wait(t)
		if status != 42 || out != "got signal\n" {
			t.Errorf("%v sent to the runtime: want the container's trap to print %q and exit 42, got status %d and stdout %q",
				sig, "got signal\n", status, out)
		}
	}
}

func checkContainerDiesWithTheRuntime(t *testing.T, s step) {
	c := s.start(t, nil, "sh", "-c", "echo ready; exec sleep 30")
	c.waitForLine(t, "ready")
	pid := c.containerPID(t)
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(5*time.Second, func() bool { return processGone(pid) }) {
		cmdline := readFileString("/proc/" + itoa(pid) + "/cmdline")
		t.Errorf("the runtime was killed, but its container (PID %d, %q) still runs 5 s later",
			pid, strings.ReplaceAll(cmdline, "\x00", " "))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-c.done
	s.cleanUpAfterKill(t)
}
