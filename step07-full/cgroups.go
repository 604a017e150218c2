// Control groups: limits on the memory, CPU time, processes and CPUs a container uses.
//
// A cgroup is a directory in a cgroup filesystem; the processes listed in its
// cgroup.procs are held to the limits written in its other files, and their
// children start in it too (man 7 cgroups). Each resource is managed by a
// controller (memory, cpu, pids, cpuset). Linux has two versions:
//
//	v1  one hierarchy per controller (or a few together), each a mount of its own:
//	    /sys/fs/cgroup/memory/tinyrun/ID/memory.limit_in_bytes
//	v2  one unified hierarchy for all controllers, enabled per subtree:
//	    /sys/fs/cgroup/tinyrun/ID/memory.max
//
// Current distributions mount only v2 at /sys/fs/cgroup. Older ones mount v1,
// and some "hybrid" hosts mount both: the controllers on v1 and an empty v2 at
// /sys/fs/cgroup/unified. So detectLayout reads the mount table and, for each
// controller, uses the version where that controller actually is.
//
// Order (the parent does everything; the child waits on its pipe, main.go):
//
//	parseLimits    check -m, --cpus, --pids-limit and --cpuset-cpus first
//	createCgroup   (under the lock, in reserve) detect the layout; record
//	               tinyrun/ID wherever a controller is needed, then make it;
//	               write the limits (limitFiles); a limit the host cannot
//	               honour is an error before the container exists
//	startInside    on pure v2, clone(2) the child straight into the cgroup
//	               (CLONE_INTO_CGROUP, Linux 5.7)
//	join           otherwise, write its PID to each cgroup.procs, while the
//	               child still waits: no user code runs outside its cgroup
//	oomKilled      after the container exits: did the OOM killer act?
//	remove         (teardown, under the lock) kill what is left in the
//	               cgroup, then rmdir it
//
// Read: man 7 cgroups, the kernel's admin-guide/cgroup-v2.rst and
// admin-guide/cgroup-v1/{memory,cpusets,pids}.rst, scheduler/sched-bwc.rst.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var (
	memoryFlag = &cli.StringFlag{
		Name:    "memory",
		Aliases: []string{"m"},
		Usage:   "memory limit, with a unit: b, k, m or g (e.g. 64m); swap is not allowed beyond it",
	}
	cpusFlag = &cli.StringFlag{
		Name:  "cpus",
		Usage: "CPU time, in CPUs (e.g. 0.5 for half of one CPU)",
	}
	pidsLimitFlag = &cli.Int64Flag{
		Name:  "pids-limit",
		Usage: "maximum number of processes (and threads); -1 for no limit",
		Value: -1,
	}
	cpusetFlag = &cli.StringFlag{
		Name:  "cpuset-cpus",
		Usage: "CPUs the container may run on, e.g. 0 or 0-1 or 0,2",
	}
)

// limits is what the user asked for, checked. Zero values mean no limit.
type limits struct {
	memory     int64 // bytes
	cpuQuota   int64 // microseconds of CPU time per cpuPeriod
	pids       int64
	cpusetCPUs string
}

// cpuPeriod is the period --cpus is measured over, 100 ms, the kernel's
// default (scheduler/sched-bwc.rst).
const cpuPeriod = 100000

// minPids is the smallest --pids-limit: the container's process is this
// runtime, a Go program with a few threads, until it execs the command, and
// threads count against pids.max. Below it the set-up fails at random.
const minPids = 10

// minMemory is Docker's smallest memory limit: below it a container cannot
// even start its first process.
const minMemory = 6 << 20

// parseLimits checks the limit flags. It runs in the parent before
// anything is created; whether this host can honour them is createCgroup's.
func parseLimits(ctx *cli.Context) (limits, error) {
	var l limits
	var err error
	if s := ctx.String("memory"); s != "" {
		if l.memory, err = parseMemory(s); err != nil {
			return l, err
		}
	}
	if s := ctx.String("cpus"); s != "" {
		if l.cpuQuota, err = parseCPUs(s, runtime.NumCPU()); err != nil {
			return l, err
		}
	}
	switch pids := ctx.Int64("pids-limit"); {
	case pids == -1:
	case pids < 1:
		return l, fmt.Errorf("--pids-limit %d: want a number of processes, at least 1 (or -1 for no limit)", pids)
	case pids < minPids:
		return l, fmt.Errorf("--pids-limit %d: the runtime's own set-up inside the container (a Go program until it execs the command) needs up to %d processes and threads: use at least %d", pids, minPids, minPids)
	default:
		l.pids = pids
	}
	if s := ctx.String("cpuset-cpus"); s != "" {
		if err := checkCPUList(s); err != nil {
			return l, fmt.Errorf("--cpuset-cpus %q: %v: want CPU numbers such as 0, 0-1 or 0,2", s, err)
		}
		l.cpusetCPUs = s
	}
	return l, nil
}

// parseMemory parses a size such as 64m into bytes, with Docker's units.
func parseMemory(s string) (int64, error) {
	units := map[byte]int64{'b': 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30}
	number, unit := s, int64(1)
	if last := strings.ToLower(s)[len(s)-1]; units[last] != 0 {
		number, unit = s[:len(s)-1], units[last]
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--memory %q: want a size such as 64m or 1g", s)
	}
	if n > (1<<62)/unit {
		return 0, fmt.Errorf("--memory %q: too large", s)
	}
	if n*unit < minMemory {
		return 0, fmt.Errorf("--memory %q: the smallest limit is 6m", s)
	}
	return n * unit, nil
}

// parseCPUs turns --cpus (a decimal number of CPUs, at most hostCPUs) into
// a quota of microseconds per cpuPeriod: 0.5 is 50000 of 100000.
func parseCPUs(s string, hostCPUs int) (int64, error) {
	cpus, err := strconv.ParseFloat(s, 64)
	if err != nil || cpus != cpus { // cpus != cpus: NaN
		return 0, fmt.Errorf("--cpus %q: want a number of CPUs, such as 0.5 or 2", s)
	}
	quota := int64(cpus*cpuPeriod + 0.5)
	// The kernel refuses a quota under 1 ms.
	if quota < 1000 || cpus > float64(hostCPUs) {
		return 0, fmt.Errorf("--cpus %s: want between 0.01 and %d, the CPUs this host has", s, hostCPUs)
	}
	return quota, nil
}

// maxCPU bounds the CPU numbers --cpuset-cpus may name: the largest
// NR_CPUS a distribution kernel is built with is 8192.
const maxCPU = 8191

// checkCPUList checks a list of CPUs in the kernel's format (0-2,4),
// without expanding its ranges: "0-100000000" must not cost a list of a
// hundred million numbers. Which CPUs this host has, the kernel checks
// when writeLimits writes the list.
func checkCPUList(s string) error {
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		first, last, isRange := strings.Cut(part, "-")
		lo, err1 := strconv.Atoi(first)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(last)
		}
		if err1 != nil || err2 != nil || lo < 0 || hi < lo || hi > maxCPU {
			return fmt.Errorf("%q is not a CPU or a range of CPUs (0 to %d)", part, maxCPU)
		}
	}
	return nil
}

// memoryString describes the memory limit for a message, e.g. "(limit 64 MiB)".
func (l limits) memoryString() string {
	if l.memory == 0 {
		return "(no limit)"
	}
	return fmt.Sprintf("(limit %d MiB)", l.memory>>20)
}

// hierarchy is one mounted cgroup filesystem.
type hierarchy struct {
	version     int    // 1 or 2
	mountpoint  string // e.g. /sys/fs/cgroup/memory
	controllers []string
}

// layout says where each controller is: the hierarchy to use for it.
type layout map[string]hierarchy

// wantedControllers are the controllers a container's cgroup is made in:
// memory, cpu and pids always (for accounting, and so that every process of
// the container can be found and killed), cpuset only for --cpuset-cpus.
// And v1's freezer, so that commit can stop the container (freezer.go); on
// v2 every cgroup has cgroup.freeze, and the layout has no "freezer".
func wantedControllers(l limits) []string {
	wanted := []string{"memory", "cpu", "pids", "freezer"}
	if l.cpusetCPUs != "" {
		wanted = append(wanted, "cpuset")
	}
	return wanted
}

// detectLayout reads a mount table in /proc/self/mountinfo's format and
// returns where each controller is, preferring v2. readControllers returns
// the contents of a v2 hierarchy's cgroup.controllers file.
func detectLayout(mountinfo io.Reader, readControllers func(mountpoint string) (string, error)) (layout, error) {
	found := layout{}
	var v2 []hierarchy
	scanner := bufio.NewScanner(mountinfo)
	for scanner.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		before, after, ok := strings.Cut(scanner.Text(), " - ")
		fields, fsFields := strings.Fields(before), strings.Fields(after)
		if !ok || len(fields) < 5 || len(fsFields) < 3 {
			continue
		}
		mountpoint := unescapeMountpoint(fields[4])
		switch fsFields[0] {
		case "cgroup2":
			text, err := readControllers(mountpoint)
			if err != nil {
				return nil, fmt.Errorf("read %s/cgroup.controllers: %w", mountpoint, err)
			}
			v2 = append(v2, hierarchy{version: 2, mountpoint: mountpoint, controllers: strings.Fields(text)})
		case "cgroup":
			// v1: the controllers are among the superblock options (rw,memory).
			h := hierarchy{version: 1, mountpoint: mountpoint}
			for _, option := range strings.Split(fsFields[2], ",") {
				if slices.Contains([]string{"memory", "cpu", "pids", "cpuset", "freezer"}, option) {
					h.controllers = append(h.controllers, option)
				}
			}
			for _, c := range h.controllers {
				if _, seen := found[c]; !seen {
					found[c] = h
				}
			}
		}
	}
	// A controller on v2 wins over v1: it can be on one only at a time.
	for _, h := range v2 {
		for _, c := range h.controllers {
			found[c] = h
		}
	}
	return found, scanner.Err()
}

// unescapeMountpoint undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountpoint(s string) string {
	if unquoted, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`); err == nil {
		return unquoted
	}
	return s
}

// hostLayout is detectLayout for this host.
func hostLayout() (layout, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return detectLayout(f, func(mountpoint string) (string, error) {
		data, err := os.ReadFile(filepath.Join(mountpoint, "cgroup.controllers"))
		return string(data), err
	})
}

// cgroupParent is the runtime's own cgroup, in every hierarchy it uses: the
// containers' cgroups are made under it, never anywhere else.
const cgroupParent = "tinyrun"

// cgroup is one container's cgroup, in each hierarchy it spans: the part of
// its record (state.go) that says which directories to remove.
type cgroup struct {
	Parts []cgroupPart `json:"parts"`
	// dir is the v2 directory, open, for startInside; nil if not. A
	// pointer, so that a cgroup read back from a record has none: a plain
	// int would read back as 0, and remove would close fd 0, stdin.
	dir *os.File
}

// cgroupPart is the container's cgroup directory for one controller.
type cgroupPart struct {
	Controller string `json:"controller"`
	Version    int    `json:"version"` // of the hierarchy it is in: 1 or 2
	Dir        string `json:"dir"`
}

// limitFile is one row of the table of limits: which file of a controller
// takes a limit on cgroup v1 and on v2, and its value.
type limitFile struct {
	controller string
	v1, v2     string // the file's name; "" where that version has no such file
	// optional: the file exists only with a kernel feature (swap
	// accounting); without it there is nothing to limit, and no error.
	optional bool
	value    func(l limits) string // "" when the user set no such limit
}

// limitFiles is the table chapter 05 shows. Order matters: on v1, memsw
// may not be set below limit_in_bytes, and cfs_quota_us is read against
// cfs_period_us.
var limitFiles = []limitFile{
	{"memory", "memory.limit_in_bytes", "memory.max", false, bytesOf},
	// No swap beyond the limit: v1's memsw counts memory plus swap, so it
	// equals the limit; v2 counts swap alone, so it is 0.
	{"memory", "memory.memsw.limit_in_bytes", "", true, bytesOf},
	{"memory", "", "memory.swap.max", true, func(l limits) string { return ifSet(l.memory > 0, "0") }},
	{"cpu", "cpu.cfs_period_us", "", false, func(l limits) string { return ifSet(l.cpuQuota > 0, strconv.Itoa(cpuPeriod)) }},
	{"cpu", "cpu.cfs_quota_us", "", false, func(l limits) string { return ifSet(l.cpuQuota > 0, strconv.FormatInt(l.cpuQuota, 10)) }},
	{"cpu", "", "cpu.max", false, func(l limits) string { return ifSet(l.cpuQuota > 0, fmt.Sprintf("%d %d", l.cpuQuota, cpuPeriod)) }},
	{"pids", "pids.max", "pids.max", false, func(l limits) string { return ifSet(l.pids > 0, strconv.FormatInt(l.pids, 10)) }},
	{"cpuset", "cpuset.cpus", "cpuset.cpus", false, func(l limits) string { return l.cpusetCPUs }},
}

func bytesOf(l limits) string { return ifSet(l.memory > 0, strconv.FormatInt(l.memory, 10)) }

func ifSet(set bool, value string) string {
	if set {
		return value
	}
	return ""
}

// createCgroup makes the container's cgroup tinyrun/ID in the hierarchy of
// each wanted controller, recording it in rec first, and writes the limits.
// The caller holds the state lock (the runtime's parent cgroup is shared
// with other runtimes, which may be removing it); on error, teardown
// removes what was made.
func createCgroup(rec *record, l limits) error {
	found, err := hostLayout()
	if err != nil {
		return fmt.Errorf("detect the cgroup layout: %w", err)
	}
	cg := &cgroup{}
	for _, c := range wantedControllers(l) {
		h, ok := found[c]
		if !ok {
			if l.needs(c) {
				return fmt.Errorf("the %s controller is not available on this host (see /proc/cgroups): leave out the limit that needs it", c)
			}
			continue
		}
		dir := filepath.Join(h.mountpoint, cgroupParent, rec.ID)
		cg.Parts = append(cg.Parts, cgroupPart{Controller: c, Version: h.version, Dir: dir})
	}
	rec.Cgroup = cg
	if err := rec.save(); err != nil {
		return err
	}
	for _, part := range cg.Parts {
		if err := makeCgroupDir(part); err != nil {
			return err
		}
	}
	if err := cg.writeLimits(l); err != nil {
		return err
	}
	return cg.openForClone()
}

// needs reports whether the limits need controller c.
func (l limits) needs(c string) bool {
	switch c {
	case "memory":
		return l.memory > 0
	case "cpu":
		return l.cpuQuota > 0
	case "pids":
		return l.pids > 0
	case "cpuset":
		return l.cpusetCPUs != ""
	}
	return false
}

// makeCgroupDir creates the runtime's parent and the container's cgroup
// directory of part.
func makeCgroupDir(part cgroupPart) error {
	parent := filepath.Dir(part.Dir)
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create cgroup %s: %w", parent, err)
	}
	if part.Version == 2 {
		// v2: a controller works in a cgroup only if its parent enables it
		// for its children, all the way down from the root
		// (cgroup.subtree_control, cgroup-v2.rst "Enabling and Disabling").
		for _, dir := range []string{filepath.Dir(parent), parent} {
			if err := enableController(dir, part.Controller); err != nil {
				return err
			}
		}
	} else if part.Controller == "cpuset" {
		// v1: a new cpuset has no CPUs and no memory nodes, and refuses
		// tasks ("no space left on device") until both are set; copy them
		// from the parent (cgroup-v1/cpusets.rst).
		for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
			if err := copyFromParent(parent, file); err != nil {
				return err
			}
		}
	}
	if err := os.Mkdir(part.Dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create cgroup %s: %w", part.Dir, err)
	}
	if part.Version == 1 && part.Controller == "cpuset" {
		return copyFromParent(part.Dir, "cpuset.mems")
	}
	return nil
}

// enableController adds controller c to dir's cgroup.subtree_control unless
// it is there already.
func enableController(dir, c string) error {
	path := filepath.Join(dir, "cgroup.subtree_control")
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if slices.Contains(strings.Fields(string(data)), c) {
		return nil
	}
	return writeCgroupFile(path, "+"+c)
}

// copyFromParent copies file from the parent of dir into dir, if dir's is empty.
func copyFromParent(dir, file string) error {
	own, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", dir, file, err)
	}
	if strings.TrimSpace(string(own)) != "" {
		return nil
	}
	parent, err := os.ReadFile(filepath.Join(filepath.Dir(dir), file))
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(filepath.Dir(dir), file), err)
	}
	return writeCgroupFile(filepath.Join(dir, file), strings.TrimSpace(string(parent)))
}

// writeLimits writes each limit the user set into its file (limitFiles),
// in the container's own cgroup.
func (cg *cgroup) writeLimits(l limits) error {
	for _, f := range limitFiles {
		part, ok := cg.part(f.controller)
		name := f.v1
		if part.Version == 2 {
			name = f.v2
		}
		value := f.value(l)
		if !ok || name == "" || value == "" {
			continue
		}
		path := filepath.Join(part.Dir, name)
		if f.optional && !fileExists(path) {
			continue
		}
		if err := writeCgroupFile(path, value); err != nil {
			if f.controller == "cpuset" {
				// The kernel refuses CPUs outside the parent's set (ERANGE, EINVAL).
				parent := filepath.Dir(filepath.Dir(path))
				hostCPUs := readTrimmed(parent + "/cpuset.cpus.effective") // v2
				if hostCPUs == "" {
					hostCPUs = readTrimmed(parent + "/cpuset.cpus") // v1
				}
				return fmt.Errorf("--cpuset-cpus %s: not among this host's CPUs, %s", value, hostCPUs)
			}
			return err
		}
	}
	return nil
}

// part returns the container's cgroup directory for controller c.
func (cg *cgroup) part(c string) (cgroupPart, bool) {
	for _, p := range cg.Parts {
		if p.Controller == c {
			return p, true
		}
	}
	return cgroupPart{}, false
}

// openForClone opens the container's cgroup directory for startInside when
// all its controllers are on one v2 hierarchy: clone3(2) can then put the
// child straight in. On v1 or hybrid hosts there is no single directory.
func (cg *cgroup) openForClone() error {
	var dir string
	for _, p := range cg.Parts {
		if p.Version != 2 || (dir != "" && p.Dir != dir) {
			return nil
		}
		dir = p.Dir
	}
	if dir == "" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	cg.dir = f
	return nil
}

// startInside asks os/exec to clone the child directly into the cgroup
// (clone3 with CLONE_INTO_CGROUP), when openForClone could open it.
func (cg *cgroup) startInside(attr *syscall.SysProcAttr) {
	if cg.dir != nil {
		attr.UseCgroupFD = true
		attr.CgroupFD = int(cg.dir.Fd())
	}
}

// join moves the process pid into every part of the cgroup it is not in yet:
// a write of its PID to cgroup.procs. The child is still waiting for its
// network then, so none of the container's own code runs outside.
func (cg *cgroup) join(pid int) error {
	if cg.dir != nil {
		cg.dir.Close() // clone3 is done with it
		cg.dir = nil
	}
	for _, p := range cg.Parts {
		procs := filepath.Join(p.Dir, "cgroup.procs")
		if inCgroup(procs, pid) {
			continue // started inside (startInside), or v1 hierarchies mounted together
		}
		if err := writeCgroupFile(procs, strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// oomKilled reports whether the kernel's OOM killer killed a process of the
// cgroup: the oom_kill counter of memory.events (v2) or memory.oom_control (v1).
func (cg *cgroup) oomKilled() bool {
	p, ok := cg.part("memory")
	if !ok {
		return false
	}
	file := "memory.oom_control"
	if p.Version == 2 {
		file = "memory.events"
	}
	data, err := os.ReadFile(filepath.Join(p.Dir, file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			return true
		}
	}
	return false
}

// remove kills every process left in the cgroup and removes its directories,
// and the runtime's parent where no other container uses it. It is
// teardown's (state.go), so the caller holds the lock. cg may be nil.
func (cg *cgroup) remove() error {
	if cg == nil {
		return nil
	}
	if cg.dir != nil {
		cg.dir.Close()
		cg.dir = nil
	}
	for _, p := range cg.Parts {
		if err := removeCgroupDir(p.Dir); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroupDir kills the processes in dir and removes it, and then its
// parent (the runtime's) if it is empty. A dir that is gone already, or was
// never made, is fine.
func removeCgroupDir(dir string) error {
	// Checked first: on a read-only cgroupfs, rmdir(2) fails with EROFS even
	// for a directory that does not exist.
	if !fileExists(dir) {
		return nil
	}
	// A cgroup with processes in it cannot be removed (EBUSY); the last ones
	// may take a moment to die after SIGKILL.
	var err error
	for attempt := 0; attempt < 100; attempt++ {
		killAll(dir)
		if err = unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if err := unix.Rmdir(parent); err != nil && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove cgroup %s: %w", parent, err)
	}
	return nil
}

// killAll sends SIGKILL to every process in the cgroup dir: through
// cgroup.kill where the kernel has it (v2, Linux 5.14), else one by one.
// One by one, a PID read from cgroup.procs may belong to another process
// by the time it is signalled, if its process exited and the PID was
// given again: so each is opened as a pidfd first (man 2 pidfd_open), and
// signalled through it only if, with the pidfd held, the PID is still in
// the cgroup: then the pidfd's process is the one in the cgroup.
func killAll(dir string) {
	if writeCgroupFile(filepath.Join(dir, "cgroup.kill"), "1") == nil {
		return
	}
	procs := filepath.Join(dir, "cgroup.procs")
	data, _ := os.ReadFile(procs)
	for _, field := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(field)
		if err != nil {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // it has exited already
		}
		if inCgroup(procs, pid) {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		}
		unix.Close(fd)
	}
}

// inCgroup reports whether pid is listed in the cgroup.procs file procs.
func inCgroup(procs string, pid int) bool {
	data, err := os.ReadFile(procs)
	return err == nil && slices.Contains(strings.Fields(string(data)), strconv.Itoa(pid))
}

// writeCgroupFile writes value to a cgroup control file. The kernel answers
// a refused value with the write's error (EINVAL, EBUSY, ENOSPC...).
func writeCgroupFile(path, value string) error {
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err // the path is in the message already
		}
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
