// The lifecycle: where a container is in its life, and what may be done to
// it there, in one place.
//
// A container's status is one of the runtime spec's states (runtime.md,
// "State"), read from its record and from the processes the record names,
// never stored, so that it cannot go stale:
//
//	creating   its owner (run, or run -d's monitor) is making it: no command yet
//	created    made: its PID 1 waits for start, just before its execve
//	           (start.go), its FIFO still there
//	running    its command runs: rec.Init, by PID and start time, is alive
//	stopped    its command has ended (or never started); rec.Exit says how,
//	           once its owner, or a reclaim, has released what it held
//
// run goes through created at once; create stops there, until start.
//
// The status comes from the container's own first process, not from who
// owns the record: a container whose owner was killed is stopped because
// its PID 1 died with it (pid.go), and one whose PID 1 has ended is stopped
// even while its owner is still recording how.
//
// Every command that acts on a container asks lifecycle whether it may
// (mayAct), and refuses in one line when it may not.
package main

import (
	"fmt"
	"slices"
	"strings"
)

// status is a container's state, in the runtime spec's words.
type status string

const (
	statusCreating status = "creating"
	statusCreated  status = "created"
	statusRunning  status = "running"
	statusStopped  status = "stopped"
)

// status reads rec's state.
func (rec *record) status() status {
	switch {
	case rec.Exit != nil:
		return statusStopped
	case rec.Init.PID != 0 && rec.Init.alive() && rec.created():
		return statusCreated
	case rec.Init.PID != 0 && rec.Init.alive():
		return statusRunning
	case rec.Init.PID != 0:
		return statusStopped // ended; not yet recorded, or its owner was killed
	case rec.Owner.alive():
		return statusCreating
	}
	return statusStopped // its owner died while making it
}

// released reports whether what rec held while it ran is given back: its
// end is recorded, and its cgroup and network are gone (ended, by its owner
// or by reclaim). A stopped container that is not released yet has an
// owner still at work, or a dead one that the next reclaim stands in for:
// a state of its own, runc's "stopped" before its destroy has run.
func (rec *record) released() bool {
	return rec.Exit != nil && rec.Cgroup == nil && rec.MonitorCgroup == nil && rec.Netns == "" && rec.Network == nil
}

// state is the word ps shows for rec's status: Docker's. A stopped
// container is shown running until its end is recorded, with its exit
// code, as Docker shows one until containerd reports the exit: only its
// owner knows the code.
func (rec *record) state() string {
	switch now := rec.status(); {
	case now == statusRunning, now == statusStopped && !rec.released() && rec.Owner.alive():
		return "running"
	case now == statusCreating, now == statusCreated:
		return "created"
	}
	return "exited"
}

// lifecycle is, for each command that acts on a container, the states it
// may act in, and what it says in the others ({state}: the status).
var lifecycle = map[string]struct {
	in      []status
	refusal string
}{
	"start": {[]status{statusCreated}, "is {state}: start runs a created one's command (make one with create)"},
	"exec":  {[]status{statusRunning}, "is not running: exec needs a running one (start one with run)"},
	"kill":  {[]status{statusCreated, statusRunning}, "is not running"},
	// stop of a stopped container has nothing to do, as in Docker.
	"stop": {[]status{statusCreated, statusRunning, statusStopped}, "is {state}: wait until it has started"},
	// rm -f kills a creating or running one first (removeContainer).
	"rm":     {[]status{statusStopped}, "is {state}: stop it first, or use rm -f"},
	"rm -f":  {[]status{statusCreating, statusCreated, statusRunning, statusStopped}, ""},
	"commit": {[]status{statusCreated, statusRunning, statusStopped}, "is {state}: wait until it has started"},
	// tinyrun runtime's verbs (runtime.go), as runc allows them.
	"runtime start":          {[]status{statusCreated}, "is {state}: start runs a created one's command"},
	"runtime kill":           {[]status{statusCreated, statusRunning}, "is not running"},
	"runtime delete":         {[]status{statusCreated, statusStopped}, "is {state}: kill it first, or use delete --force"},
	"runtime delete --force": {[]status{statusCreating, statusCreated, statusRunning, statusStopped}, ""},
}

// mayAct returns nil if command may act on rec now, or the one line that
// says why not.
func (rec *record) mayAct(command string) error {
	rule, known := lifecycle[command]
	if !known {
		return fmt.Errorf("lifecycle: no rule for %q", command)
	}
	if slices.Contains(rule.in, rec.status()) {
		return nil
	}
	return fmt.Errorf("container %s %s", rec.Name, strings.ReplaceAll(rule.refusal, "{state}", string(rec.status())))
}
