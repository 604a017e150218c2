package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Checks that attack the chapters' central claims the way a wrong solution
// would get them wrong: each one fails on a step that looks right to the
// other checks.

// chrootEscape is the chapter 03 program that leaves a chroot (make builds it).
func chrootEscape(t *testing.T) string {
	t.Helper()
	return builtFile(t, "chroot-escape", "") // security_test.go
}

func checkChrootEscapeStaysInside(t *testing.T, s step) {
	// A file only the host has, which the escape tries to read.
	marker, err := os.CreateTemp("", "tinyrun-host-only-*")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(marker.Name())
	secret := "host-only-" + strconv.Itoa(os.Getpid())
	if _, err := marker.WriteString(secret + "\n"); err != nil {
		t.Fatal(err)
	}
	marker.Close()
	// The escape goes into the container: through the shared rootfs up to
	// step 05, as chapter 03 does, or as a volume from step 06 on.
	var flags []string
	inside := "/tmp/chroot-escape"
	if s.number >= 6 {
		flags = []string{"--network", "none", "-v", chrootEscape(t) + ":/chroot-escape:ro"}
		inside = "/chroot-escape"
	} else {
		copyFile(t, chrootEscape(t), filepath.Join(rootfsDir, "tmp", "chroot-escape"))
		defer os.Remove(filepath.Join(rootfsDir, "tmp", "chroot-escape"))
		if s.number >= 4 {
			flags = []string{"--network", "none"}
		}
	}
	r := s.runContainer(t, flags, inside, "/bin/sh", "-c", "cat "+marker.Name()+" 2>/dev/null; echo the escape ran")
	if !strings.Contains(r.stdout, "the escape ran") {
		t.Fatalf("chapter 03's chroot escape did not run in the container: %v", r)
	}
	if strings.Contains(r.stdout, secret) {
		t.Errorf("chapter 03's chroot escape, run in the container, read the host's %s: the host's files must be out of reach (pivot_root, then detach the old root); got %v", marker.Name(), r)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func checkLimitsHoldInTheContainersOwnCgroupFromTheStart(t *testing.T, s step) {
	// Two containers at once, each with limits of its own, each reading its
	// cgroup as its first instruction: a limit written on a cgroup they
	// share, or a cgroup joined once the command runs, shows.
	type limited struct {
		memory, pids string
		c            *running
		cgroups      string
	}
	containers := []*limited{{memory: "40m", pids: "30"}, {memory: "56m", pids: "40"}}
	for _, l := range containers {
		l.c = s.start(t, []string{"--network", "none", "-m", l.memory, "--pids-limit", l.pids},
			"sh", "-c", "cat /proc/self/cgroup; echo ready; read line; exit 0")
	}
	for _, l := range containers {
		l.cgroups = strings.Join(l.c.waitForLine(t, "ready"), "\n")
		pid := l.c.containerPID(t)
		found := map[string]bool{}
		for _, want := range []struct{ controller, file, value string }{
			{"memory", "memory.max", l.memory}, {"memory", "memory.limit_in_bytes", l.memory}, {"pids", "pids.max", l.pids},
		} {
			path, err := findCgroupFile(pid, want.controller, want.file)
			if err != nil {
				continue // the other version's file
			}
			found[want.controller] = true
			// The cgroup the command found itself in, as it began.
			dir := filepath.Dir(path)
			if !hasLineEnding(l.cgroups, ":"+strings.TrimPrefix(dir, cgroupMount(dir))) {
				t.Errorf("the command's first look at /proc/self/cgroup:\n%s\nwant it already in %s, the cgroup it ends up in: join the cgroup, and write the limits, before the child is let go", l.cgroups, dir)
			}
			if filepath.Base(filepath.Dir(dir)) != "tinyrun" {
				t.Errorf("the container's %s is %s: want a cgroup of its own, tinyrun/ID", want.controller, dir)
			}
			got := readFileString(path)
			wantValue := want.value
			if want.controller == "memory" {
				wantValue = strconv.FormatInt(mebibytes(t, want.value), 10)
			}
			if strings.TrimSpace(got) != wantValue {
				t.Errorf("%s in the container's own cgroup is %q: want %s, the limit asked for this container", path, strings.TrimSpace(got), wantValue)
			}
		}
		for _, c := range []string{"memory", "pids"} {
			if !found[c] {
				t.Errorf("the container's first process is in no %s cgroup with a limit file (its /proc/PID/cgroup: %q): make tinyrun/ID in that controller's hierarchy and put the child in it", c, readFileString(fmt.Sprintf("/proc/%d/cgroup", pid)))
			}
		}
	}
	for _, l := range containers {
		if status, _ := l.c.finish(t); status != 0 {
			t.Errorf("a container exited with %d, stderr %q", status, l.c.stderr.String())
		}
	}
}

// cgroupMount returns the cgroup filesystem's mount point that path is in.
func cgroupMount(path string) string {
	for _, m := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup"} {
		if strings.HasPrefix(path, m+"/") {
			return m
		}
	}
	return ""
}

// mebibytes turns "40m" into bytes.
func mebibytes(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimSuffix(s, "m"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n << 20
}

func checkPlainKillIsNotReportedAsOOM(t *testing.T, s step) {
	// SIGKILL to the container's PID 1 from the host (from inside, the
	// kernel ignores it: man 7 pid_namespaces), under a memory limit.
	c := s.start(t, []string{"--network", "none", "-m", "64m"}, "sh", "-c", "echo ready; read line")
	c.waitForLine(t, "ready")
	if err := syscall.Kill(c.containerPID(t), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	status, _ := c.wait(t)
	if status != 137 {
		t.Errorf("a container killed with SIGKILL: want status 137, got %d, stderr %q", status, c.stderr.String())
	}
	if strings.Contains(c.stderr.String(), "memory") {
		t.Errorf("a container killed by kill -9, not by the OOM killer, was reported as %q: report an OOM kill only when the cgroup's oom_kill counter says so", strings.TrimSpace(c.stderr.String()))
	}
}

// hasLineEnding reports whether a line of text ends with suffix.
func hasLineEnding(text, suffix string) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasSuffix(line, suffix) {
			return true
		}
	}
	return false
}
