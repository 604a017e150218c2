// The monitor: what watches a detached container.
//
// A container started with run -d must outlive the command that started
// it, yet something has to stay its parent: to reap it (wait(2)) and so
// learn how it ended, to record that, and to give back what it held. Docker
// has containerd-shim for this, one per container; tinyrun has a monitor,
// which is this same binary running the same run, with one difference: the
// container's stdin is /dev/null and its stdout and stderr go to its log.
//
//	run -d   checks the flags, starts the monitor in a session of its own
//	         (setsid), with its stderr on a pipe, and waits on that pipe
//	monitor  reserve, start, connect as in run; once the container runs it
//	         writes "started" and closes the pipe; then waits and releases
//	run -d   reads "started": prints the ID and exits; anything else is the
//	         monitor's error, which it prints as its own
//
// The container writes its log itself: the log file is its stdout and
// stderr, so the monitor copies nothing and costs nothing while it waits.
// The container's parent-death signal is tied to the monitor (pid.go): a
// monitor killed with SIGKILL takes its container with it, and the next
// command that takes the lock records it as exited (reclaim, state.go).
//
// Read: man 2 setsid, man 2 wait4, man 7 pipe.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// monitorStarted is what the monitor writes to run -d once the container runs.
const monitorStarted = "started\n"

// startMonitor starts the monitor of container c, which runs it; it returns
// once the container runs, after printing its ID, or with the monitor's
// error if it could not start it.
func startMonitor(c containerConfig) error {
	report, reportWriter, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create pipe: %w", err)
	}
	defer report.Close()
	// The same command line, told that it is the monitor of container c.id.
	args := append([]string{"run", "--monitor", c.id}, os.Args[2:]...)
	monitor := exec.Command("/proc/self/exe", args...)
	monitor.Args[0] = programName // what ps shows
	monitor.Stderr = reportWriter // stdin and stdout: /dev/null (os/exec)
	// A session of its own: no terminal, so no SIGHUP when the user's
	// terminal closes, and no Ctrl-C from it.
	monitor.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = monitor.Start()
	reportWriter.Close() // the monitor has its own copy: EOF comes when it closes it
	if err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	said, err := io.ReadAll(report)
	if err != nil {
		return fmt.Errorf("read from monitor: %w", err)
	}
	if string(said) == monitorStarted {
		fmt.Println(c.id)
		return monitor.Process.Release() // it outlives this process: init reaps it
	}
	// The container did not start, and the monitor exits: with 125 for
	// its own failure, with 126 or 127 for a command that could not run.
	state, err := monitor.Process.Wait()
	if err != nil {
		return fmt.Errorf("wait for monitor: %w", err)
	}
	reason := strings.TrimPrefix(strings.TrimSpace(string(said)), programName+": ")
	if reason == "" {
		reason = fmt.Sprintf("the monitor of container %s exited before the container started: see '%s ps -a'", c.id, programName)
	}
	status := state.ExitCode()
	if status != statusCannotExec && status != statusNotFound {
		status = statusRuntimeError
	}
	return commandError{status, errors.New(reason)}
}

// logStdio is a detached container's stdio, in its monitor: stdin /dev/null,
// stdout and stderr its log (rec.logPath).
func logStdio(rec *record) (*containerStdio, error) {
	log, err := os.OpenFile(rec.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	return &containerStdio{in: null, out: log, err: log,
		started: func(failed string) {
			// Tell run -d, then close the pipe. From here on the monitor has
			// nobody to tell: the record says how the container ended.
			if failed == "" {
				fmt.Fprint(os.Stderr, monitorStarted)
			} else {
				fmt.Fprintln(os.Stderr, failed)
			}
			_ = unix.Dup2(int(null.Fd()), 2)
		},
		close: func() { log.Close(); null.Close() },
	}, nil
}
