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
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
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

// frozenContainer is a container that commit froze: check says whether
// it still is, thaw lets it go (once). Until thaw, a signal that would end
// commit (Ctrl-C, kill) thaws the container before commit exits: a
// container left frozen would look up, and answer nothing. Only SIGKILL
// can leave it so; then stop, kill, rm and reclaim thaw it.
type frozenContainer struct {
	name    string
	f       freezer
	frozen  bool // by this commit: nothing to check or thaw otherwise
	once    sync.Once
	signals chan os.Signal
	done    chan struct{}
}

// freezeContainer stops every process of rec's container, and returns it
// frozen; the caller must thaw it. A host with neither freezer (a v1 host
// without the freezer hierarchy) has nothing to freeze it with: then
// commit copies it running, and says so.
func freezeContainer(rec *record) (*frozenContainer, error) {
	fz := &frozenContainer{name: rec.Name}
	f, ok := freezerOf(rec.Cgroup)
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: container %s has no freezer on this host: committing it as it runs\n", programName, rec.Name)
		return fz, nil
	}
	fz.f = f
	// Caught before the freeze: from the first write on, a signal thaws.
	fz.signals = make(chan os.Signal, 1)
	fz.done = make(chan struct{})
	signal.Notify(fz.signals, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	go func() {
		select {
		case sig := <-fz.signals:
			_ = writeCgroupFile(f.file, f.thaw)
			os.Exit(128 + int(sig.(unix.Signal)))
		case <-fz.done:
		}
	}()
	if err := writeCgroupFile(f.file, f.freeze); err != nil {
		fz.thaw()
		if !fileExists(f.file) {
			return &frozenContainer{name: rec.Name}, nil // it has just ended: its owner removed the cgroup
		}
		return nil, fmt.Errorf("freeze container %s: %w", rec.Name, err)
	}
	fz.frozen = true
	deadline := time.Now().Add(freezeTimeout)
	for !f.frozen() {
		if time.Now().After(deadline) {
			state := f.describeState()
			return nil, errors.Join(fmt.Errorf("freeze container %s: not frozen after %v (%s): its processes are let go; try again", rec.Name, freezeTimeout, state), fz.thaw())
		}
		time.Sleep(time.Millisecond)
	}
	return fz, nil
}

// check fails if the container was let go while commit copied it: stop,
// kill, rm and another commit's end thaw it (thawContainer).
func (fz *frozenContainer) check() error {
	if fz.frozen && !fz.f.frozen() {
		return fmt.Errorf("container %s was let go during the copy (by stop, kill, rm or another commit): its layer is not of one moment; commit it again", fz.name)
	}
	return nil
}

// thaw lets the container go, once, and stops catching signals.
func (fz *frozenContainer) thaw() error {
	var err error
	fz.once.Do(func() {
		if fz.done == nil {
			return // nothing was frozen
		}
		signal.Stop(fz.signals)
		close(fz.done)
		if err = writeCgroupFile(fz.f.file, fz.f.thaw); err != nil {
			err = fmt.Errorf("thaw container %s: %w (write %s to %s by hand)", fz.name, err, fz.f.thaw, fz.f.file)
		}
	})
	return err
}

// thawContainer lets rec's container go if it is frozen: a commit killed
// with SIGKILL while it held it frozen leaves it so. Whatever kills or
// releases a container calls it first; a container without a cgroup
// (stopped and released) has nothing to thaw.
func thawContainer(rec *record) error {
	f, ok := freezerOf(rec.Cgroup)
	if !ok || !fileExists(f.file) {
		return nil
	}
	if err := writeCgroupFile(f.file, f.thaw); err != nil {
		return fmt.Errorf("thaw container %s: %w", rec.Name, err)
	}
	return nil
}
