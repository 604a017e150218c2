//go:build cgo

package main

// The C half of exec: joining a running container's namespaces.
//
// setns(2) moves the calling thread into a namespace; a process whose
// threads share its filesystem information cannot enter a mount namespace
// (EINVAL), so only a single-threaded process can. A Go program is never
// single-threaded: its runtime starts threads before main runs. So the join
// happens in a C constructor, which the C library runs before it hands over
// to Go's runtime, while the process still has one thread: the way runc's
// nsexec does it.
//
// joinContainer runs in every start of this binary, and does nothing unless
// it is started as "tinyrun joined", exec's child (the C library passes a
// constructor the program's arguments). Then:
//
//	1. read a byte from fd 3: exec writes it once it has put this process
//	   in the container's cgroup, which its children inherit, followed by
//	   its request, which the child reads; then make this process not
//	   dumpable
//	2. setns(fd 4, every kind at once): fd 4 is a pidfd of the container's
//	   PID 1 (Linux 5.8), so the namespaces are those of that very process,
//	   never of one that took its PID since; then fchdir(fd 5) and chroot:
//	   joining a mount namespace sets the root directory to the namespace's
//	   first mount, which is PID 1's root only if its runtime was not itself
//	   in a chroot; fd 5 is PID 1's root (/proc/PID/root), as nsenter -r
//	   does it
//	3. fork: a new PID namespace takes in only children (man 7
//	   pid_namespaces), so the child is in the container's, and this
//	   process is not. The child returns and Go starts in it (the "joined"
//	   command, exec.go); this process waits for it, relays the signals exec
//	   sends it, and exits with its status, as a shell reports it.
//
// Read: man 2 setns, man 2 pidfd_open, man 7 namespaces, man 2 sigaction.

/*
#cgo CFLAGS: -Wall -Werror
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// joined is 1 in the process that runs inside the container.
int joined;

// inside is a pidfd of the process inside the container, once forked, -1
// before: a signal through it never reaches a process that took its PID
// after it was reaped (man 2 pidfd_open).
static volatile int inside = -1;

static void fail(const char *what) {
	fprintf(stderr, "tinyrun: exec: %s: %s\n", what, strerror(errno));
	_exit(125);
}

// relay passes on the signals that exec sends (si_code SI_USER), not those
// a terminal sends its whole foreground process group, which reach the
// process inside already.
static void relay(int sig, siginfo_t *info, void *context) {
	int saved = errno; // the call may change it under the interrupted waitpid()
	if (inside >= 0 && info->si_code == SI_USER)
		syscall(SYS_pidfd_send_signal, inside, sig, NULL, 0);
	errno = saved;
}

__attribute__((constructor)) static void joinContainer(int argc, char **argv, char **envp) {
	if (argc != 2 || strcmp(argv[1], "joined") != 0)
		return;
	char go;
	if (read(3, &go, 1) != 1)
		fail("wait for the cgroup");
	// Not dumpable: until the command's execve makes it dumpable again,
	// no process of the container may read this one's memory, descriptors
	// or /proc/PID/exe, nor ptrace it, whatever its capabilities then
	// (man 2 prctl, PR_SET_DUMPABLE; runc does the same, CVE-2016-9962).
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("prctl PR_SET_DUMPABLE");
	if (setns(4, CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS) < 0)
		fail("setns into the container's namespaces");
	if (fchdir(5) < 0 || chroot(".") < 0)
		fail("enter the container's root directory");
	close(4);
	close(5);
	struct sigaction action = {.sa_sigaction = relay, .sa_flags = SA_SIGINFO | SA_RESTART};
	int relayed[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < sizeof relayed / sizeof relayed[0]; i++)
		sigaction(relayed[i], &action, NULL);
	pid_t child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		// Go's runtime installs its own handlers; none of these is left.
		// fd 3 stays open, for the request.
		joined = 1;
		return;
	}
	close(3);
	inside = syscall(SYS_pidfd_open, child, 0);
	if (inside < 0) {
		kill(child, SIGKILL); // not left running with nobody waiting for it
		fail("pidfd_open");
	}
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			fail("wait");
	_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}
*/
import "C"

// joinedByConstructor reports whether joinContainer moved this process into
// a container. Without cgo this file is left out of the build, and
// nsenter_nocgo.go says that exec cannot work.
func joinedByConstructor() bool { return C.joined == 1 }

// execNeedsCgo is exec's error in a runtime built without cgo; nil here.
var execNeedsCgo error
