// The freezer: a container's processes stopped, all at once, and let go.
//
// commit copies a running container's upper directory. A container that
// writes meanwhile would leave some files as they were and others as they
// became, a layer that no moment of the container ever held. So commit
// freezes the container first, as docker commit pauses it. A frozen
// process is stopped by the kernel wherever it is, and does not know it:
// no signal, nothing it can catch or refuse, and every process of the
// cgroup, including those it forks meanwhile (cgroup-v2.rst "Core
// Interface Files", cgroup.freeze; cgroup-v1/freezer-subsystem.rst):
//
//	v2   cgroup.freeze: write 1; cgroup.events says "frozen 1" once all are
//	     stopped; write 0 to let them go
//	v1   the freezer hierarchy's freezer.state: write FROZEN; it reads
//	     FREEZING until all are stopped, then FROZEN; write THAWED
//
// A frozen v1 process cannot die, not even of SIGKILL, until it is thawed:
// so whatever kills a container thaws it first (thaw, in stop, kill, rm).
//
// Read: the kernel's admin-guide/cgroup-v2.rst and
// admin-guide/cgroup-v1/freezer-subsystem.rst.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// freezeTimeout bounds the wait for the kernel to stop every process.
const freezeTimeout = 10 * time.Second

// freezer is where a cgroup is frozen: the file to write, the values that
// freeze and thaw it, and how to read that it is frozen.
type freezer struct {
	file          string
	freeze, thaw  string
	frozen        func() bool
	describeState func() string
}

// freezerOf finds where cg is frozen: its v1 freezer part, or its v2
// directory; ok is false for a container without a cgroup.
func freezerOf(cg *cgroup) (f freezer, ok bool) {
	if cg == nil {
		return f, false
	}
	if p, found := cg.part("freezer"); found {
		state := filepath.Join(p.Dir, "freezer.state")
		read := func() string { return readTrimmed(state) }
		return freezer{file: state, freeze: "FROZEN", thaw: "THAWED",
			frozen: func() bool { return read() == "FROZEN" }, describeState: read}, true
	}
	for _, p := range cg.Parts {
		if p.Version == 2 {
			events := filepath.Join(p.Dir, "cgroup.events")
			read := func() string { data, _ := os.ReadFile(events); return string(data) }
			return freezer{file: filepath.Join(p.Dir, "cgroup.freeze"), freeze: "1", thaw: "0",
				frozen:        func() bool { return strings.Contains(read(), "frozen 1") },
				describeState: func() string { return strings.ReplaceAll(strings.TrimSpace(read()), "\n", ", ") }}, true
		}
	}
	return f, false
}

// freezeContainer stops every process of rec's container, and returns the
// function that lets them go, which the caller must call (defer). A host
// with neither freezer (a v1 host without the freezer hierarchy) has
// nothing to freeze it with: then commit copies it running, and says so.
func freezeContainer(rec *record) (thaw func() error, err error) {
	f, ok := freezerOf(rec.Cgroup)
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: container %s has no freezer on this host: committing it as it runs\n", programName, rec.Name)
		return func() error { return nil }, nil
	}
	thaw = func() error { return writeCgroupFile(f.file, f.thaw) }
	if err := writeCgroupFile(f.file, f.freeze); err != nil {
		if !fileExists(f.file) {
			return func() error { return nil }, nil // it has just ended: its owner removed the cgroup
		}
		return nil, fmt.Errorf("freeze container %s: %w", rec.Name, err)
	}
	deadline := time.Now().Add(freezeTimeout)
	for !f.frozen() {
		if time.Now().After(deadline) {
			state := f.describeState()
			_ = thaw()
			return nil, fmt.Errorf("freeze container %s: not frozen after %v (%s): its processes are let go; try again", rec.Name, freezeTimeout, state)
		}
		time.Sleep(time.Millisecond)
	}
	return thaw, nil
}

// thawContainer lets rec's container go if it is frozen: a commit killed
// while it held it frozen leaves it so. Safe to call on any container.
func thawContainer(rec *record) {
	if f, ok := freezerOf(rec.Cgroup); ok {
		_ = writeCgroupFile(f.file, f.thaw)
	}
}
