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
#include <sys/wait.h>
#include <unistd.h>

// container is the process the monitor waits for; 0 once it is reaped, so
// that no signal goes to a PID that another process may have taken.
static volatile pid_t container;

// passOn relays to the container the signals sent to the monitor (si_code
// SI_USER), as a foreground run relays them (pid.go). It saves errno, which
// kill() may change under the interrupted waitpid().
static void passOn(int sig, siginfo_t *info, void *context) {
	int saved = errno;
	if (container > 0 && info->si_code == SI_USER)
		kill(container, sig);
	errno = saved;
}

__attribute__((constructor)) static void waitForContainer(int argc, char **argv, char **envp) {
	const char *pid = getenv("TINYRUN_WAIT");
	if (pid == NULL)
		return;
	container = atoi(pid);
	struct sigaction action = {.sa_sigaction = passOn, .sa_flags = SA_SIGINFO | SA_RESTART};
	int relayed[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < sizeof relayed / sizeof relayed[0]; i++)
		sigaction(relayed[i], &action, NULL);
	int status;
	while (waitpid(container, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1; // not a child: "monitor" reports it
			break;
		}
	}
	container = 0;
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
