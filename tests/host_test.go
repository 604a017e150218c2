package tests

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// snapshot is what the suite compares before and after every check, and
// around the whole run: whatever a container may leave on the host.
type snapshot struct {
	parts map[string][]string // what → sorted lines
}

// stateDirs are where the runtime keeps state, and cgroupParents where it
// makes its cgroups (from step 04 on); they must be as the suite found them.
var (
	stateDirs     = []string{"/run/tinyrun", "/var/lib/tinyrun"}
	cgroupParents = []string{"/sys/fs/cgroup/*/tinyrun", "/sys/fs/cgroup/tinyrun"}
)

// takeSnapshot reads the host's state.
func takeSnapshot() (snapshot, error) {
	s := snapshot{parts: map[string][]string{}}
	readers := map[string]func() ([]string, error){
		"mounts":                mountLines,
		"hostname":              hostnameLines,
		"network links":         linkLines,
		"container processes":   containerProcessLines,
		"files in the rootfs":   func() ([]string, error) { return treeLines(rootfsDir) },
		"runtime state":         func() ([]string, error) { return globTreeLines(stateDirs) },
		"cgroups":               func() ([]string, error) { return globTreeLines(cgroupParents) },
		"firewall rules (ipv4)": func() ([]string, error) { return firewallLines("iptables-save") },
		"network namespaces":    netnsLines,
		"test host network":     testHostNetworkLines,
	}
	for what, read := range readers {
		lines, err := read()
		if err != nil {
			return s, fmt.Errorf("%s: %w", what, err)
		}
		sort.Strings(lines)
		s.parts[what] = lines
	}
	return s, nil
}

// suiteStart is the host as the suite found it (TestMain), or nil.
var suiteStart *snapshot

// diff describes how after differs from s, or returns "" when it does not.
// What is gone counts only if the suite found it there: a check whose
// runtime reclaims what an earlier check left has changed nothing of the
// host's own.
func (s snapshot) diff(after snapshot) string {
	var out []string
	for what, lines := range s.parts {
		gone, added := setDifference(lines, after.parts[what]), setDifference(after.parts[what], lines)
		if suiteStart != nil {
			gone = setDifference(gone, setDifference(gone, suiteStart.parts[what]))
		}
		for _, l := range outermost(added) {
			out = append(out, fmt.Sprintf("  %s: left behind: %s", what, l))
		}
		if what == "container processes" {
			continue // a process that ended is not a leak
		}
		for _, l := range outermost(gone) {
			out = append(out, fmt.Sprintf("  %s: missing or changed: %s", what, l))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// leftoverFixes says, per part of the snapshot, what a runtime must do so
// that the host is left as found.
var leftoverFixes = map[string]string{
	"mounts":                "a mount made for the container must be made in its own mount namespace (CLONE_NEWNS, then / made private with MS_REC|MS_PRIVATE), or unmounted when it exits",
	"hostname":              "sethostname belongs in the child, in its new UTS namespace (CLONE_NEWUTS)",
	"network links":         "delete the container's links when it exits (the host end of its veth; the bridge with the last container); cleanup must reclaim them",
	"container processes":   "the container's processes must end with it: Pdeathsig, and PID 1 of a PID namespace of its own (its end kills the rest)",
	"files in the rootfs":   "the container wrote into the image or rootfs itself: mount the rootfs (or an overlay over it) for the container, and remove what the runtime wrote there",
	"runtime state":         "remove the container's record and directories when it exits (teardown); cleanup must reclaim those of a killed runtime",
	"cgroups":               "remove the container's cgroup when it exits (rmdir, once its processes are gone); cleanup must reclaim it",
	"firewall rules (ipv4)": "delete the container's rules when it exits (the chains with the last container); cleanup must reclaim them",
	"network namespaces":    "a network namespace the runtime names in /run/netns must be deleted when the container exits",
	"test host network":     "restore ip_forward as it was when the last container exits, and delete what the container added to the host's network",
}

// leftoverHint turns a snapshot diff (diff's lines: "  PART: left
// behind: OBJECT") into the objects left and, once per part, the fix.
func leftoverHint(diff string) string {
	var out []string
	fixed := map[string]bool{}
	lines := strings.Split(strings.TrimSpace(diff), "\n")
	const most = 12 // a broken teardown can leave hundreds
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if i == most {
			out = append(out, fmt.Sprintf("(and %d more)", len(lines)-most))
			break
		}
		out = append(out, line)
		part, object, _ := strings.Cut(line, ": ")
		if part == "test host network" { // links, rules and ip_forward: one fix each
			_, object, _ = strings.Cut(object, ": ")
			kind, _, _ := strings.Cut(object, " ")
			part = map[string]string{"rule": "firewall rules (ipv4)", "link": "network links"}[kind]
			if part == "" {
				part = "test host network"
			}
		}
		if fix, ok := leftoverFixes[part]; ok && !fixed[part] {
			fixed[part] = true
			out = append(out, "  -> "+fix)
		}
	}
	return "what the check left on the host (it was not there when the check began):\n" + strings.Join(out, "\n")
}

// diffSettled compares s with fresh snapshots until they agree or a short
// time passes: a container's processes and mounts go away asynchronously
// after the runtime exits.
func (s snapshot) diffSettled() string {
	var diff string
	waitUntil(3*time.Second, func() bool {
		after, err := takeSnapshot()
		if err != nil {
			diff = err.Error()
			return false
		}
		diff = s.diff(after)
		return diff == ""
	})
	return diff
}

// outermost keeps, of lines that begin with a path, those whose path is not
// inside another's, each with the number of lines inside it that it
// stands for: a cgroup left behind is one line, not one per control file.
func outermost(lines []string) []string {
	pathOf := func(line string) string { p, _, _ := strings.Cut(line, " "); return p }
	var kept []string
	inside := map[string]int{}
	for _, l := range lines {
		ancestor := "" // the outermost line whose path holds l's
		for _, other := range lines {
			p, o := pathOf(l), pathOf(other)
			if strings.HasPrefix(o, "/") && strings.HasPrefix(p, o+"/") && (ancestor == "" || len(o) < len(pathOf(ancestor))) {
				ancestor = other
			}
		}
		if ancestor == "" {
			kept = append(kept, l)
		} else {
			inside[ancestor]++
		}
	}
	for i, l := range kept {
		if n := inside[l]; n > 0 {
			kept[i] = fmt.Sprintf("%s (and %d more inside)", l, n)
		}
	}
	return kept
}

func setDifference(a, b []string) []string {
	in := map[string]bool{}
	for _, l := range b {
		in[l] = true
	}
	var out []string
	for _, l := range a {
		if !in[l] {
			out = append(out, l)
		}
	}
	return out
}

// mountLines lists the host's mounts without their IDs, which change when
// a mount is replaced by an identical one.
func mountLines() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 2 {
			lines = append(lines, strings.Join(fields[2:], " "))
		}
	}
	return lines, nil
}

func hostnameLines() ([]string, error) {
	name, err := os.Hostname()
	return []string{name}, err
}

func linkLines() ([]string, error) {
	links, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range links {
		lines = append(lines, fmt.Sprintf("%s %s", l.Name, l.Flags))
	}
	return lines, nil
}

// containerProcessLines lists processes in a UTS or PID namespace other than
// the suite's own, or running a step binary: the processes of containers.
// A process is named by PID and start time, so a reused PID is a new one.
func containerProcessLines() ([]string, error) {
	ownUTS, _ := os.Readlink("/proc/self/ns/uts")
	ownPID, _ := os.Readlink("/proc/self/ns/pid")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	binDir := filepath.Join(repoRoot, "bin") + "/"
	var lines []string
	for _, e := range entries {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		uts, err1 := os.Readlink("/proc/" + pid + "/ns/uts")
		pidNS, err2 := os.Readlink("/proc/" + pid + "/ns/pid")
		exe, _ := os.Readlink("/proc/" + pid + "/exe")
		if err1 != nil || err2 != nil {
			continue // gone already, or a kernel thread
		}
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue
		}
		if uts == ownUTS && pidNS == ownPID && !strings.HasPrefix(exe, binDir) {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 20 || fields[0] == "Z" {
			continue // a zombie has released everything; its reaper is not ours
		}
		cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		lines = append(lines, fmt.Sprintf("PID %s (started at tick %s): %s", pid, fields[19], strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")))
	}
	return lines, nil
}

// treeLines lists every path under root with its type and size.
func treeLines(root string) ([]string, error) {
	var lines []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while we walked
		}
		size := info.Size()
		if d.IsDir() {
			size = 0 // a directory's size depends on its history, not its contents
		}
		lines = append(lines, fmt.Sprintf("%s %s %d", path, info.Mode(), size))
		return nil
	})
	return lines, err
}

func globTreeLines(patterns []string) ([]string, error) {
	var lines []string
	for _, pattern := range patterns {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			more, err := treeLines(m)
			if err != nil {
				return nil, err
			}
			lines = append(lines, more...)
		}
	}
	return lines, nil
}

// netnsLines lists the named network namespaces (ip netns list).
func netnsLines() ([]string, error) {
	entries, err := os.ReadDir("/run/netns")
	if os.IsNotExist(err) {
		return nil, nil
	}
	var lines []string
	for _, e := range entries {
		lines = append(lines, e.Name())
	}
	return lines, err
}

// testHostNetworkLines lists the links, firewall rules and forwarding
// setting of the network namespace that stands for the host from step 04 on.
func testHostNetworkLines() ([]string, error) {
	if _, err := os.Stat("/run/netns/" + testHostNS); err != nil {
		return nil, nil
	}
	out, err := exec.Command("ip", "-n", testHostNS, "-o", "link", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip -n %s link: %w", testHostNS, err)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			lines = append(lines, "link "+strings.TrimSuffix(f[1], ":"))
		}
	}
	rules, err := exec.Command("nsenter", inNetns(testHostNS, "iptables-save")...).Output()
	if err != nil {
		return nil, fmt.Errorf("iptables-save in %s: %w", testHostNS, err)
	}
	for _, line := range strings.Split(string(rules), "\n") {
		if strings.HasPrefix(line, "-A ") || (strings.HasPrefix(line, ":") && !strings.HasPrefix(line, ":PREROUTING") &&
			!strings.HasPrefix(line, ":INPUT") && !strings.HasPrefix(line, ":OUTPUT") && !strings.HasPrefix(line, ":POSTROUTING") && !strings.HasPrefix(line, ":FORWARD")) {
			lines = append(lines, "rule "+stripCounters(line))
		}
	}
	forward, err := exec.Command("nsenter", inNetns(testHostNS, "cat", "/proc/sys/net/ipv4/ip_forward")...).Output()
	if err != nil {
		return nil, err
	}
	return append(lines, "ip_forward "+strings.TrimSpace(string(forward))), nil
}

// firewallLines lists the rules iptables-save prints, without counters;
// none when iptables is not installed (then nothing can have added rules).
func firewallLines(command string) ([]string, error) {
	path, err := exec.LookPath(command)
	if err != nil {
		return nil, nil
	}
	out, err := exec.Command(path).Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "-A ") || strings.HasPrefix(line, ":") || strings.HasPrefix(line, "*") {
			lines = append(lines, stripCounters(line))
		}
	}
	return lines, nil
}

// stripCounters removes the packet and byte counters of a chain line
// (":INPUT ACCEPT [12:345]"), which change with any traffic.
func stripCounters(line string) string {
	if i := strings.LastIndex(line, " ["); i > 0 && strings.HasPrefix(line, ":") {
		return line[:i]
	}
	return line
}

func TestLeftoversAreReportedAsTheObjectsLeft(t *testing.T) {
	lines := []string{
		"/sys/fs/cgroup/memory/tinyrun drwxr-xr-x 0",
		"/sys/fs/cgroup/memory/tinyrun/abc drwxr-xr-x 0",
		"/sys/fs/cgroup/memory/tinyrun/abc/memory.max -rw-r--r-- 0",
		"/sys/fs/cgroup/memory/tinyrun/abc/cgroup.procs -rw-r--r-- 0",
		"/run/tinyrun/lock -rw------- 0",
		"tinyrun0 UP",
	}
	got := strings.Join(outermost(lines), "\n")
	want := "/sys/fs/cgroup/memory/tinyrun drwxr-xr-x 0 (and 3 more inside)\n/run/tinyrun/lock -rw------- 0\ntinyrun0 UP"
	if got != want {
		t.Errorf("outermost: want\n%s\ngot\n%s", want, got)
	}
}

func TestLeftoverHintNamesEachObjectAndItsFix(t *testing.T) {
	diff := "  cgroups: left behind: /sys/fs/cgroup/memory/tinyrun/abc d 0 (and 40 more inside)\n" +
		"  cgroups: left behind: /sys/fs/cgroup/pids/tinyrun/abc d 0 (and 9 more inside)\n" +
		"  network links: left behind: veth1234 UP\n" +
		"  test host network: left behind: rule -A FORWARD -j TINYRUN-FORWARD"
	got := leftoverHint(diff)
	for _, want := range []string{"/sys/fs/cgroup/memory/tinyrun/abc", "/sys/fs/cgroup/pids/tinyrun/abc", "veth1234", leftoverFixes["cgroups"], leftoverFixes["network links"], leftoverFixes["firewall rules (ipv4)"]} {
		if !strings.Contains(got, want) {
			t.Errorf("leftoverHint: want %q in\n%s", want, got)
		}
	}
	if n := strings.Count(got, leftoverFixes["cgroups"]); n != 1 {
		t.Errorf("leftoverHint: the cgroups' fix is said %d times, want once:\n%s", n, got)
	}
	var many []string
	for i := 0; i < 100; i++ {
		many = append(many, fmt.Sprintf("  mounts: left behind: /mnt/%d", i))
	}
	if got := leftoverHint(strings.Join(many, "\n")); strings.Count(got, "\n") > 20 || !strings.Contains(got, "(and 88 more)") {
		t.Errorf("leftoverHint of 100 mounts: want at most 12 named and the rest counted, got\n%s", got)
	}
}
