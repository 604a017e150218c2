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
// Order: the parent catches signals from the start (catchSignals), adds
// pidCloneFlags and containerDeathSignal to clone(2) (run, in main.go), then
// relays what it caught with forwardSignals until the container exits.
// The child has nothing to do: it is PID 1 from its first instruction.
//
// Read: man 7 pid_namespaces, man 2 clone, man 7 signal, man 2 prctl.
package main

import (
	"os"
	"os/signal"
	"runtime"

	"golang.org/x/sys/unix"
)

// pidCloneFlags asks clone(2) to start the child as PID 1 of a new PID namespace.
const pidCloneFlags = unix.CLONE_NEWPID

// newSession puts the container in a session of its own (setsid(2), in
// the child, before it execs): a session has at most one controlling
// terminal, and the new one has none. Left in the runtime's session, the
// container would have the user's terminal as its controlling terminal, and
// could push keystrokes into the shell that started it (ioctl TIOCSTI, man 2
// ioctl_tty), or be stopped by it as a background job. (A process with
// CAP_SYS_ADMIN may still use TIOCSTI on any terminal it has open: root in
// the container keeps it until step 06 drops it.)
const newSession = true

// containerDeathSignal is sent to the container's PID 1 if the runtime dies
// (PR_SET_PDEATHSIG, man 2 prctl); PID 1's death then takes the whole
// namespace with it, so a killed runtime leaves no container behind.
const containerDeathSignal = unix.SIGKILL

// init locks the main goroutine to the main thread, in the parent and in the
// child alike. The kernel keeps the parent-death signal per thread: it fires
// when the thread that forked the child exits, and only the thread that
// clone(2) created has it set, so the child's execve(2) of the command must
// run there, or the setting is lost. runc's init does the same.
func init() {
	runtime.LockOSThread()
}

// forwardedSignals are the signals a user sends to stop or poke a program:
// sent to the runtime, they are meant for the program in the container.
var forwardedSignals = []os.Signal{
	unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
}

// catchSignals starts catching forwardedSignals on one channel, for the
// whole run: from before the container starts (a signal that comes then
// must not kill the runtime half-way; it waits in the channel) until run
// returns, when the caller passes the channel to signal.Stop. Signals of a
// kind already waiting are merged (man 7 signal: standard signals are not
// queued either).
func catchSignals() chan os.Signal {
	signals := make(chan os.Signal, len(forwardedSignals))
	signal.Notify(signals, forwardedSignals...)
	return signals
}

// forwardSignals relays the signals caught on signals, those waiting first,
// to the container's PID 1 until the returned stop function is called. PID 1
// acts on them only if it installed a handler (see the top of this file).
// Ctrl-C and Ctrl-\ too: the container is in a session of its own
// (newSession), out of reach of the terminal's signals, so the runtime,
// which the terminal does signal, relays them like any other.
func forwardSignals(container *os.Process, signals chan os.Signal) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case sig := <-signals:
				if err := container.Signal(sig); err != nil {
					// PID 1 has exited, or is exiting, as the signal
					// arrived: nobody is left to tell, and Wait will
					// report how it ended.
					continue
				}
			case <-done:
				return
			}
		}
	}()
	// Once stop returns, the channel is the caller's again: signals that
	// come while the container is taken down wait there, unrelayed.
	return func() {
		close(done)
		<-finished
	}
}
