package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// commandTimeout bounds every run of a step binary: a hung container fails
// its check instead of hanging the suite.
const commandTimeout = 30 * time.Second

// result is what a finished run of a step binary produced.
type result struct {
	stdout, stderr string
	status         int // the exit status; 128+N when killed by signal N
}

func (r result) String() string {
	return fmt.Sprintf("exit status %d, stdout %q, stderr %q", r.status, clip(r.stdout), clip(r.stderr))
}

// clip shortens output quoted in a failure to its first 400 bytes: a
// failing check must not pour a memory hog's output into the terminal.
func clip(s string) string {
	const most = 400
	if len(s) <= most {
		return s
	}
	return s[:most] + fmt.Sprintf("... (%d bytes more)", len(s)-most)
}

// runArgs returns the arguments for "run" with flags and command, adding
// what the step needs to find its root filesystem. From step 07 on, "run"
// follows Docker: without --rm an exited container is kept until "rm", and
// without -i its stdin is /dev/null; every check written for the earlier
// steps expects a container that is gone when it exits and reads the
// runtime's stdin, so runArgs asks for both.
func (s step) runArgs(flags []string, command ...string) []string {
	args := []string{"run"}
	if s.number >= 7 {
		args = append(args, "--rm", "-i")
	}
	args = append(args, flags...)
	switch {
	case s.number >= 6:
		args = append(args, testImage) // imported from the rootfs (images_test.go)
	case s.number >= 3:
		args = append(args, "--rootfs", rootfsDir)
	}
	return append(args, command...)
}

// argv is the command line that runs the step binary with args: from step 04
// on, inside the test's own network namespace standing for the host (see
// network_test.go), so that the real host's links and firewall are never
// touched. nsenter execs the binary: its PID is the runtime's.
func (s step) argv(args ...string) []string {
	if s.number >= 4 {
		return append([]string{"nsenter"}, inNetns(testHostNS, append([]string{s.bin}, args...)...)...)
	}
	return append([]string{s.bin}, args...)
}

// run runs the step binary with args and waits for it.
func (s step) run(t *testing.T, args ...string) result {
	t.Helper()
	return s.runWithInput(t, "", args...)
}

// runWithInput runs the step binary with args, stdin fed from input.
func (s step) runWithInput(t *testing.T, input string, args ...string) result {
	t.Helper()
	return s.runCommand(t, input, nil, nil, args...)
}

// runWithEnv runs the step binary with args and the environment env.
func (s step) runWithEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return s.runCommand(t, "", nil, env, args...)
}

// runAs runs the step binary with args as the user uid (and group uid).
func (s step) runAs(t *testing.T, uid uint32, args ...string) result {
	t.Helper()
	return s.runCommand(t, "", &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}, nil, args...)
}

// runCommand runs the step binary with args, stdin fed from input, with
// attributes attr and environment env (nil: the suite's), and waits for it.
func (s step) runCommand(t *testing.T, input string, attr *syscall.SysProcAttr, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	argv := s.argv(args...)
	if attr != nil && attr.Credential != nil {
		argv = append([]string{s.bin}, args...) // entering a namespace needs root
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = attr
	cmd.Env = env
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish within %s", s.name, strings.Join(args, " "), commandTimeout)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String(), status: statusOf(t, err)}
	noteRun(args, r.status, r.stderr)
	return r
}

// lastRun sums up the last run of a step binary in the running check, so
// that the grader can show what happened before its hint.
var lastRun atomic.Value

// noteRun records a run of the step binary: its arguments, its exit status
// and the first line of its stderr.
func noteRun(args []string, status int, stderr string) {
	line, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n")
	if len(line) > 160 {
		line = line[:160] + "..."
	}
	summary := fmt.Sprintf("%s: exit status %d", strings.Join(args, " "), status)
	if line != "" {
		summary += ", stderr: " + line
	}
	lastRun.Store(summary)
}

// runContainer runs command in a container of step s with flags.
func (s step) runContainer(t *testing.T, flags []string, command ...string) result {
	t.Helper()
	return s.run(t, s.runArgs(flags, command...)...)
}

// statusOf returns the exit status that err (from Wait) stands for.
func statusOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("run: %v", err)
	}
	ws := exitErr.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// running is a step binary started in the background.
type running struct {
	step   step
	cmd    *exec.Cmd
	args   []string // the step binary's arguments
	stdin  io.WriteCloser
	lines  chan string // the container's stdout, line by line
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

// start starts a container of step s running command, in the background. The
// test ends it with kill or wait; t.Cleanup kills it if the test did not.
func (s step) start(t *testing.T, flags []string, command ...string) *running {
	t.Helper()
	args := s.runArgs(flags, command...)
	argv := s.argv(args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	r := &running{step: s, cmd: cmd, args: args, lines: make(chan string, 100), done: make(chan struct{})}
	cmd.Stderr = &r.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if r.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			r.lines <- scanner.Text()
		}
		close(r.lines)
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			for _, pid := range childrenOf(cmd.Process.Pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			// A container that outlived its runtime (no parent-death
			// signal) is no child of it any more, but still holds the
			// write end of its stdout: find it by that.
			if f, ok := stdout.(*os.File); ok {
				killHoldersOf(f)
			}
			<-r.done
			s.cleanUpAfterKill(t)
		}
	})
	return r
}

// killHoldersOf kills every other process that has the pipe of pipe (one
// of its ends) open, as /proc/PID/fd shows it (man 5 proc).
func killHoldersOf(pipe *os.File) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(pipe.Fd()), &st); err != nil {
		return
	}
	name := fmt.Sprintf("pipe:[%d]", st.Ino)
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		pid, _ := strconv.Atoi(strings.Split(fd, "/")[2])
		if target, err := os.Readlink(fd); err == nil && target == name && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// cleanUpAfterKill removes what a runtime killed with SIGKILL could not: from
// step 04 on, its network state, with the runtime's cleanup command.
func (s step) cleanUpAfterKill(t *testing.T) {
	t.Helper()
	if s.number < 4 {
		return
	}
	if r := s.run(t, "cleanup"); r.status != 0 {
		t.Errorf("cleanup after killing the runtime: %v", r)
	}
}

// finish closes the container's stdin, which ends a container waiting in
// "read line", and waits for the runtime to exit.
func (r *running) finish(t *testing.T) (status int, rest string) {
	t.Helper()
	r.stdin.Close()
	return r.wait(t)
}

// waitForLine waits until the container prints want on a line of its own,
// and returns the lines it printed before.
func (r *running) waitForLine(t *testing.T, want string) (before []string) {
	t.Helper()
	timeout := time.After(commandTimeout)
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				<-r.done
				noteRun(r.args, statusOf(t, r.err), r.stderr.String())
				t.Fatalf("the container exited (%v, stderr %q) before printing %q", r.err, r.stderr.String(), want)
			}
			if line == want {
				return before
			}
			before = append(before, line)
		case <-timeout:
			t.Fatalf("the container did not print %q within %s", want, commandTimeout)
		}
	}
}

// wait waits for the runtime to exit and returns its status and the rest of its stdout.
func (r *running) wait(t *testing.T) (status int, rest string) {
	t.Helper()
	var out strings.Builder
	timeout := time.After(commandTimeout)
	for {
		select {
		case line, ok := <-r.lines:
			if ok {
				out.WriteString(line + "\n")
				continue
			}
			<-r.done
			status := statusOf(t, r.err)
			noteRun(r.args, status, r.stderr.String())
			return status, out.String()
		case <-timeout:
			t.Fatalf("the runtime did not exit within %s", commandTimeout)
		}
	}
}

// containerPID returns the host PID of the runtime's child: the container's
// first process.
func (r *running) containerPID(t *testing.T) int {
	t.Helper()
	children := childrenOf(r.cmd.Process.Pid)
	if len(children) != 1 {
		t.Fatalf("the runtime (PID %d) has %d child processes, want exactly 1 (the container)", r.cmd.Process.Pid, len(children))
	}
	return children[0]
}

// childrenOf lists the PIDs whose parent is pid, read from /proc/PID/stat.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var children []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _ := processParent(child); ppid == pid {
			children = append(children, child)
		}
	}
	return children
}

// processParent returns the parent PID and the state letter of pid.
func processParent(pid int) (ppid int, state string) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, ""
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 2 {
		return 0, ""
	}
	ppid, _ = strconv.Atoi(fields[1])
	return ppid, fields[0]
}

// processGone reports whether pid has exited (it may linger as a zombie
// until its new parent reaps it, but it runs no more).
func processGone(pid int) bool {
	_, state := processParent(pid)
	return state == "" || state == "Z" || state == "X"
}

// waitUntil polls cond until it holds or timeout passes, and reports whether it held.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hostHostname reads the host's hostname.
func hostHostname(t *testing.T) string {
	t.Helper()
	name, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// oneLine reports whether s is exactly one line of text, as an error of the
// runtime must be.
func oneLine(s string) bool {
	return strings.Count(s, "\n") == 1 && strings.HasSuffix(s, "\n") && strings.TrimSpace(s) != ""
}
