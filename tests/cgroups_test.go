package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func checkMemoryHogIsOOMKilled(t *testing.T, s step) {
	r := s.runContainer(t, []string{"-m", "32m"}, "sh", "-c", "head -c 200m /dev/zero | tail")
	if r.status != 137 {
		t.Errorf("200 MiB through tail under -m 32m: want exit status 137 (killed), got %v", r)
	}
	if !strings.Contains(r.stderr, "out of memory") || !strings.Contains(r.stderr, "32 MiB") {
		t.Errorf("want the runtime to say the container ran out of memory (limit 32 MiB), got stderr %q", r.stderr)
	}
}

func checkMemoryWithinTheLimitSucceeds(t *testing.T, s step) {
	r := s.runContainer(t, []string{"-m", "256m"}, "sh", "-c", "head -c 20m /dev/zero | tail | wc -c")
	if r.status != 0 || strings.TrimSpace(r.stdout) != "20971520" || r.stderr != "" {
		t.Errorf("20 MiB through tail under -m 256m: want 20971520 and exit status 0, got %v", r)
	}
}

// cgroupFile returns the path on the host of file in the cgroup of
// controller (v1) or of the unified hierarchy (v2) that process pid is in.
func cgroupFile(t *testing.T, pid int, controller, file string) string {
	t.Helper()
	path, err := findCgroupFile(pid, controller, file)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func findCgroupFile(pid int, controller, file string) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		// ID:CONTROLLERS:PATH, with no controllers on v2's line.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[2] == "/" {
			continue
		}
		dirs := []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}
		if parts[1] != "" {
			if !strings.Contains(","+parts[1]+",", ","+controller+",") {
				continue
			}
			dirs = []string{"/sys/fs/cgroup/" + parts[1]}
		}
		for _, dir := range dirs {
			path := filepath.Join(dir, parts[2], file)
			if _, err := os.Stat(path); err == nil {
				return path, nil
			}
		}
	}
	return "", fmt.Errorf("no %s in PID %d's cgroups (%s)", file, pid, strings.TrimSpace(string(data)))
}

// readNumber reads a file holding one number.
func readNumber(t *testing.T, path string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.Fields(readFileString(path) + " x")[0], 10, 64)
	if err != nil {
		t.Fatalf("%s: want a number, got %q", path, readFileString(path))
	}
	return n
}

func checkForkBombStopsAtThePidsLimit(t *testing.T, s step) {
	// The classic fork bomb, each process starting two more for ever, in
	// a shell of its own in the background: PID 1 forks that one shell
	// only, before any bomb runs (a shell whose fork fails exits, and PID 1
	// must not be the one to hit the limit), then waits on its stdin, and
	// the trap lets SIGTERM stop it.
	c := s.start(t, []string{"--pids-limit", "20"}, "sh", "-c",
		`trap 'exit 0' TERM; sh -c 'bomb() { bomb | bomb & }; bomb' 2>/dev/null & echo ready; read line`)
	c.waitForLine(t, "ready")
	pid := c.containerPID(t)
	pidsMax := cgroupFile(t, pid, "pids", "pids.max")
	if got := strings.TrimSpace(readFileString(pidsMax)); got != "20" {
		t.Errorf("%s: want 20, got %q", pidsMax, got)
	}
	current := cgroupFile(t, pid, "pids", "pids.current")
	// Let the bomb hit the ceiling, then look.
	waitUntil(5*time.Second, func() bool { return readNumber(t, current) >= 20 })
	time.Sleep(200 * time.Millisecond)
	if n := readNumber(t, current); n > 20 {
		t.Errorf("a fork bomb under --pids-limit 20 has %d processes", n)
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if status, _ := c.wait(t); status != 0 {
		t.Errorf("SIGTERM to a fork bomb's runtime: want the container stopped with status 0, got %d (stderr %q)", status, c.stderr.String())
	}
}

func checkCPUQuotaIsHalfACPU(t *testing.T, s step) {
	c := s.start(t, []string{"--cpus", "0.5"}, "sh", "-c", "echo ready; while :; do :; done")
	c.waitForLine(t, "ready")
	pid := c.containerPID(t)
	// The quota as the host's layout writes it: cpu.max on v2, cfs files on v1.
	quota := ""
	if path, err := findCgroupFile(pid, "cpu", "cpu.max"); err == nil {
		quota = strings.TrimSpace(readFileString(path))
	} else {
		quota = strings.TrimSpace(readFileString(cgroupFile(t, pid, "cpu", "cpu.cfs_quota_us"))) + " " +
			strings.TrimSpace(readFileString(cgroupFile(t, pid, "cpu", "cpu.cfs_period_us")))
	}
	if quota != "50000 100000" {
		t.Errorf("--cpus 0.5: want a quota of 50000 µs per 100000 µs, got %q", quota)
	}
	// The busy loop's CPU time over a second and a half: near half a CPU.
	// The bound is generous: unthrottled, the loop would use a whole CPU.
	before, start := cpuTicks(t, pid), time.Now()
	time.Sleep(1500 * time.Millisecond)
	used := float64(cpuTicks(t, pid)-before) / 100 / time.Since(start).Seconds() // USER_HZ is 100
	if used > 0.75 {
		t.Errorf("a busy loop under --cpus 0.5 used %.2f of a CPU, want about 0.5", used)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.wait(t)
}

// cpuTicks returns the user plus system CPU time of pid, in clock ticks
// (fields 14 and 15 of /proc/PID/stat).
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	data := readFileString(fmt.Sprintf("/proc/%d/stat", pid))
	fields := strings.Fields(data[strings.LastIndexByte(data, ')')+1:])
	if len(fields) < 13 {
		t.Fatalf("/proc/%d/stat: %q", pid, data)
	}
	user, _ := strconv.ParseInt(fields[11], 10, 64)
	system, _ := strconv.ParseInt(fields[12], 10, 64)
	return user + system
}

func checkCpusetPinsToCPU0(t *testing.T, s step) {
	r := s.runContainer(t, []string{"--cpuset-cpus", "0"}, "grep", "Cpus_allowed_list", "/proc/self/status")
	if r.status != 0 || strings.Join(strings.Fields(r.stdout), " ") != "Cpus_allowed_list: 0" {
		t.Errorf("--cpuset-cpus 0: want Cpus_allowed_list 0, got %v", r)
	}
}

func checkBadLimitsAreErrors(t *testing.T, s step) {
	for _, flags := range [][]string{
		{"-m", "abc"}, {"-m", "0"}, {"-m", "-5m"}, {"-m", "1m"}, {"--cpus", "0"}, {"--cpus", "999"},
		{"--pids-limit", "-2"}, {"--cpuset-cpus", "99"}, {"--cpuset-cpus", "x"},
	} {
		r := s.runContainer(t, flags, "true")
		wantOneLineError(t, "run "+strings.Join(flags, " "), r, flags[0])
		assertHostAsFound(t, "run "+strings.Join(flags, " "))
	}
}

// checkSwapIsNotAllowedBeyondTheLimit reads, while a container with -m runs,
// the swap limit of its cgroup: on v1 memory.memsw.limit_in_bytes (memory
// and swap together) must equal the limit, on v2 memory.swap.max (swap
// alone) must be 0. Without them, on a host with swap, a memory hog would
// swap instead of being killed at its limit. The files exist only with
// swap accounting (v1) or the kernel's swap controller (v2): a host with
// neither fails the check loudly rather than passing it unchecked.
func checkSwapIsNotAllowedBeyondTheLimit(t *testing.T, s step) {
	c := s.start(t, []string{"--network", "none", "-m", "32m"}, "sh", "-c", "echo ready; read line")
	c.waitForLine(t, "ready")
	pid := c.containerPID(t)
	defer func() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		c.wait(t)
	}()
	if path, err := findCgroupFile(pid, "memory", "memory.swap.max"); err == nil {
		if got := strings.TrimSpace(readFileString(path)); got != "0" {
			t.Errorf("%s under -m 32m: want 0 (no swap beyond the limit: v2 counts swap apart), got %q", path, got)
		}
		return
	}
	path, err := findCgroupFile(pid, "memory", "memory.memsw.limit_in_bytes")
	if err != nil {
		t.Fatalf("neither memory.swap.max (v2) nor memory.memsw.limit_in_bytes (v1) in the container's memory cgroup: this host has no swap accounting, and the check cannot tell whether the container may swap (%v)", err)
	}
	if got := readNumber(t, path); got != 32<<20 {
		t.Errorf("%s under -m 32m: want %d, the limit itself (v1 counts memory and swap together), got %d", path, 32<<20, got)
	}
}
