package main

// Unit tests of what cgroups.go decides without touching the host: the
// layout read from a mount table, the flags' values, and the files each
// limit is written to on v1 and on v2. They run on any host, as any user,
// so the v2 code paths are tested on a v1 or hybrid host too.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Mount tables in /proc/self/mountinfo's format, as found on the three kinds of host.
const (
	mountinfoV2 = `35 23 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	mountinfoV1 = `31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
33 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
34 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
35 31 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
36 31 0:34 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset
`
	mountinfoHybrid = mountinfoV1 + `41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:11 - cgroup2 cgroup2 rw,nsdelegate
`
)

// controllersOf fakes the cgroup.controllers files of the v2 mounts.
func controllersOf(files map[string]string) func(string) (string, error) {
	return func(mountpoint string) (string, error) {
		text, ok := files[mountpoint]
		if !ok {
			return "", os.ErrNotExist
		}
		return text, nil
	}
}

func TestDetectLayout(t *testing.T) {
	tests := []struct {
		name        string
		mountinfo   string
		controllers map[string]string
		want        map[string]string // controller → "vN mountpoint"
	}{
		{"v2", mountinfoV2, map[string]string{"/sys/fs/cgroup": "cpuset cpu io memory hugetlb pids rdma misc\n"},
			map[string]string{"memory": "v2 /sys/fs/cgroup", "cpu": "v2 /sys/fs/cgroup", "pids": "v2 /sys/fs/cgroup", "cpuset": "v2 /sys/fs/cgroup"}},
		{"v1", mountinfoV1, nil,
			map[string]string{"memory": "v1 /sys/fs/cgroup/memory", "cpu": "v1 /sys/fs/cgroup/cpu,cpuacct", "pids": "v1 /sys/fs/cgroup/pids", "cpuset": "v1 /sys/fs/cgroup/cpuset"}},
		{"hybrid, every controller on v1", mountinfoHybrid, map[string]string{"/sys/fs/cgroup/unified": "\n"},
			map[string]string{"memory": "v1 /sys/fs/cgroup/memory", "cpu": "v1 /sys/fs/cgroup/cpu,cpuacct", "pids": "v1 /sys/fs/cgroup/pids", "cpuset": "v1 /sys/fs/cgroup/cpuset"}},
		{"hybrid, pids moved to v2", strings.Replace(mountinfoHybrid, "35 31 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids\n", "", 1),
			map[string]string{"/sys/fs/cgroup/unified": "pids\n"},
			map[string]string{"memory": "v1 /sys/fs/cgroup/memory", "cpu": "v1 /sys/fs/cgroup/cpu,cpuacct", "pids": "v2 /sys/fs/cgroup/unified", "cpuset": "v1 /sys/fs/cgroup/cpuset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := detectLayout(strings.NewReader(tt.mountinfo), controllersOf(tt.controllers))
			if err != nil {
				t.Fatal(err)
			}
			for c, want := range tt.want {
				h, ok := got[c]
				if !ok {
					t.Errorf("%s: no hierarchy found, want %s", c, want)
					continue
				}
				if g := fmt.Sprintf("v%d %s", h.version, h.mountpoint); g != want {
					t.Errorf("%s: got %s, want %s", c, g, want)
				}
			}
		})
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{"64m": 64 << 20, "1g": 1 << 30, "1G": 1 << 30, "8192k": 8 << 20, "7340032": 7 << 20, "7340032b": 7 << 20} {
		if got, err := parseMemory(in); err != nil || got != want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"abc", "0", "-5m", "5m", "1.5g", "m", "99999999999999g"} {
		if got, err := parseMemory(in); err == nil {
			t.Errorf("parseMemory(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]int64{"0.5": 50000, "1": 100000, "2": 200000, "0.01": 1000, "1.5": 150000} {
		if got, err := parseCPUs(in, 2); err != nil || got != want {
			t.Errorf("parseCPUs(%q, 2) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "0.001", "3", "999", "NaN", "half"} {
		if got, err := parseCPUs(in, 2); err == nil {
			t.Errorf("parseCPUs(%q, 2) = %d, want an error", in, got)
		}
	}
}

func TestCheckCPUList(t *testing.T) {
	for _, in := range []string{"0", "0-2", "0,2", "0-1,3", "8191"} {
		if err := checkCPUList(in); err != nil {
			t.Errorf("checkCPUList(%q) = %v, want no error", in, err)
		}
	}
	for _, in := range []string{"", "x", "2-1", "-1", "0,,1", "0-100000000", "8192"} {
		if err := checkCPUList(in); err == nil {
			t.Errorf("checkCPUList(%q): want an error", in)
		}
	}
}

// fakeCgroup makes a directory holding empty control files, standing for a cgroup.
func fakeCgroup(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteLimitsV2(t *testing.T) {
	dir := fakeCgroup(t, "memory.max", "memory.swap.max", "cpu.max", "pids.max", "cpuset.cpus")
	var cg cgroup
	for _, c := range []string{"memory", "cpu", "pids", "cpuset"} {
		cg.Parts = append(cg.Parts, cgroupPart{Controller: c, Version: 2, Dir: dir})
	}
	if err := cg.writeLimits(limits{memory: 64 << 20, cpuQuota: 50000, pids: 20, cpusetCPUs: "0"}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"memory.max": "67108864", "memory.swap.max": "0", "cpu.max": "50000 100000", "pids.max": "20", "cpuset.cpus": "0"} {
		if got := readFile(t, filepath.Join(dir, file)); got != want {
			t.Errorf("v2 %s: got %q, want %q", file, got, want)
		}
	}
}

func TestWriteLimitsV1(t *testing.T) {
	memory := fakeCgroup(t, "memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
	cpu := fakeCgroup(t, "cpu.cfs_period_us", "cpu.cfs_quota_us")
	pids := fakeCgroup(t, "pids.max")
	cg := &cgroup{Parts: []cgroupPart{{"memory", 1, memory}, {"cpu", 1, cpu}, {"pids", 1, pids}}}
	if err := cg.writeLimits(limits{memory: 32 << 20, cpuQuota: 150000, pids: 5}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		memory + "/memory.limit_in_bytes": "33554432", memory + "/memory.memsw.limit_in_bytes": "33554432",
		cpu + "/cpu.cfs_period_us": "100000", cpu + "/cpu.cfs_quota_us": "150000", pids + "/pids.max": "5",
	} {
		if got := readFile(t, path); got != want {
			t.Errorf("v1 %s: got %q, want %q", filepath.Base(path), got, want)
		}
	}
}

func TestOOMKilledReadsTheCounter(t *testing.T) {
	for _, tt := range []struct {
		version  int
		file     string
		contents string
		want     bool
	}{
		{2, "memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n", true},
		{2, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", false},
		{1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", true},
		{1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", false},
	} {
		dir := fakeCgroup(t)
		if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.contents), 0o644); err != nil {
			t.Fatal(err)
		}
		cg := &cgroup{Parts: []cgroupPart{{"memory", tt.version, dir}}}
		if got := cg.oomKilled(); got != tt.want {
			t.Errorf("v%d %s %q: oomKilled() = %v, want %v", tt.version, tt.file, tt.contents, got, tt.want)
		}
	}
}

// A cgroup read back from a record (reclaim, cleanup) holds no open
// directory: removing it must not close a descriptor it never opened,
// such as the runtime's stdin.
func TestCgroupReadFromARecordClosesNothing(t *testing.T) {
	var cg cgroup
	if err := json.Unmarshal([]byte(`{"parts":[]}`), &cg); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := cg.remove(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{r, w} {
		if _, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil {
			t.Errorf("descriptor %d was closed by removing a cgroup read from a record: %v", f.Fd(), err)
		}
	}
	if _, err := unix.FcntlInt(0, unix.F_GETFD, 0); err != nil {
		t.Errorf("stdin was closed by removing a cgroup read from a record: %v", err)
	}
}
