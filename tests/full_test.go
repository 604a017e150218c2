package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The checks of step 07, the complete runtime: detached containers and
// their lifecycle (ps, logs, exec, stop, kill, rm, commit), terminals, many
// containers at once, a monitor that dies, and bad input to every command.
//
// A detached container is started with detached, which registers its
// removal (rm -f) with t.Cleanup, so that a failing check leaves nothing.
// The checks read ps through --format, never its table. A container's
// process is found on the host by a command line no other process has
// ("sleep N", markedSleep).

// containerIDPattern is what run -d prints: the container's ID and a newline.
var containerIDPattern = regexp.MustCompile(`^[0-9a-f]{12}\n$`)

// detachedArgs are the arguments of "run -d flags IMAGE command", without
// the --rm and -i that runArgs adds from step 07 on: a detached container
// of the checks is kept until the check removes it.
func (s step) detachedArgs(flags []string, command ...string) []string {
	args := append(append([]string{"run", "-d"}, flags...), testImage)
	return append(args, command...)
}

// detached starts a detached container with flags running command, and
// returns its ID. The container is removed (rm -f) when the check ends.
func (s step) detached(t *testing.T, flags []string, command ...string) string {
	t.Helper()
	args := s.detachedArgs(flags, command...)
	r := s.run(t, args...)
	if r.status != 0 || !containerIDPattern.MatchString(r.stdout) {
		t.Fatalf("%s: want exit status 0 and the container's 12-hex ID and a newline on stdout, got %v", strings.Join(args, " "), r)
	}
	id := trimLine(r.stdout)
	t.Cleanup(func() { s.removeIfThere(t, id) })
	return id
}

// removeIfThere removes container id with rm -f if ps -a still lists it.
func (s step) removeIfThere(t *testing.T, id string) {
	t.Helper()
	for _, listed := range s.containerIDs(t, "-a") {
		if listed == id {
			if r := s.run(t, "rm", "-f", id); r.status != 0 {
				t.Errorf("rm -f %s, cleaning up after the check: %v", id, r)
			}
			return
		}
	}
}

// containerIDs returns the IDs "ps -q" prints, with more flags (-a), sorted.
func (s step) containerIDs(t *testing.T, flags ...string) []string {
	t.Helper()
	r := s.run(t, append([]string{"ps", "-q"}, flags...)...)
	if r.status != 0 {
		t.Fatalf("ps -q %s: %v", strings.Join(flags, " "), r)
	}
	ids := strings.Fields(r.stdout)
	sort.Strings(ids)
	return ids
}

// psFormat is the template the checks list containers with: the fields of
// a row of ps, separated by "|" (which no field holds; a tab could be
// aligned into spaces, as in ps's table).
const psFormat = "{{.ID}}|{{.Name}}|{{.Image}}|{{.State}}|{{.ExitCode}}|{{.Address}}|{{.Ports}}|{{.Status}}"

// psRow is one container as ps -a --format psFormat shows it.
type psRow struct {
	id, name, image, state, exitCode, address, ports, status string
}

func (r psRow) String() string {
	return fmt.Sprintf("ID %s, name %q, image %q, state %q, exit code %s, address %q, ports %q, status %q",
		r.id, r.name, r.image, r.state, r.exitCode, r.address, r.ports, r.status)
}

// containers lists every container (ps -a), by ID.
func (s step) containers(t *testing.T) map[string]psRow {
	t.Helper()
	r := s.run(t, "ps", "-a", "--format", psFormat)
	if r.status != 0 {
		t.Fatalf("ps -a --format '%s': %v", psFormat, r)
	}
	rows := map[string]psRow{}
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 8 {
			t.Fatalf("ps -a --format '%s': want 8 fields separated by '|' on each line, got %q", psFormat, line)
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		rows[f[0]] = psRow{id: f[0], name: f[1], image: f[2], state: f[3], exitCode: f[4], address: f[5], ports: f[6], status: f[7]}
	}
	return rows
}

// container returns the row of ps -a for id; it fails t if there is none.
func (s step) container(t *testing.T, id string) psRow {
	t.Helper()
	row, ok := s.containers(t)[id]
	if !ok {
		t.Fatalf("ps -a does not list the container %s", id)
	}
	return row
}

// waitForState waits until ps -a shows container id in state, and returns its row.
func (s step) waitForState(t *testing.T, id, state string) psRow {
	t.Helper()
	var row psRow
	if !waitUntil(10*time.Second, func() bool {
		row = s.container(t, id)
		return row.state == state
	}) {
		t.Fatalf("ps -a: want the container %s %s within 10 s, got %v", id, state, row)
	}
	return row
}

// markedSleep returns a number of seconds to sleep for that no other
// process of the check uses: "sleep N" then names a container's process on
// the host (findMarked).
func markedSleep() string {
	return strconv.Itoa(1000000 + rand.Intn(9000000))
}

// findMarked waits until exactly one process on the host runs "sleep
// marker", and returns its PID.
func findMarked(t *testing.T, marker string) int {
	t.Helper()
	var pids []int
	if !waitUntil(10*time.Second, func() bool {
		pids = processesRunning("sleep", marker)
		return len(pids) == 1
	}) {
		t.Fatalf("want one process 'sleep %s' on the host, found %d (PIDs %v)", marker, len(pids), pids)
	}
	return pids[0]
}

// processesRunning lists the PIDs whose command line is argv.
func processesRunning(argv ...string) []int {
	want := strings.Join(argv, "\x00") + "\x00"
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if readFileString(fmt.Sprintf("/proc/%d/cmdline", pid)) == want && !processGone(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// namespacePIDs returns the PIDs of pid in each PID namespace it is in,
// the host's first (NSpid in /proc/PID/status, man 5 proc).
func namespacePIDs(t *testing.T, pid int) []string {
	t.Helper()
	for _, line := range strings.Split(readFileString(fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("/proc/%d/status has no NSpid line", pid)
	return nil
}

// startArgs starts the step binary with args in the background, as start
// does for "run"; the check ends it with wait, or t.Cleanup kills it.
func (s step) startArgs(t *testing.T, args ...string) *running {
	t.Helper()
	argv := s.argv(args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	r := &running{step: s, cmd: cmd, args: args, lines: make(chan string, 100), done: make(chan struct{})}
	cmd.Stderr = &r.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if r.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			r.lines <- scanner.Text()
		}
		close(r.lines)
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			// What it started in a container may still hold its stdout.
			if f, ok := stdout.(*os.File); ok {
				killHoldersOf(f)
			}
			<-r.done
		}
	})
	return r
}

// httpdScript serves /www/index.html, holding webPage, with busybox httpd
// as the container's PID 1, logging each request (-v) to stderr.
const (
	webPage     = "hello from web\n"
	httpdScript = "mkdir -p /www && echo 'hello from web' > /www/index.html && exec httpd -f -v -p 80 -h /www"
)

func checkDetachedServerIsServedListedAndLogged(t *testing.T, s step) {
	before := s.containerIDs(t, "-a")
	r := s.run(t, s.detachedArgs([]string{"--name", "web", "-p", "8090:80"}, "sh", "-c", httpdScript)...)
	if r.status != 0 || !containerIDPattern.MatchString(r.stdout) || r.stderr != "" {
		t.Fatalf("run -d --name web -p 8090:80: want exit status 0, the container's ID and a newline on stdout and nothing on stderr, got %v", r)
	}
	id := trimLine(r.stdout)
	t.Cleanup(func() { s.removeIfThere(t, id) })

	// Served: from the host and from another machine, on the published port.
	served := 0
	if !waitUntil(10*time.Second, func() bool { return fetch(t, fromTestHost, "http://127.0.0.1:8090/") == webPage }) {
		t.Fatalf("the detached web server did not answer on the host's 127.0.0.1:8090 within 10 s: %q", fetch(t, fromTestHost, "http://127.0.0.1:8090/"))
	}
	served++
	for _, c := range []struct {
		from  string
		where func(ctx context.Context, args ...string) (string, error)
		url   string
	}{
		{"the host, on 127.0.0.1", fromTestHost, "http://127.0.0.1:8090/"},
		{"the host, on its own address", fromTestHost, "http://" + testHostAddr + ":8090/"},
		{"another machine", fromOutside, "http://" + testHostAddr + ":8090/"},
	} {
		if got := fetch(t, c.where, c.url); got != webPage {
			t.Errorf("from %s, %s: want the detached container's %q, got %q", c.from, c.url, webPage, got)
		} else {
			served++
		}
	}

	// Listed: running, with its name, address and port.
	row := s.container(t, id)
	address, err := netip.ParseAddr(row.address)
	if row.name != "web" || row.state != "running" || row.exitCode != "0" || !strings.HasPrefix(row.status, "Up") {
		t.Errorf("ps -a: want the container named web, running (status Up ...), exit code 0, got %v", row)
	}
	if err != nil || !netip.MustParsePrefix(defaultSubnet).Contains(address) || !strings.Contains(row.ports, "8090") {
		t.Errorf("ps -a: want the container's address in %s and its port 8090 listed, got %v", defaultSubnet, row)
	}
	if running := s.containerIDs(t); !contains(running, id) {
		t.Errorf("ps -q (running containers): want %s listed, got %q", id, running)
	}

	// Logged: httpd -v writes a line per request to stderr.
	var logs result
	if !waitUntil(5*time.Second, func() bool {
		logs = s.run(t, "logs", "web")
		return logs.status == 0 && strings.Count(logs.stdout+logs.stderr, "response:200") >= served
	}) {
		t.Errorf("logs web: want httpd's line for each of the %d requests served (\"...: response:200\"), got %v", served, logs)
	}

	// Exec: into its PID namespace and its root.
	var ps result
	var commands []string
	if !waitUntil(5*time.Second, func() bool {
		ps = s.run(t, "exec", "web", "ps")
		commands = psCommands(ps.stdout)
		return ps.status == 0 && len(commands) == 2 && commands[0] == "1 httpd -f -v -p 80 -h /www" && strings.HasSuffix(commands[1], " ps")
	}) {
		t.Errorf("exec web ps: want only httpd as PID 1 and the ps itself, got %q (%v)", commands, ps)
	}
	if r := s.run(t, "exec", "web", "cat", "/www/index.html"); r.status != 0 || r.stdout != webPage {
		t.Errorf("exec web cat /www/index.html: want %q, the file the container made, got %v", webPage, r)
	}

	// Stopped: httpd, as PID 1 without a handler, ignores SIGTERM, so stop
	// kills it after the 1 s asked for.
	began := time.Now()
	r = s.run(t, "stop", "-t", "1", "web")
	took := time.Since(began)
	if r.status != 0 || r.stdout != "web\n" {
		t.Errorf("stop -t 1 web: want exit status 0 and %q, the name as given, got %v", "web\n", r)
	}
	if took < 900*time.Millisecond || took > 6*time.Second {
		t.Errorf("stop -t 1 web took %s: want about 1 s (SIGTERM, which httpd ignores, then SIGKILL 1 s later)", took.Round(100*time.Millisecond))
	}
	row = s.container(t, id)
	if row.state != "exited" || row.exitCode != "137" || !strings.HasPrefix(row.status, "Exited (137)") {
		t.Errorf("ps -a right after stop -t 1 web: want it exited with code 137 (killed after ignoring SIGTERM; status \"Exited (137) ...\"), got %v", row)
	}
	if running := s.containerIDs(t); contains(running, id) {
		t.Errorf("ps -q (running containers) after stop: want %s no longer listed, got %q", id, running)
	}

	// Removed: nothing left (and the snapshot around the check proves it).
	if r := s.run(t, "rm", "web"); r.status != 0 || r.stdout != "web\n" {
		t.Errorf("rm web: want exit status 0 and %q, got %v", "web\n", r)
	}
	if after := s.containerIDs(t, "-a"); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("ps -a -q after rm web: want %q, as before the run, got %q", before, after)
	}
}

// psCommands returns the processes busybox ps lists in out, one "PID
// COMMAND" string each, in order: the columns between the two depend on
// how busybox was built, so the header says where COMMAND begins.
func psCommands(out string) []string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := strings.Fields(lines[0])
	column := len(header) - 1
	if len(header) < 2 || header[0] != "PID" || header[column] != "COMMAND" {
		return nil
	}
	var commands []string
	for _, line := range lines[1:] {
		if f := strings.Fields(line); len(f) > column {
			commands = append(commands, f[0]+" "+strings.Join(f[column:], " "))
		}
	}
	return commands
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func checkExecSeesTheContainersNetworkLimitAndVolume(t *testing.T, s step) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := markedSleep()
	id := s.detached(t, []string{"--subnet", "10.79.0.0/24", "-m", "64m", "-v", dir + ":/data"}, "sleep", marker)
	init := findMarked(t, marker)

	r := s.run(t, "exec", id, "ip", "-4", "-o", "addr", "show", "eth0")
	prefix, err := netip.ParsePrefix(containerAddress(r.stdout))
	if r.status != 0 || err != nil || !netip.MustParsePrefix("10.79.0.0/24").Contains(prefix.Addr()) {
		t.Errorf("exec %s ip addr show eth0: want the container's address in 10.79.0.0/24 (--subnet), got %v", id, r)
	}
	if r := s.run(t, "exec", id, "cat", "/data/file"); r.status != 0 || r.stdout != "from the host\n" {
		t.Errorf("exec %s cat /data/file: want the volume's file, %q, got %v", id, "from the host\n", r)
	}

	// The exec'd process, seen from the host, is in the container's cgroup,
	// the one with the 64 MiB limit.
	other := markedSleep()
	execd := s.startArgs(t, "exec", id, "sleep", other)
	pid := findMarked(t, other)
	want, got := readFileString(fmt.Sprintf("/proc/%d/cgroup", init)), readFileString(fmt.Sprintf("/proc/%d/cgroup", pid))
	if want == "" {
		t.Fatalf("the container's first process (PID %d) is gone", init)
	}
	if got != want {
		t.Errorf("exec %s sleep: want the process in the container's cgroups:\n%s\ngot:\n%s", id, want, got)
	}
	limit := ""
	for _, file := range []string{"memory.max", "memory.limit_in_bytes"} {
		if path, err := findCgroupFile(pid, "memory", file); err == nil {
			limit = strings.TrimSpace(readFileString(path))
		}
	}
	if limit != strconv.Itoa(64<<20) {
		t.Errorf("exec %s sleep: want the process under the container's memory limit, %d (-m 64m), got %q", id, 64<<20, limit)
	}

	// Killed: the exec'd process goes with it, and exec is refused.
	if r := s.run(t, "kill", id); r.status != 0 {
		t.Errorf("kill %s: %v", id, r)
	}
	if row := s.waitForState(t, id, "exited"); row.exitCode != "137" {
		t.Errorf("ps -a after kill (SIGKILL): want exit code 137, got %v", row)
	}
	if status, _ := execd.wait(t); status == 0 {
		t.Errorf("exec %s sleep: want it to end, killed, with its container; it exited with 0", id)
	}
	r = s.run(t, "exec", id, "true")
	if r.status != 125 || !oneLine(r.stderr) || r.stdout != "" {
		t.Errorf("exec %s true into an exited container: want status 125 and one line on stderr, got %v", id, r)
	}
}

// nextLine returns the next line the background command prints.
func (r *running) nextLine(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-r.lines:
		if !ok {
			<-r.done
			t.Fatalf("%s exited (%v, stderr %q) before printing a line", strings.Join(r.args, " "), r.err, r.stderr.String())
		}
		return line
	case <-time.After(commandTimeout):
		t.Fatalf("%s printed nothing within %s", strings.Join(r.args, " "), commandTimeout)
	}
	return ""
}

func checkExecJoinsEveryNamespace(t *testing.T, s step) {
	marker := markedSleep()
	id := s.detached(t, nil, "sleep", marker)
	init := findMarked(t, marker)

	other := markedSleep()
	execd := s.startArgs(t, "exec", id, "sh", "-c", "echo $$; exec sleep "+other)
	inside := execd.nextLine(t)
	pid := findMarked(t, other)
	for _, kind := range []string{"mnt", "uts", "ipc", "net", "pid"} {
		want := readLink(t, fmt.Sprintf("/proc/%d/ns/%s", init, kind))
		if got := readLink(t, fmt.Sprintf("/proc/%d/ns/%s", pid, kind)); got != want {
			t.Errorf("exec %s: the process's %s namespace is %s, want the container's, %s", id, kind, got, want)
		}
	}
	// NSpid lists the process's PID in each PID namespace, the host's first.
	nspid := namespacePIDs(t, pid)
	if len(nspid) < 2 || nspid[len(nspid)-1] != inside || inside == strconv.Itoa(pid) {
		t.Errorf("exec %s sh -c 'echo $$': want its PID in the container's PID namespace (host PID %d, NSpid %v), got %q", id, pid, nspid, inside)
	}
	// A member of the container's PID namespace ends with its PID 1.
	if r := s.run(t, "rm", "-f", id); r.status != 0 || r.stdout != id+"\n" {
		t.Errorf("rm -f %s: want exit status 0 and the ID, got %v", id, r)
	}
	if !waitUntil(5*time.Second, func() bool { return processGone(pid) }) {
		t.Errorf("the process exec started in %s (host PID %d) outlived the container by 5 s: it is not in the container's PID namespace", id, pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	execd.wait(t)
}

// committedImage is the image checkCommitMakesAnImageWithTheChanges makes.
const committedImage = "tinyrun-test-committed"

func checkCommitMakesAnImageWithTheChanges(t *testing.T, s step) {
	id := s.detached(t, nil, "sleep", markedSleep())
	if r := s.run(t, "exec", id, "sh", "-c", "echo committed > /committed && rm /etc/group"); r.status != 0 {
		t.Fatalf("exec %s: writing /committed and removing /etc/group: %v", id, r)
	}
	r := s.run(t, "commit", id, committedImage)
	t.Cleanup(func() { s.removeImageIfThere(t, committedImage) })
	if r.status != 0 {
		t.Fatalf("commit %s %s: %v", id, committedImage, r)
	}
	if images := s.imageNames(t); !contains(images, committedImage) {
		t.Errorf("images after commit: want %s listed, got %q", committedImage, images)
	}
	r = s.run(t, "run", "--rm", committedImage, "sh", "-c", "cat /committed; test -e /etc/group && echo group is there; head -n 1 /etc/passwd")
	if want := "committed\nroot:x:0:0:root:/root:/bin/sh\n"; r.status != 0 || r.stdout != want {
		t.Errorf("run --rm %s: want the committed /committed, /etc/group removed as in the container, and the base image's /etc/passwd (%q), got %v", committedImage, want, r)
	}
	r = s.run(t, "run", "--rm", testImage, "sh", "-c", "cat /committed 2>/dev/null; test -e /etc/group && echo group is there")
	if r.status != 0 || r.stdout != "group is there\n" {
		t.Errorf("run --rm %s: want the base image unchanged (no /committed, /etc/group there), got %v", testImage, r)
	}
	if r := s.run(t, "rm", "-f", id); r.status != 0 {
		t.Errorf("rm -f %s: %v", id, r)
	}
	if r := s.run(t, "rmi", committedImage); r.status != 0 {
		t.Errorf("rmi %s, once no container uses it: %v", committedImage, r)
	}
}

// imageNames lists the names of the images (the first field of each line
// of "images"), sorted.
func (s step) imageNames(t *testing.T) []string {
	t.Helper()
	r := s.run(t, "images")
	if r.status != 0 {
		t.Fatalf("images: %v", r)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	sort.Strings(names)
	return names
}

// removeImageIfThere removes the image name if "images" lists it.
func (s step) removeImageIfThere(t *testing.T, name string) {
	t.Helper()
	if contains(s.imageNames(t), name) {
		if r := s.run(t, "rmi", name); r.status != 0 {
			t.Errorf("rmi %s, cleaning up after the check: %v", name, r)
		}
	}
}

// terminal is the step binary running on a pseudo-terminal the check
// holds the other end of, as a user at a terminal would run it.
type terminal struct {
	args   []string
	master *os.File
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // from Wait, once done is closed

	mu     sync.Mutex
	output []byte // everything read from the terminal
	seen   int    // how much of output expect has matched already
}

// openPTY opens a new pseudo-terminal pair (man 7 pty, man 4 ptmx): the
// master, for the check, and the slave, for the program.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	// Through SyscallConn, not Fd, which would make reads block outside
	// the poller, so that Close could not end a read under way.
	conn, err := master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n uint32
	if err := conn.Control(func(fd uintptr) {
		if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err != nil {
			err = fmt.Errorf("unlock the pseudo-terminal (TIOCSPTLCK): %w", err)
			return
		}
		if n, err = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN); err != nil {
			err = fmt.Errorf("TIOCGPTN: %w", err)
		}
	}); err != nil {
		master.Close()
		t.Fatal(err)
	}
	if err != nil {
		master.Close()
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		t.Fatalf("open /dev/pts/%d: %v", n, err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatalf("TIOCSWINSZ: %v", err)
	}
	return master, slave
}

// startOnTerminal starts the step binary with args in a session of its own
// whose controlling terminal is a new pseudo-terminal, on its stdin, stdout
// and stderr. The check ends it with wait; t.Cleanup kills it if not.
func (s step) startOnTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	master, slave := openPTY(t)
	argv := s.argv(args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	slave.Close() // the program holds it now; the master reads EIO once it is gone
	term := &terminal{args: args, master: master, cmd: cmd, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.output = append(term.output, buf[:n]...)
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		term.err = cmd.Wait()
		close(term.done)
	}()
	t.Cleanup(func() {
		select {
		case <-term.done:
		default:
			_ = cmd.Process.Kill()
			<-term.done
			s.cleanUpAfterKill(t)
		}
		master.Close()
	})
	return term
}

// expect waits until the terminal shows text matching pattern after what
// expect matched before.
func (term *terminal) expect(t *testing.T, pattern string, timeout time.Duration) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	var rest []byte
	if waitUntil(timeout, func() bool {
		term.mu.Lock()
		defer term.mu.Unlock()
		rest = append([]byte(nil), term.output[term.seen:]...)
		if m := re.FindIndex(rest); m != nil {
			term.seen += m[1]
			return true
		}
		return false
	}) {
		return
	}
	t.Fatalf("%s on a terminal: want output matching %q within %s, got %q", strings.Join(term.args, " "), pattern, timeout, clip(string(rest)))
}

// send types text on the terminal.
func (term *terminal) send(t *testing.T, text string) {
	t.Helper()
	if _, err := term.master.Write([]byte(text)); err != nil {
		t.Fatalf("type %q on the terminal: %v", text, err)
	}
}

// wait waits for the program to exit and returns its status.
func (term *terminal) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-term.done:
	case <-time.After(commandTimeout):
		t.Fatalf("%s on a terminal did not exit within %s", strings.Join(term.args, " "), commandTimeout)
	}
	status := statusOf(t, term.err)
	noteRun(term.args, status, "")
	return status
}

// The shell's prompt, "/ # " (root, in /), and the answer to a sum it is
// asked; lines end in \r\n on a terminal.
const (
	shellPrompt = `/ # `
	answer42    = `(^|\n)42\r+\n`
)

func checkInteractiveShellOnAPseudoTerminal(t *testing.T, s step) {
	term := s.startOnTerminal(t, s.runArgs([]string{"-t"}, "sh")...)
	term.expect(t, shellPrompt, 10*time.Second)
	term.send(t, "echo $((6*7))\r")
	term.expect(t, answer42, 5*time.Second)
	term.expect(t, shellPrompt, 5*time.Second)

	// Ctrl-C interrupts the foreground command, as on any terminal.
	marker := markedSleep()
	term.send(t, "sleep "+marker+"\r")
	sleeper := findMarked(t, marker)
	term.send(t, "\x03")
	if !waitUntil(5*time.Second, func() bool { return processGone(sleeper) }) {
		t.Errorf("Ctrl-C typed while 'sleep %s' ran in the container: want the sleep interrupted, it still runs 5 s later", marker)
		_ = syscall.Kill(sleeper, syscall.SIGKILL)
	}
	term.expect(t, shellPrompt, 5*time.Second)

	term.send(t, "exit 3\r")
	if status := term.wait(t); status != 3 {
		t.Errorf("run --rm -it %s sh, then 'exit 3': want the runtime to exit with 3, got %d", testImage, status)
	}

	// exec -it into a detached container: the same shell, on a terminal.
	id := s.detached(t, nil, "sleep", markedSleep())
	term = s.startOnTerminal(t, "exec", "-i", "-t", id, "sh")
	term.expect(t, shellPrompt, 10*time.Second)
	term.send(t, "echo $((6*7))\r")
	term.expect(t, answer42, 5*time.Second)
	term.send(t, "exit 5\r")
	if status := term.wait(t); status != 5 {
		t.Errorf("exec -it %s sh, then 'exit 5': want exec to exit with 5, got %d", id, status)
	}
}

// quietResult is a run of the step binary made without t, from a goroutine.
type quietResult struct {
	result
	err error // the run could not be made, or took longer than timeout
}

// runQuietly runs the step binary with args, from any goroutine.
func (s step) runQuietly(timeout time.Duration, args ...string) quietResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := s.argv(args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := quietResult{result: result{stdout: stdout.String(), stderr: stderr.String()}}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.err = fmt.Errorf("did not finish within %s", timeout)
	case errors.As(err, &exitErr):
		ws := exitErr.Sys().(syscall.WaitStatus)
		r.status = ws.ExitStatus()
		if ws.Signaled() {
			r.status = 128 + int(ws.Signal())
		}
	case err != nil:
		r.err = err
	}
	return r
}

func (r quietResult) String() string {
	if r.err != nil {
		return r.err.Error()
	}
	return r.result.String()
}

// atOnce runs n commands of the step binary at the same time, args(i) the
// arguments of the i-th, and returns their results in order.
func (s step) atOnce(n int, args func(i int) []string) []quietResult {
	results := make([]quietResult, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.runQuietly(2*commandTimeout, args(i)...)
		}()
	}
	wg.Wait()
	return results
}

func checkFiftyConcurrentRunsAndRemoves(t *testing.T, s step) {
	const n = 50
	before := s.containerIDs(t, "-a")
	runs := s.atOnce(n, func(int) []string { return s.detachedArgs(nil, "sleep", "1000") })
	var ids []string
	for i, r := range runs {
		if r.err != nil || r.status != 0 || !containerIDPattern.MatchString(r.stdout) {
			t.Errorf("run -d %d of %d at once: want exit status 0 and an ID, got %v", i+1, n, r)
			continue
		}
		id := trimLine(r.stdout)
		ids = append(ids, id)
		t.Cleanup(func() { s.removeIfThere(t, id) })
	}
	rows := s.containers(t)
	byAddress := map[string]string{}
	distinct := map[string]bool{}
	for _, id := range ids {
		distinct[id] = true
		row, ok := rows[id]
		if !ok || row.state != "running" || row.address == "" {
			t.Errorf("ps -a: want %s running with an address, got %v (listed: %v)", id, row, ok)
			continue
		}
		if other, dup := byAddress[row.address]; dup {
			t.Errorf("containers %s and %s, started at once, both have the address %s", other, id, row.address)
		}
		byAddress[row.address] = id
	}
	if len(distinct) != len(ids) {
		t.Errorf("%d runs at once printed only %d distinct IDs: %q", len(ids), len(distinct), ids)
	}
	if t.Failed() {
		t.FailNow()
	}

	removes := s.atOnce(len(ids), func(i int) []string { return []string{"rm", "-f", ids[i]} })
	for i, r := range removes {
		if r.err != nil || r.status != 0 || r.stdout != ids[i]+"\n" {
			t.Errorf("rm -f %s, one of %d at once: want exit status 0 and the ID, got %v", ids[i], len(ids), r)
		}
	}
	if after := s.containerIDs(t, "-a"); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("ps -a -q after %d removes at once: want %q, as before the runs, got %q", len(ids), before, after)
	}
}

func checkKilledMonitorLeavesAnExitedContainer(t *testing.T, s step) {
	marker := markedSleep()
	id := s.detached(t, nil, "sleep", marker)
	init := findMarked(t, marker)
	monitor, _ := processParent(init)
	if !isMonitorOf(s, monitor, id) {
		t.Fatalf("the container's first process (PID %d) has the parent %d, %q: want its monitor, the runtime's binary ('monitor %s')",
			init, monitor, commandLine(monitor), id)
	}
	if err := syscall.Kill(monitor, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(5*time.Second, func() bool { return processGone(init) }) {
		t.Errorf("the monitor (PID %d) was killed, but the container's process (PID %d) still runs 5 s later: give it a parent-death signal", monitor, init)
		_ = syscall.Kill(init, syscall.SIGKILL)
	}
	if row := s.container(t, id); row.state != "exited" {
		t.Errorf("ps -a after the monitor was killed: want the container exited, got %v", row)
	}
	if r := s.run(t, "rm", id); r.status != 0 || r.stdout != id+"\n" {
		t.Errorf("rm %s, exited with its monitor killed: want exit status 0 and the ID, got %v", id, r)
	}
	if ids := s.containerIDs(t, "-a"); contains(ids, id) {
		t.Errorf("ps -a -q after rm %s: want it gone, got %q", id, ids)
	}
}

// checkMonitorSpeaksNoEnvironment fails if the monitor of a detached
// container, as it waits, holds a variable of the runtime's in its
// environment (its role and its container's PID come in its arguments),
// if its stderr, which nobody reads once run -d has returned, goes
// anywhere but monitor.log in the container's directory, or if logs does
// not print what is there.
func checkMonitorSpeaksNoEnvironment(t *testing.T, s step) {
	marker := markedSleep()
	id := s.detached(t, nil, "sleep", marker)
	defer s.run(t, "rm", "-f", id)
	init := findMarked(t, marker)
	monitor, _ := processParent(init)
	if !isMonitorOf(s, monitor, id) {
		t.Fatalf("the container's first process (PID %d) has the parent %d, %q: want its monitor", init, monitor, commandLine(monitor))
	}
	// The waiter is the last to take over before the container ends.
	if !waitUntil(5*time.Second, func() bool { return strings.Contains(commandLine(monitor), "--wait") }) {
		t.Errorf("the monitor (PID %d) shows %q: want 'tinyrun monitor --wait PID ID' as it waits", monitor, commandLine(monitor))
	}
	for _, variable := range strings.Split(readFileString(fmt.Sprintf("/proc/%d/environ", monitor)), "\x00") {
		if strings.HasPrefix(variable, "TINYRUN_") {
			t.Errorf("the monitor (PID %d) has %q in its environment: a protocol between the runtime's processes goes in arguments or over a descriptor, never the environment", monitor, variable)
		}
	}
	log := "/run/tinyrun/containers/" + id + "/monitor.log"
	stderr, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/2", monitor))
	if stderr != log {
		t.Errorf("the monitor's stderr is %q: want %q, where its own errors are kept once run -d has returned", stderr, log)
	}
	// What the monitor writes there, logs shows, on stderr after the log.
	said := "tinyrun: a line the check wrote where the monitor's errors go\n"
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatalf("open %s: %v", log, err)
	}
	_, err = f.WriteString(said)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r := s.run(t, "logs", id); r.status != 0 || r.stderr != said {
		t.Errorf("logs %s, with a line in monitor.log: want status 0 and that line on stderr, got %v", id, r)
	}
}

// checkMonitorHasACgroupOfItsOwn fails unless the monitor of a detached
// container, while the container runs, is in a cgroup of its own: neither
// its caller's (the check's, standing for a login session) nor its
// container's (whose limits and OOM killer are the container's), in every
// hierarchy where the container's cgroup is; and unless that cgroup goes
// when the container ends (the suite's host check sees any left).
func checkMonitorHasACgroupOfItsOwn(t *testing.T, s step) {
	marker := markedSleep()
	id := s.detached(t, []string{"--network", "none"}, "sleep", marker)
	defer s.removeIfThere(t, id)
	init := findMarked(t, marker)
	monitor, _ := processParent(init)
	if !isMonitorOf(s, monitor, id) {
		t.Fatalf("the container's first process (PID %d) has the parent %d, %q: want its monitor", init, monitor, commandLine(monitor))
	}
	caller, container, own := cgroupPaths(os.Getpid()), cgroupPaths(init), cgroupPaths(monitor)
	compared := 0
	for hierarchy, path := range container {
		if !strings.HasSuffix(path, "/tinyrun/"+id) {
			continue // a hierarchy the container's cgroup is not in
		}
		if hierarchy != "" && !strings.Contains(hierarchy, "memory") && !strings.Contains(hierarchy, "pids") {
			continue // v2 (""), memory and pids: the monitor's hierarchies
		}
		compared++
		if want := path + "-monitor"; own[hierarchy] != want || own[hierarchy] == caller[hierarchy] {
			t.Errorf("the monitor (PID %d) is in the cgroup %s of the hierarchy %q, where its container is in %s and its caller in %s: want %s, a cgroup of its own, out of its caller's and apart from its container's", monitor, own[hierarchy], hierarchy, path, caller[hierarchy], want)
		}
	}
	if compared == 0 {
		t.Fatalf("the container's PID 1 is in no cgroup tinyrun/%s of the memory or pids hierarchy (its cgroups: %v): the check has nothing to compare", id, container)
	}
	if r := s.run(t, "rm", "-f", id); r.status != 0 {
		t.Fatalf("rm -f %s: %v", id, r)
	}
}

// cgroupPaths reads /proc/PID/cgroup: each hierarchy's controllers (""
// for v2) and the process's cgroup in it.
func cgroupPaths(pid int) map[string]string {
	paths := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readFileString(fmt.Sprintf("/proc/%d/cgroup", pid))), "\n") {
		if fields := strings.SplitN(line, ":", 3); len(fields) == 3 {
			paths[fields[1]] = fields[2]
		}
	}
	return paths
}

// isMonitorOf reports whether pid is the monitor of container id: the
// runtime's binary (by its file, or by the command line it shows, which it
// may change once the container runs), not a program it started.
func isMonitorOf(s step, pid int, id string) bool {
	cmdline := commandLine(pid)
	if strings.Contains(cmdline, "monitor") || strings.Contains(cmdline, id) {
		return true
	}
	exe, err1 := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	bin, err2 := os.Stat(s.bin)
	return err1 == nil && err2 == nil && os.SameFile(exe, bin)
}

// commandLine is the command line of pid, its arguments joined by spaces.
func commandLine(pid int) string {
	return strings.ReplaceAll(strings.TrimRight(readFileString(fmt.Sprintf("/proc/%d/cmdline", pid)), "\x00"), "\x00", " ")
}

// The containers and image checkBadInputForEveryCommandIsOneClearLine sets
// up, for the bad input to refer to.
const (
	dupName      = "dup"
	exitedName   = "tinyrun-test-exited"
	inUseImage   = "tinyrun-test-in-use"
	noSuchImage  = "tinyrun-test-no-such-image"
	noSuchThing  = "nosuch"
	neverCreated = "tinyrun-test-never"
)

func checkBadInputForEveryCommandIsOneClearLine(t *testing.T, s step) {
	// A running container, and an exited one of another image.
	s.detached(t, []string{"--name", dupName}, "sleep", markedSleep())
	tarball, err := tarDirectory(rootfsDir)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tarball)
	if r := s.run(t, "import", tarball, inUseImage); r.status != 0 {
		t.Fatalf("import %s: %v", inUseImage, r)
	}
	t.Cleanup(func() { s.removeImageIfThere(t, inUseImage) })
	r := s.run(t, "run", "-d", "--name", exitedName, inUseImage, "true")
	if r.status != 0 {
		t.Fatalf("run -d --name %s %s true: %v", exitedName, inUseImage, r)
	}
	exited := trimLine(r.stdout)
	t.Cleanup(func() { s.removeIfThere(t, exited) })
	s.waitForState(t, exited, "exited")

	for _, b := range []struct {
		args    []string
		mention string // a word the error must hold; "" for none
	}{
		{[]string{"rm", noSuchThing}, noSuchThing},
		{[]string{"rm", "-f", noSuchThing}, noSuchThing},
		{[]string{"rm"}, ""},
		{[]string{"rm", dupName}, dupName}, // running, without -f
		{[]string{"stop", noSuchThing}, noSuchThing},
		{[]string{"stop", "-t", "-1", dupName}, "-1"},
		{[]string{"stop", "-t", "abc", dupName}, "abc"},
		{[]string{"kill", noSuchThing}, noSuchThing},
		{[]string{"kill", "-s", "NOSIG", dupName}, "NOSIG"},
		{[]string{"logs", noSuchThing}, noSuchThing},
		{[]string{"exec", noSuchThing, "true"}, noSuchThing},
		{[]string{"exec", exitedName, "true"}, exitedName},
		{[]string{"exec", dupName}, ""},
		{[]string{"exec", "-e", "NOEQUALS", dupName, "true"}, "NOEQUALS"},
		{[]string{"exec", "-w", "relative", dupName, "true"}, "relative"},
		{[]string{"exec", "-t", dupName, "true"}, ""}, // stdin is no terminal
		{[]string{"logs"}, ""},
		{[]string{"ps", "extra"}, ""},
		{[]string{"commit", dupName}, ""},
		{[]string{"commit", noSuchThing, neverCreated}, noSuchThing},
		{[]string{"commit", dupName, "Bad Name"}, "Bad Name"},
		{[]string{"ps", "--format", "{{.Nope}}"}, "Nope"},
		{[]string{"rmi", noSuchImage}, noSuchImage},
		{[]string{"rmi", testImage}, testImage},   // in use by a running container
		{[]string{"rmi", inUseImage}, inUseImage}, // in use by an exited one
		{[]string{"run", noSuchImage, "true"}, noSuchImage},
		{[]string{"run", "-d", noSuchImage, "true"}, noSuchImage},
		{s.detachedArgs([]string{"--name", dupName}, "true"), dupName},
		{s.detachedArgs([]string{"--name", exitedName}, "true"), exitedName},
		{s.detachedArgs([]string{"--name", "bad/name"}, "true"), "bad/name"},
		{s.detachedArgs([]string{"-t"}, "true"), ""},
		{s.runArgs([]string{"-t"}, "true"), ""}, // stdin is no terminal
		{s.runArgs([]string{"-e", "NOEQUALS"}, "true"), "NOEQUALS"},
		{s.runArgs([]string{"-w", "relative"}, "true"), "relative"},
		{s.runArgs([]string{"--cap-add", "FLY"}, "true"), "FLY"},
		{s.runArgs([]string{"--cap-drop", "CAP_NOPE"}, "true"), "CAP_NOPE"},
		{s.runArgs([]string{"--cap-add", "MKNOD"}, "true"), "MKNOD"},
		{s.runArgs([]string{"--security-opt", "apparmor=unconfined"}, "true"), "apparmor"},
		{s.runArgs([]string{"-u", "no such user"}, "true"), "no such user"},
		{s.runArgs([]string{"-u", "nosuchuser"}, "true"), "nosuchuser"}, // not in the image's /etc/passwd
		{s.runArgs([]string{"-u", "0:nosuchgroup"}, "true"), "nosuchgroup"},
		{[]string{"exec", "-u", "nosuchuser", dupName, "true"}, "nosuchuser"},
		{[]string{"start"}, ""},
		{[]string{"start", noSuchThing}, noSuchThing},
		{[]string{"start", dupName}, dupName},       // running: not created
		{[]string{"start", exitedName}, exitedName}, // exited: not created
		{[]string{"create", noSuchImage, "true"}, noSuchImage},
		{[]string{"create", "-t", testImage, "true"}, "-t"},
		{[]string{"create", "--name", dupName, testImage, "true"}, dupName},
		{[]string{"create", testImage}, ""},
		{[]string{"run", "--dry-run", noSuchImage, "true"}, noSuchImage},
		{[]string{"run", "--dry-run", "-u", "nosuchuser", testImage, "true"}, "nosuchuser"},
		{[]string{"run", "--monitor", "../../etc", testImage, "true"}, "../../etc"},
		{[]string{"monitor", "../../etc"}, "../../etc"},
		{[]string{"monitor"}, "container ID"},
		{[]string{"monitor", "--status", "0", "0123456789ab"}, "0123456789ab"},
	} {
		s.wantRefused(t, b.args, b.mention, 125)
	}
	for _, b := range runtimeBadInputs() { // runtime_test.go
		s.wantRefused(t, b.args, b.mention, 125)
	}
	// A detached command that does not exist: run -d says so, with the
	// status a shell gives it, 127; the container was made, and stays,
	// exited, until rm, as Docker keeps it.
	args := s.detachedArgs(nil, "no-such-command-tinyrun")
	before := s.containerIDs(t, "-a")
	started := s.run(t, args...)
	if started.status != 127 || !oneLine(started.stderr) || !strings.Contains(started.stderr, "no-such-command-tinyrun") || started.stdout != "" {
		t.Errorf("%s: want status 127 and one line naming the command on stderr, got %v", strings.Join(args, " "), started)
	}
	for id, row := range s.containers(t) {
		if contains(before, id) {
			continue
		}
		if row.state != "exited" || row.exitCode != "127" {
			t.Errorf("%s: want the container it made exited, with exit code 127, got %v", strings.Join(args, " "), row)
		}
		if r := s.run(t, "rm", id); r.status != 0 {
			t.Errorf("rm %s: %v", id, r)
		}
	}
}

// wantRefused runs the step binary with args and fails t unless it exits
// with one of statuses, says why in one line on stderr that holds mention
// (unless ""), prints nothing on stdout, and changes nothing: the
// containers, the images and the host as they were.
func (s step) wantRefused(t *testing.T, args []string, mention string, statuses ...int) {
	t.Helper()
	what := strings.Join(args, " ")
	before := settledSnapshot(t)
	rowsBefore, imagesBefore, idsBefore := s.containerSummary(t), s.imageNames(t), s.containerIDs(t, "-a")
	r := s.run(t, args...)
	statusOK := false
	for _, want := range statuses {
		statusOK = statusOK || r.status == want
	}
	if !statusOK || !oneLine(r.stderr) || r.stdout != "" || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("%s: want status %s, one line on stderr and nothing on stdout, got %v", what, strings.Trim(fmt.Sprint(statuses), "[]"), r)
	}
	if mention != "" && !strings.Contains(r.stderr, mention) {
		t.Errorf("%s: want the error to name %q, got %q", what, mention, r.stderr)
	}
	if got := s.containerSummary(t); got != rowsBefore {
		t.Errorf("%s (%v) changed the containers (ps -a): before\n%s\nafter\n%s", what, r, rowsBefore, got)
		s.removeAllBut(t, idsBefore)
	}
	if got := s.imageNames(t); strings.Join(got, " ") != strings.Join(imagesBefore, " ") {
		t.Errorf("%s changed the images: before %q, after %q", what, imagesBefore, got)
	}
	if diff := before.diffSettled(); diff != "" {
		t.Errorf("after %s, the host changed:\n%s", what, diff)
	}
}

// settledSnapshot takes a snapshot of the host once it has not changed for
// a quarter of a second: a container that has just exited may still be
// going away (its veth goes with its network namespace, which the kernel
// frees a little later).
func settledSnapshot(t *testing.T) snapshot {
	t.Helper()
	last, err := takeSnapshot()
	if err != nil {
		t.Fatalf("snapshot the host: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(250 * time.Millisecond)
		next, err := takeSnapshot()
		if err != nil {
			t.Fatalf("snapshot the host: %v", err)
		}
		diff := last.diff(next)
		if diff == "" {
			return next
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host did not settle within 10 s; still changing:\n%s", diff)
		}
		last = next
	}
}

// removeAllBut removes (rm -f) every container but those of keep, so that
// a container a refused command made anyway leaves nothing behind.
func (s step) removeAllBut(t *testing.T, keep []string) {
	t.Helper()
	for _, id := range s.containerIDs(t, "-a") {
		if !contains(keep, id) {
			if r := s.run(t, "rm", "-f", id); r.status != 0 {
				t.Errorf("rm -f %s, made by a command that should have been refused: %v", id, r)
			}
		}
	}
}

// containerSummary lists the containers as ps -a shows them, without what
// changes with time alone (the status's "3 seconds"), one line each, sorted.
func (s step) containerSummary(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, row := range s.containers(t) {
		lines = append(lines, fmt.Sprintf("%s %s %s %s %s", row.id, row.name, row.image, row.state, row.exitCode))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// damageRecord writes what is not JSON over container id's record, and
// puts the record back when the check ends, before the container is
// removed (cleanups run last first). It returns the record's path.
func damageRecord(t *testing.T, id string) string {
	t.Helper()
	path := filepath.Join("/run/tinyrun/containers", id, "state.json")
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the container's record: %v", err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(path, original, 0o600); err != nil {
			t.Errorf("restore %s: %v", path, err)
		}
	})
	if err := os.WriteFile(path, []byte("{\"id\": not json at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkDamagedRecordDoesNotBreakPs(t *testing.T, s step) {
	damaged := s.detached(t, nil, "sleep", markedSleep())
	healthy := s.detached(t, nil, "sleep", markedSleep())
	path := damageRecord(t, damaged)
	r := s.run(t, "ps")
	if !strings.Contains(r.stdout, healthy) {
		t.Errorf("ps with another container's record damaged: want the healthy container %s listed, got %v", healthy, r)
	}
	if !strings.Contains(r.stderr, path) {
		t.Errorf("ps with a damaged record: want a note on stderr naming %s, got %q", path, r.stderr)
	}
}
