// PID namespace: the container's own process IDs, starting at 1.
//
// The first process in a new PID namespace gets PID 1 and, through a /proc
// of that namespace, sees only its own descendants. Being PID 1 brings the
// duties of init (man 7 pid_namespaces):
//
//   - The kernel delivers to PID 1 only the signals it has a handler for, even
//     from the host (SIGKILL and SIGSTOP from an ancestor namespace excepted):
//     a plain "sleep" as PID 1 ignores SIGTERM and Ctrl-C.
//   - Orphaned processes in the namespace are re-parented to PID 1, which
//     must wait(2) for them, or they stay zombies.
//   - When PID 1 exits, the kernel kills every other process in the namespace.
//
// CLONE_NEWPID puts the *children* of the caller in the new namespace, never
// the caller itself, so it is passed to clone(2) for the container process.
//
// Order: the parent adds pidCloneFlags and containerDeathSignal to clone(2)
// (run, in main.go), then calls forwardSignals until the container exits.
// The child has nothing to do: it is PID 1 from its first instruction.
//
// Read: man 7 pid_namespaces, man 2 clone, man 7 signal, man 2 prctl.
package main

import (
	"errors"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// pidCloneFlags asks clone(2) to start the child as PID 1 of a new PID namespace.
const pidCloneFlags = unix.CLONE_NEWPID

// containerDeathSignal is sent to the container's PID 1 if the runtime dies
// (PR_SET_PDEATHSIG, man 2 prctl); PID 1's death then takes the whole
// namespace with it, so a killed runtime leaves no container behind.
const containerDeathSignal = unix.SIGKILL

// forwardedSignals are the signals a user sends to stop or poke a program:
// sent to the runtime, they are meant for the program in the container.
var forwardedSignals = []os.Signal{
	unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
}

// forwardSignals relays forwardedSignals from the runtime to the container's
// PID 1 until the returned stop function is called. PID 1 acts on them only
// if it installed a handler (see the top of this file).
func forwardSignals(container *os.Process) (stop func()) {
	signals := make(chan os.Signal, len(forwardedSignals))
	signal.Notify(signals, forwardedSignals...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-signals:
				// ErrProcessDone: PID 1 exited as the signal arrived, and
				// there is nobody left to tell.
				if err := container.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
					return
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(signals)
		close(done)
	}
}
