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

__attribute__((constructor)) static void waitForContainer(int argc, char **argv, char **envp) {
	const char *pid = getenv("TINYRUN_WAIT");
	if (pid == NULL)
		return;
	pid_t child = atoi(pid);
	// Still a child, not reaped: the pidfd is of the container itself.
	container = syscall(SYS_pidfd_open, child, 0);
	if (container < 0)
		fprintf(stderr, "tinyrun: pidfd_open %d: %s: the monitor cannot relay signals\n", child, strerror(errno));
	struct sigaction action = {.sa_sigaction = passOn, .sa_flags = SA_SIGINFO | SA_RESTART};
	int relayed[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < sizeof relayed / sizeof relayed[0]; i++)
		sigaction(relayed[i], &action, NULL);
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1; // not a child: "monitor" reports it
			break;
		}
	}
	char text[16];
	snprintf(text, sizeof text, "%d", status);
	setenv("TINYRUN_WAIT_STATUS", text, 1);
	unsetenv("TINYRUN_WAIT");
	execv("/proc/self/exe", argv); // the same arguments: "monitor ID"
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
// above: it execs this binary again, as "monitor ID", with TINYRUN_WAIT
// naming the container's PID 1, and the memory limit for the OOM message.
// It returns only if the exec fails. The waiter relays the monitor's
// signals itself: signals is not needed here.
func waitAsMonitor(cmd *exec.Cmd, rec *record, l limits, signals chan os.Signal) error {
	env := append(os.Environ(), "TINYRUN_WAIT="+strconv.Itoa(cmd.Process.Pid), "TINYRUN_MEMORY="+l.memoryString())
	err := unix.Exec("/proc/self/exe", []string{programName, "monitor", rec.ID}, env)
	return killAndWait(cmd, fmt.Errorf("exec the monitor's waiter: %w", err))
}
