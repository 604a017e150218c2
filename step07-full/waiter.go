//go:build cgo

// The monitor's waiter, in C: what waits for a detached container while it
// runs, without a Go runtime (monitor.go says why). Built without cgo,
// waiter_nocgo.go takes its place.
//
// Read: man 2 wait4, man 2 execve, man 2 sigaction.
package main

/*
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// container is a pidfd of the process the monitor waits for (man 2
// pidfd_open), -1 until it is open. Through it, a signal reaches that
// process or, once it is reaped, nothing: never one that has taken its PID
// since. (By PID, kill() between waitpid() and forgetting the PID could.)
static volatile int container = -1;

// passOn relays to the container the signals sent to the monitor (si_code
// SI_USER), as a foreground run relays them (pid.go). It saves errno, which
// the call may change under the interrupted waitpid().
static void passOn(int sig, siginfo_t *info, void *context) {
	int saved = errno;
	if (container >= 0 && info->si_code == SI_USER)
		syscall(SYS_pidfd_send_signal, container, sig, NULL, 0);
	errno = saved;
}

// waitForContainer runs in every start of this binary, and does nothing
// unless it is started as "tinyrun monitor --wait PID ID" (waitAsMonitor).
// The monitor is a subreaper (monitor.go): any process handed to it is
// reaped too, until the container is.
__attribute__((constructor)) static void waitForContainer(int argc, char **argv, char **envp) {
	if (argc != 5 || strcmp(argv[1], "monitor") != 0 || strcmp(argv[2], "--wait") != 0)
		return;
	pid_t child = atoi(argv[3]);
	// Still a child, not reaped: the pidfd is of the container itself.
	container = syscall(SYS_pidfd_open, child, 0);
	if (container < 0)
		fprintf(stderr, "tinyrun: pidfd_open %d: %s: the monitor cannot relay signals\n", child, strerror(errno));
	struct sigaction action = {.sa_sigaction = passOn, .sa_flags = SA_SIGINFO | SA_RESTART};
	int relayed[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < sizeof relayed / sizeof relayed[0]; i++)
		sigaction(relayed[i], &action, NULL);
	int status;
	for (;;) {
		pid_t reaped = waitpid(-1, &status, 0);
		if (reaped == child)
			break;
		if (reaped < 0 && errno != EINTR) {
			status = -1; // not a child: "monitor" reports it
			break;
		}
	}
	// The end, in Go again, told the status in its arguments.
	char text[16];
	snprintf(text, sizeof text, "%d", status);
	char *end[] = {argv[0], "monitor", "--status", text, argv[4], NULL};
	execv("/proc/self/exe", end);
	fprintf(stderr, "tinyrun: exec the end of the monitor: %s\n", strerror(errno));
	_exit(125);
}
*/
import "C"

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"
)

// waitAsMonitor makes the monitor, once its container runs, the C waiter
// above: it execs this binary again, as "monitor --wait PID ID", PID the
// container's PID 1. It returns only if the exec fails. The waiter relays
// the monitor's signals itself, and the end finds the limits in the
// bundle's config.json: signals and l are not needed here.
func waitAsMonitor(cmd *exec.Cmd, rec *record, l limits, signals chan os.Signal) error {
	err := unix.Exec("/proc/self/exe", []string{programName, "monitor", "--wait", strconv.Itoa(cmd.Process.Pid), rec.ID}, []string{})
	return killAndWait(cmd, fmt.Errorf("exec the monitor's waiter: %w", err))
}
