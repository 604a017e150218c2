// The container record: one file per container that says what to undo.
//
// From this step on, running a container changes the host in ways that
// outlive a process: an address is leased, a veth and firewall rules are
// added, a bridge may be created. A runtime killed with SIGKILL cannot undo
// them itself (its container dies with it, pid.go). So each container has one
// record, /run/tinyrun/containers/ID/state.json, which names the runtime that
// owns it and everything made for it, and there is one function, teardown,
// that undoes whatever a record describes (runc calls it destroy). It runs
// in five places:
//
//	release    when the container exits with --rm, or its start failed
//	           half-way (else ended, container.go, keeps the record and
//	           gives back only what it held while it ran)
//	reclaim    when a later command finds a record whose owner is gone
//	           before it released it
//	reserve    when reserving fails, for what it had made so far
//	rm         when the user removes an exited container
//	delete     tinyrun runtime delete (runtime.go)
//
// A record is written (atomically, writeJSON) before the thing it describes
// is made, so it describes at least what exists; every undo accepts that its
// object is gone already; and the record is removed last, so a teardown cut
// short by another SIGKILL is finished by the next reclaim.
//
// An owner is a PID and the process's start time: by the time anybody looks,
// a dead runtime's PID may belong to another process, with another start.
//
// Every change to the records, and to what containers share (the bridge and
// its firewall chains), happens under one exclusive flock(2) on
// /run/tinyrun/lock. A run takes it twice: in reserve, before the container
// starts, and in release, after it ends; never while the container runs.
//
// Read: man 2 flock, man 2 rename, man 5 proc (/proc/PID/stat, field 22).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The runtime's state lives in /run, a tmpfs: it does not outlive a reboot,
// and neither do the containers it describes.
const (
	stateDir      = "/run/tinyrun"
	lockPath      = stateDir + "/lock"
	containersDir = stateDir + "/containers"
)

// record is one container's entry in the state: who owns it, and what was
// made for it on the host; and, from this step on, what ps shows of it and
// how it ended (container.go).
type record struct {
	ID      string         `json:"id"`
	Owner   process        `json:"owner"`             // the runtime that runs the container: run, or its monitor
	Network *networkRecord `json:"network,omitempty"` // net.go; nil with --network none
	Netns   string         `json:"netns,omitempty"`   // net.go: its network namespace, pinned here
	Cgroup  *cgroup        `json:"cgroup,omitempty"`  // cgroups.go
	// MonitorCgroup is run -d's monitor's own (monitor.go).
	MonitorCgroup *cgroup         `json:"monitorCgroup,omitempty"`
	Layer         *containerLayer `json:"layer,omitempty"` // overlay.go
	Name          string          `json:"name"`
	Command       []string        `json:"command"`
	Env           []string        `json:"env,omitempty"` // -e, which exec gives too
	Workdir       string          `json:"workdir"`       // -w, where exec starts too
	Security      security        `json:"security"`      // security.go: what exec's commands get too
	Created       time.Time       `json:"created"`
	Remove        bool            `json:"remove,omitempty"` // --rm: torn down when it ends, not kept
	Init          process         `json:"init"`             // the container's PID 1, once started
	Exit          *exit           `json:"exit,omitempty"`   // how it ended; kept until rm
	Bundle        string          `json:"bundle,omitempty"` // tinyrun runtime's containers: the bundle made from (runtime.go)
	// root is the directory of the records rec is in: "" for run's,
	// containersDir; tinyrun runtime's have their own (runtime.go).
	root string
	// Damaged: the record could not be read (reclaim); never saved.
	Damaged bool `json:"-"`
	// unreclaimed: why reclaim could not end it this time (reclaim).
	unreclaimed error
}

// process names one process for as long as the machine is up.
type process struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"` // clock ticks after boot, /proc/PID/stat
}

// withLock runs fn holding the exclusive lock on the runtime's state.
func withLock(fn func() error) error {
	unlock, err := lockState()
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// lockState takes the exclusive lock on the runtime's state; call the
// returned function to release it.
func lockState() (unlock func(), err error) {
	for {
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", stateDir, err)
		}
		f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the last runtime removed the directory just now
		}
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", lockPath, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		// The runtime that held the lock before may have removed the file
		// (removeStateDir): then this lock guards nothing. Try again.
		var held, named unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(lockPath, &named) == nil && held.Ino == named.Ino {
			return func() { f.Close() }, nil
		}
		f.Close()
	}
}

// newRecord creates the record of container c, owned by this runtime, and
// its directory, which also holds the container's /etc files (net.go) and
// its log. The caller holds the lock.
func newRecord(c containerConfig) (*record, error) {
	self, err := thisProcess()
	if err != nil {
		return nil, err
	}
	rec := &record{ID: c.id, Owner: self, Name: c.name, Command: c.command, Env: c.env, Workdir: c.workdir,
		Created: time.Now(), Remove: c.remove, Security: c.security}
	if err := os.MkdirAll(rec.dir(), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", rec.dir(), err)
	}
	if err := rec.save(); err != nil {
		return nil, errors.Join(err, os.RemoveAll(rec.dir()))
	}
	return rec, nil
}

func (rec *record) dir() string {
	if rec.root != "" {
		return filepath.Join(rec.root, rec.ID)
	}
	return filepath.Join(containersDir, rec.ID)
}

// save writes the record, atomically. Call it before making what a new
// field describes.
func (rec *record) save() error {
	return writeJSON(filepath.Join(rec.dir(), "state.json"), rec)
}

// teardown undoes what rec describes: its layer, then what it held while
// it ran (releaseRunning), and then it removes the record, and with it the
// container's address and ports. On error the record stays, for the next
// reclaim to try again. The caller holds the lock, and settles what
// containers share (settle) once it has torn down all it means to. (The
// veth needs nothing: see net.go.)
func teardown(rec *record) error {
	if err := rec.Layer.remove(); err != nil {
		return err
	}
	if err := rec.releaseRunning(); err != nil {
		return err
	}
	if err := os.RemoveAll(rec.dir()); err != nil {
		return fmt.Errorf("remove %s: %w", rec.dir(), err)
	}
	return nil
}

// releaseRunning gives back what a container holds while it runs: its
// cgroup (thawed first: frozen, its processes would not die, freezer.go),
// its monitor's, and its network namespace. teardown and giveBack
// (container.go) call it; safe to repeat.
func (rec *record) releaseRunning() error {
	if err := thawContainer(rec); err != nil {
		return err
	}
	if err := rec.Cgroup.remove(); err != nil {
		return err
	}
	if err := rec.removeMonitorCgroup(); err != nil {
		return err
	}
	return removeNetworkNamespace(rec.Netns)
}

// reclaim ends the records whose owner is gone before it released them, and
// returns the others: those that run, and those that ended and are kept
// until rm. An owner killed with SIGKILL took its container with it
// (pid.go): reclaim records it as killed, unless its end was recorded
// already, and gives back what it held (ended, container.go), or tears it
// down if it had --rm or never started. A record that cannot be read
// (readRecord), or whose reclaim fails (unreclaimed), is returned as it
// is, holding what it held, and the others are reclaimed all the same: one
// bad record must not stop every run. The next reclaim tries it again;
// cleanup says why it failed. (What a damaged record held, its address and
// rules, is not known, and may be given away.) Then the layers a reboot
// left without a record (reclaimOrphanLayers). The caller holds the lock.
func reclaim() (live []*record, err error) {
	entries, err := os.ReadDir(containersDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", containersDir, err)
	}
	for _, e := range entries {
		rec, err := readRecord(e.Name())
		if err != nil {
			live = append(live, &record{ID: e.Name(), Damaged: true})
			continue
		}
		if rec.released() || rec.Owner.alive() {
			live = append(live, rec)
			continue
		}
		kept := !rec.Remove && rec.Init.PID != 0 // else ended tears it down
		if err := rec.ended(128+int(unix.SIGKILL), "its runtime was killed"); err != nil {
			rec.unreclaimed = fmt.Errorf("reclaim container %s: %w", rec.ID, err)
			kept = true
		}
		if kept {
			live = append(live, rec)
		}
	}
	if err := reclaimOrphanLayers(entries); err != nil {
		return nil, err
	}
	return live, nil
}

// reclaimOrphanLayers removes the container layers (and logs) of
// /var/lib/tinyrun that no record names: records live in /run, a tmpfs, and
// a reboot takes them and leaves the layers on disk, with nothing that
// would ever remove them. records are the entries of the records'
// directory; a record is always written before its layer is made
// (reserve), so under the lock a layer without one is an orphan.
func reclaimOrphanLayers(records []fs.DirEntry) error {
	layers, err := os.ReadDir(containerLayerDir)
	if err != nil {
		return nil // no store: nothing to reclaim
	}
	named := map[string]bool{}
	for _, e := range records {
		named[e.Name()] = true
	}
	for _, e := range layers {
		if named[e.Name()] || !containerIDPattern.MatchString(e.Name()) {
			continue
		}
		orphan := &containerLayer{Dir: filepath.Join(containerLayerDir, e.Name()), Mounted: true}
		if err := orphan.remove(); err != nil {
			return fmt.Errorf("reclaim the layer of a container with no record: %w", err)
		}
	}
	return nil
}

// readRecord reads the record of container id. A directory without one is a
// record cut short before its first save: its owner died at once.
func readRecord(id string) (*record, error) {
	path := filepath.Join(containersDir, id, "state.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &record{ID: id}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil || rec.ID != id {
		return nil, fmt.Errorf("record %s is damaged: remove its directory by hand, after the container's veth and rules", path)
	}
	return &rec, nil
}

// settle brings what containers share in line with the live ones: the
// bridge and its rules (net.go), and the state directory, removed with the
// last container. The caller holds the lock.
func settle(live []*record) error {
	if err := syncNetwork(live); err != nil {
		return err
	}
	if len(live) > 0 {
		return nil
	}
	return removeStateDir()
}

// thisProcess names the running runtime.
func thisProcess() (process, error) {
	start, err := processStartTime(os.Getpid())
	if err != nil {
		return process{}, fmt.Errorf("read this process's start time: %w", err)
	}
	return process{PID: os.Getpid(), StartTime: start}, nil
}

// alive reports whether p still runs: its PID exists, with its start time,
// and has not exited.
func (p process) alive() bool {
	start, err := processStartTime(p.PID)
	return err == nil && start == p.StartTime
}

// processStartTime returns when pid started, in clock ticks after boot
// (field 22 of /proc/PID/stat): a PID and its start time name one process.
func processStartTime(pid int) (uint64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("no process %d", pid)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Field 2, the command name, is in parentheses and may hold spaces.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	// Field 3, the state: a zombie has exited, and waits for its parent
	// to reap it; a process whose parent is gone may wait a while.
	if fields[0] == "Z" || fields[0] == "X" {
		return 0, fmt.Errorf("process %d has exited", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// removeStateDir removes the state directory once no container uses it. The
// caller holds the lock, and so removes the lock file while holding it (see
// lockState for why that is safe).
func removeStateDir() error {
	if entries, _ := os.ReadDir(containersDir); len(entries) > 0 {
		return nil
	}
	for _, path := range []string{containersDir, lockPath, stateDir} {
		// ENOTEMPTY: a file this runtime does not know of, or the
		// bridge's state of another network namespace; leave it be.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
	}
	return nil
}

// writeJSON writes v to path as JSON, atomically: into a new file first,
// then renamed over path, so that a runtime killed while writing leaves the
// old file or the new one, never half of one (man 2 rename).
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFileAtomically(path, data)
}

// writeFileAtomically writes data to path as writeJSON does: into a new
// file, root's alone, then renamed over path.
func writeFileAtomically(path string, data []byte) error {
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// stopAfter stops the runtime (SIGSTOP) right after the phase of a start
// named by the variable TINYRUN_STOP_AFTER (each phase is a call of
// stopAfter, in reserve and run), so that a reader can look at the host
// half-way through a start, or kill the runtime there and watch the next
// run reclaim what it left. The tests do exactly that.
func stopAfter(phase string) {
	if os.Getenv("TINYRUN_STOP_AFTER") == phase {
		_ = unix.Kill(os.Getpid(), unix.SIGSTOP)
	}
}
