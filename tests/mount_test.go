package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func checkPsShowsOnlyTheContainer(t *testing.T, s step) {
	r := s.runContainer(t, nil, "ps", "-o", "pid,comm")
	if r.status != 0 {
		t.Fatalf("run ps -o pid,comm: %v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	// The header, then PID 1 (ps itself, exec'd by the runtime's init).
	if len(lines) != 2 || !strings.HasPrefix(strings.TrimSpace(lines[1]), "1 ") {
		t.Errorf("run ps: want only the container's own process, PID 1, got:\n%s", r.stdout)
	}
}

func checkRootIsTheRootfs(t *testing.T, s step) {
	want := readFileString(filepath.Join(rootfsDir, "etc", "os-release"))
	r := s.runContainer(t, nil, "cat", "/etc/os-release")
	if r.status != 0 || r.stdout != want {
		t.Errorf("run cat /etc/os-release: want the rootfs's file %q, got %v", want, r)
	}
}

func checkHostFilesAreUnreachable(t *testing.T, s step) {
	marker, err := os.CreateTemp("/tmp", "tinyrun-host-only-")
	if err != nil {
		t.Fatal(err)
	}
	marker.Close()
	defer os.Remove(marker.Name())
	for _, path := range []string{marker.Name(), filepath.Join(repoRoot, "go.mod"), "/proc/1/root" + marker.Name()} {
		r := s.runContainer(t, nil, "sh", "-c", "test -e "+path+" && echo reachable || echo unreachable")
		if r.stdout != "unreachable\n" {
			t.Errorf("the host's file %s: want it unreachable from the container, got %v", path, r)
		}
	}
}

func checkOldRootIsDetached(t *testing.T, s step) {
	// The host's root mount, as "major:minor root" in mountinfo.
	host := hostRootMount(t)
	r := s.runContainer(t, nil, "cat", "/proc/self/mountinfo")
	if r.status != 0 {
		t.Fatalf("run cat /proc/self/mountinfo: %v", r)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[2]+" "+f[3] == host {
			t.Errorf("the host's root (%s) is still mounted in the container, at %s", host, f[4])
		}
	}
}

// hostRootMount returns "major:minor root" of the host's "/" mount.
func hostRootMount(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(readFileString("/proc/self/mountinfo"), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == "/" {
			return f[2] + " " + f[3]
		}
	}
	t.Fatal("no / in /proc/self/mountinfo")
	return ""
}

// netnsPinPattern is the mountinfo line of a container's network
// namespace pinned by step 07's run: an nsfs mount on the file netns of
// the container's directory.
var netnsPinPattern = regexp.MustCompile(` /run/tinyrun/containers/[0-9a-f]{12}/netns .* - nsfs `)

func checkHostMountsUnchangedWhileRunning(t *testing.T, s step) {
	before, err := mountLines()
	if err != nil {
		t.Fatal(err)
	}
	c := s.start(t, nil, "sh", "-c", "echo ready; read line; exit 0")
	c.waitForLine(t, "ready")
	during, err := mountLines()
	if err != nil {
		t.Fatal(err)
	}
	var diff []string
	for _, line := range setDifference(during, before) {
		// Step 07's one mount on the host, on purpose: the container's
		// network namespace, pinned in its directory by the caller (as
		// Docker pins one in /run/docker/netns), which init joins.
		if s.number >= 7 && netnsPinPattern.MatchString(line) {
			continue
		}
		diff = append(diff, line)
	}
	if len(diff) > 0 {
		t.Errorf("while a container runs, the host has mounts it did not have before:\n%s", strings.Join(diff, "\n"))
	}
	if status, _ := c.finish(t); status != 0 {
		t.Errorf("the container did not exit cleanly: status %d, stderr %q", status, c.stderr.String())
	}
}

func checkWorksWhenHostRootIsShared(t *testing.T, s step) {
	// A private mount namespace of the test's own stands in for a systemd
	// host: its "/" is made shared there, and the real host is untouched.
	script := fmt.Sprintf(`mount --make-rshared / || exit 99
before=$(cut -d' ' -f3- /proc/self/mountinfo)
%s cat /etc/os-release
status=$?
after=$(cut -d' ' -f3- /proc/self/mountinfo)
[ "$before" = "$after" ] || { echo "mounts leaked into the shared host:"; diff <(echo "$before") <(echo "$after"); }
exit $status`, shellQuote(s.argv(s.runArgs(nil)...)))
	cmd := exec.Command("unshare", "--mount", "--propagation", "unchanged", "bash", "-c", script)
	out, err := cmd.CombinedOutput()
	want := readFileString(filepath.Join(rootfsDir, "etc", "os-release"))
	if err != nil || string(out) != want {
		t.Errorf("in a namespace whose / is shared: want the container to start and print %q, got %v:\n%s", want, err, out)
	}
}

func checkHostProcIsUntouched(t *testing.T, s step) {
	procMount := func() string {
		for _, line := range strings.Split(readFileString("/proc/self/mountinfo"), "\n") {
			if f := strings.Fields(line); len(f) > 4 && f[4] == "/proc" {
				return line
			}
		}
		return ""
	}
	before := procMount()
	r := s.runContainer(t, nil, "ps")
	if r.status != 0 {
		t.Fatalf("run ps: %v", r)
	}
	if after := procMount(); after != before {
		t.Errorf("the host's /proc mount changed:\nbefore: %s\nafter:  %s", before, after)
	}
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		t.Errorf("the host's /proc/self is %q (%v), want this test's PID %d: /proc shows another PID namespace", self, err, os.Getpid())
	}
}

func checkDevHasTheUsualDevices(t *testing.T, s step) {
	script := `for d in null zero full random urandom tty pts shm; do test -e /dev/$d || echo missing /dev/$d; done
echo x > /dev/null || echo cannot write /dev/null
head -c 3 /dev/zero | wc -c
head -c 3 /dev/urandom | wc -c
ls /dev | wc -l`
	r := s.runContainer(t, nil, "sh", "-c", script)
	lines := strings.Fields(r.stdout)
	if r.status != 0 || len(lines) != 3 || lines[0] != "3" || lines[1] != "3" {
		t.Fatalf("want the usual devices in /dev, usable, got %v", r)
	}
	if n, _ := strconv.Atoi(lines[2]); n > 20 {
		t.Errorf("want a minimal /dev, not the host's: the container's has %d entries", n)
	}
}

func checkSysIsReadOnly(t *testing.T, s step) {
	// The mount's own options (field 6 of mountinfo) must say ro: a write
	// test would not do, as sysfs refuses to create files even when rw.
	r := s.runContainer(t, nil, "sh", "-c", "ls /sys/kernel >/dev/null && awk '$5 == \"/sys\" {print $6}' /proc/self/mountinfo")
	lines := strings.Fields(r.stdout)
	if r.status == 0 && len(lines) > 1 {
		// Two mounts at /sys: the host's, reached through a root that
		// was never detached, and the container's.
		hintFromFailure("/proc/self/mountinfo shows " + strconv.Itoa(len(lines)) + " mounts at /sys: the host's root is still attached under the container's; after pivot_root, unmount the old root (umount2 with MNT_DETACH)")
	}
	options := strings.Split(strings.TrimSpace(r.stdout), ",")
	if r.status != 0 || len(lines) != 1 || options[0] != "ro" {
		t.Errorf("want /sys mounted once, read-only (ro in /proc/self/mountinfo), got %v", r)
	}
}

func checkCommandIsLookedUpInTheRootfs(t *testing.T, s step) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("the host has no bash, which this check needs to find on the host and not in the rootfs")
	}
	r := s.runContainer(t, nil, "bash", "-c", "true")
	wantOneLineError(t, "run bash (a host program, missing from the busybox rootfs)", r, "bash")
	if r.status != 127 {
		t.Errorf("run bash: want exit status 127, got %d", r.status)
	}
}

func checkMissingRootfsIsAnError(t *testing.T, s step) {
	if s.number >= 6 { // the root filesystem is an image from step 06 on
		r := s.run(t, "run", "no-such-image", "true")
		wantOneLineError(t, "run no-such-image", r, "no-such-image", "not found")
		return
	}
	r := s.run(t, "run", "--rootfs", "/nonexistent/rootfs", "true")
	wantOneLineError(t, "run --rootfs /nonexistent/rootfs", r, "/nonexistent/rootfs", "make rootfs")
}

// readFileString returns the contents of path, or "" if it cannot be read.
func readFileString(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(data)
}

// shellQuote joins args into one shell command line.
func shellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

func itoa(n int) string { return strconv.Itoa(n) }
