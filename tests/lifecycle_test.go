package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The checks of step 07 on what a container's record leaves when it is
// damaged or lost: neither may stop the runtime from looking after the rest.

// checkDamagedRecordDoesNotStopRuns damages one container's record and
// starts another container: reclaim, which every run does first, must go
// past the damaged record instead of failing on it (a runtime that returns
// readRecord's error from reclaim fails the run here), and cleanup must
// name it and say what to do.
func checkDamagedRecordDoesNotStopRuns(t *testing.T, s step) {
	damaged := s.detached(t, nil, "sleep", markedSleep())
	path := damageRecord(t, damaged) // full_test.go
	if r := s.runContainer(t, []string{"--network", "none"}, "echo", "ran"); r.status != 0 || r.stdout != "ran\n" {
		t.Errorf("run beside a damaged record: want it to run and print \"ran\", got %v", r)
	}
	r := s.run(t, "cleanup")
	if r.status == 0 || !strings.Contains(r.stderr, path) || !oneLine(r.stderr) {
		t.Errorf("cleanup beside a damaged record: want status 125 and one line naming %s, got %v", path, r)
	}
}

// checkLayerWithoutRecordIsReclaimed leaves what a reboot leaves: a
// container's layer and log under /var/lib/tinyrun with no record in /run
// (a tmpfs, emptied by the reboot). cleanup must remove it, as it removes
// what a killed runtime left; without it, nothing ever would.
func checkLayerWithoutRecordIsReclaimed(t *testing.T, s step) {
	// A foreground run without --rm returns once the end is recorded, and
	// keeps the record, exited, and its layer.
	name := fmt.Sprintf("orphan-%d", os.Getpid())
	if r := s.run(t, "run", "--name", name, "--network", "none", testImage, "true"); r.status != 0 {
		t.Fatalf("run: %v", r)
	}
	var id string
	for _, line := range strings.Split(s.run(t, "ps", "-a", "--format", "{{.ID}} {{.Name}}").stdout, "\n") {
		if fields := strings.Fields(line); len(fields) == 2 && fields[1] == name {
			id = fields[0]
		}
	}
	if id == "" {
		t.Fatalf("ps -a does not list the container %s", name)
	}
	// Its record goes, as a reboot takes /run's; its layer stays.
	layer := filepath.Join("/var/lib/tinyrun/containers", id)
	if _, err := os.Stat(filepath.Join(layer, "upper")); err != nil {
		t.Fatalf("the exited container's layer: %v", err)
	}
	if err := os.RemoveAll(filepath.Join("/run/tinyrun/containers", id)); err != nil {
		t.Fatal(err)
	}
	if r := s.run(t, "cleanup"); r.status != 0 {
		t.Fatalf("cleanup: %v", r)
	}
	if _, err := os.Stat(layer); err == nil {
		t.Errorf("cleanup left %s, a layer no record names (as after a reboot): remove the layers of /var/lib/tinyrun/containers that no record in /run/tinyrun names, under the lock", layer)
	}
}

// checkLifecycleRefusesInTheWrongState runs each command that acts on a
// container in a state where it may not, and wants one line and status
// 125; and rm right after the container's PID 1 is gone, which must not
// see it running (its status comes from PID 1, not from whether its
// monitor has recorded the end yet).
func checkLifecycleRefusesInTheWrongState(t *testing.T, s step) {
	marker := markedSleep()
	id := s.detached(t, []string{"--network", "none"}, "sleep", marker)
	if r := s.run(t, "rm", id); r.status != 125 || !oneLine(r.stderr) || !strings.Contains(r.stderr, "stop it first") {
		t.Errorf("rm of a running container: want status 125 and one line saying to stop it first, got %v", r)
	}
	if r := s.run(t, "stop", "-t", "0", id); r.status != 0 {
		t.Fatalf("stop -t 0: %v", r)
	}
	for _, args := range [][]string{{"exec", id, "true"}, {"kill", id}} {
		if r := s.run(t, args...); r.status != 125 || !oneLine(r.stderr) || !strings.Contains(r.stderr, "not running") {
			t.Errorf("%s of a stopped container: want status 125 and one line saying it is not running, got %v", args[0], r)
		}
	}
	if r := s.run(t, "stop", id); r.status != 0 {
		t.Errorf("stop of a stopped container: want status 0 (nothing to do, as in Docker), got %v", r)
	}
	// rm as soon as PID 1 is gone, before its monitor may have recorded it.
	for i := 0; i < 10; i++ {
		marker := markedSleep()
		id := s.detached(t, []string{"--network", "none"}, "sleep", marker)
		pid := findMarked(t, marker)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitUntil(5*time.Second, func() bool { return processGone(pid) })
		if r := s.run(t, "rm", id); r.status != 0 {
			t.Fatalf("rm right after the container's PID 1 was killed (try %d): want it removed once its monitor has recorded the end, got %v", i+1, r)
		}
	}
}

// checkCreateWaitsForStart makes a container with create, whose command
// would write a file into a volume: until start, the file must not be
// there (its PID 1 waits just before execve), and the container is
// "created"; start runs it, once.
func checkCreateWaitsForStart(t *testing.T, s step) {
	dir := t.TempDir()
	marker := markedSleep()
	r := s.run(t, "create", "--network", "none", "-v", dir+":/out", testImage, "sh", "-c", "echo started > /out/file; exec sleep "+marker)
	if r.status != 0 || !containerIDPattern.MatchString(r.stdout) {
		t.Fatalf("create: want exit status 0 and the container's ID, got %v", r)
	}
	id := trimLine(r.stdout)
	t.Cleanup(func() { s.removeIfThere(t, id) })
	file := filepath.Join(dir, "file")
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(file); err == nil {
		t.Fatalf("create: the container's command ran before start (it wrote %s)", file)
	}
	if row := s.container(t, id); row.state != "created" {
		t.Errorf("ps -a after create: want the container created, got %v", row)
	}
	if r := s.run(t, "exec", id, "true"); r.status != 125 || !oneLine(r.stderr) {
		t.Errorf("exec into a created container: want status 125 and one line, got %v", r)
	}
	if r := s.run(t, "start", id); r.status != 0 {
		t.Fatalf("start: %v", r)
	}
	if !waitUntil(5*time.Second, func() bool { _, err := os.Stat(file); return err == nil }) {
		t.Fatalf("start: the container's command did not run within 5 s (no %s)", file)
	}
	if row := s.container(t, id); row.state != "running" {
		t.Errorf("ps -a after start: want the container running, got %v", row)
	}
	if r := s.run(t, "start", id); r.status != 125 || !oneLine(r.stderr) || !strings.Contains(r.stderr, "running") {
		t.Errorf("start of a running container: want status 125 and one line saying it is running, got %v", r)
	}
}

// checkUserLookupNeverOpensAFifo gives a container an /etc (a volume)
// whose group file is a FIFO, and runs it with -u: run looks the user up
// before the container exists, under the state lock, and a FIFO opened
// for reading would block it, and every other command, for ever. A file
// that is not a regular one is no file to read.
func checkUserLookupNeverOpensAFifo(t *testing.T, s step) {
	etc := t.TempDir()
	if err := os.WriteFile(filepath.Join(etc, "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(etc, "group"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.runContainer(t, []string{"--network", "none", "-v", etc + ":/etc", "-u", "nobody"}, "id", "-u")
	if r.status != 0 || r.stdout != "65534\n" {
		t.Errorf("run -u nobody with /etc/group a FIFO: want it to run as 65534 (a FIFO is no group file), got %v", r)
	}
}

// checkKilledWhileReleasingIsReleased kills a runtime after it recorded its
// container's end but before it gave back what the container held
// (TINYRUN_STOP_AFTER=ended): the record says how the container ended,
// while its cgroup and its network namespace are still there. That is a
// state, stopped but not yet released, which the next reclaim must finish:
// a runtime whose reclaim skips every record with an exit leaves the
// cgroup and the namespace's mount until rm. The exit code stays the one
// recorded, and rm then leaves the host as it was.
func checkKilledWhileReleasingIsReleased(t *testing.T, s step) {
	name := fmt.Sprintf("releasing-%d", os.Getpid())
	// Without --rm: the record stays, exited, until rm.
	r := startStopped(t, s, "ended", nil, []string{"run", "--name", name, "-m", "64m", "-p", "8086:80", testImage, "sh", "-c", "exit 3"})
	r.kill(t)
	id := s.idOfName(t, name)
	defer s.removeIfThere(t, id)
	if len(cgroupsOf(id)) == 0 || len(mountsOf(t, id)) == 0 {
		t.Fatalf("killed right after recording the end (the phase \"ended\"): want its cgroup and its network namespace's mount still there, got cgroups %v and mounts %v: call stopAfter(\"ended\") after saving the exit and before giving anything back", cgroupsOf(id), mountsOf(t, id))
	}
	if r := s.run(t, "cleanup"); r.status != 0 {
		t.Fatalf("cleanup after a runtime killed while releasing: %v", r)
	}
	if left, mounts := cgroupsOf(id), mountsOf(t, id); len(left) > 0 || len(mounts) > 0 {
		t.Errorf("cleanup after a runtime killed between recording the end and giving back what the container held: want its cgroup and its network namespace released, got cgroups %v and mounts %v: a record with an exit but a cgroup or a namespace still held is not released, and reclaim must finish it", left, mounts)
	}
	if row := s.container(t, id); row.state != "exited" || row.exitCode != "3" {
		t.Errorf("ps -a after the reclaim: want the container exited with the code recorded before the kill, 3, got %v", row)
	}
	if r := s.run(t, "rm", id); r.status != 0 {
		t.Fatalf("rm %s: %v", id, r)
	}
	if diff := checkBaseline.diffSettled(); diff != "" {
		t.Errorf("after rm: want the host as before the run, got:\n%s", diff)
	}
}

// idOfName returns the ID of the container called name (ps -a).
func (s step) idOfName(t *testing.T, name string) string {
	t.Helper()
	for _, row := range s.containers(t) {
		if row.name == name {
			return row.id
		}
	}
	t.Fatalf("ps -a does not list a container called %s", name)
	return ""
}

// cgroupsOf lists the cgroup directories of container id, in every hierarchy.
func cgroupsOf(id string) []string {
	v1, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*/tinyrun", id))
	v2, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/tinyrun", id))
	return append(v1, v2...)
}

// mountsOf lists the host's mounts under container id's directory of /run
// (its network namespace's, net.go).
func mountsOf(t *testing.T, id string) []string {
	t.Helper()
	lines, err := mountLines()
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, line := range lines {
		if strings.Contains(line, "/run/tinyrun/containers/"+id) {
			found = append(found, line)
		}
	}
	return found
}

// checkCtrlCAbortsAHangingStart stops a container's init while it sets the
// container up (SIGSTOP from the host, which a namespace's init cannot
// refuse: the most certain hang there is), then sends the runtime SIGINT,
// as Ctrl-C does. The runtime must give up the start: kill init, undo what
// it made, say so in one line and exit, instead of waiting for init for
// ever with the container's address, cgroup and layer held. The run has
// no --rm: a start given up keeps nothing, not even an exited record.
func checkCtrlCAbortsAHangingStart(t *testing.T, s step) {
	name := fmt.Sprintf("aborted-%d", os.Getpid())
	r := startStopped(t, s, "init", nil, []string{"run", "--name", name, "-p", "8087:80", testImage, "echo", "never printed"})
	children := childrenOf(r.cmd.Process.Pid)
	if len(children) != 1 {
		t.Fatalf("stopped right after starting init (the phase \"init\"): want one child of the runtime, its init, got %v", children)
	}
	init := children[0]
	hangInit(t, init)
	if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The runtime goes on to wait for init, which never answers.
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Ctrl-C (SIGINT) while init hangs in its set-up: the runtime still waits for it 10 s later: until the command runs, let a signal kill init (abortOnSignal), so that the wait on its channel ends")
	}
	stderr := ""
	if out, ok := r.cmd.Stderr.(*strings.Builder); ok {
		stderr = out.String()
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 125 || !strings.Contains(stderr, "interrupt") || !oneLine(stderr) {
		t.Errorf("Ctrl-C while init hangs in its set-up: want status 125 and one line saying the start was interrupted, got status %d and %q", code, stderr)
	}
	if !waitUntil(5*time.Second, func() bool { return processGone(init) || processState(init) == "Z" }) {
		t.Errorf("the runtime has exited after Ctrl-C, but its init (PID %d) is still there: kill it as the start is abandoned", init)
	}
	for _, row := range s.containers(t) {
		if row.name == name {
			t.Errorf("ps -a after a start given up with Ctrl-C: want no trace of it (it never ran its command), got %v", row)
			s.removeIfThere(t, row.id)
		}
	}
	if diff := checkBaseline.diffSettled(); diff != "" {
		t.Errorf("after Ctrl-C aborted a hanging start: want the host as before the run, got:\n%s", diff)
	}
	checkCtrlCAbortsAHangingDetachedStart(t, s)
}

// hangInit stops a container's init, PID init, with SIGSTOP (from the
// host, which a namespace's init cannot refuse), and kills it when the
// check ends if the runtime has left it. Through a pidfd: once the runtime
// has reaped init, its PID may be another process's.
func hangInit(t *testing.T, init int) {
	t.Helper()
	pidfd, err := unix.PidfdOpen(init, 0)
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", init, err)
	}
	t.Cleanup(func() {
		_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		unix.Close(pidfd)
	})
	if err := unix.PidfdSendSignal(pidfd, unix.SIGSTOP, nil, 0); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(10*time.Second, func() bool { return processState(init) == "T" }) {
		t.Fatalf("init (PID %d) did not stop on SIGSTOP (state %q)", init, processState(init))
	}
}

// checkCtrlCAbortsAHangingDetachedStart is the same for run -d: its
// monitor, in a session of its own, gets no Ctrl-C from the terminal, so
// run -d must pass it on until the container runs.
func checkCtrlCAbortsAHangingDetachedStart(t *testing.T, s step) {
	argv := s.argv("run", "-d", "--network", "none", testImage, "echo", "never printed")
	client := exec.Command(argv[0], argv[1:]...)
	client.Env = append(os.Environ(), "TINYRUN_STOP_AFTER=init") // the monitor inherits it
	stderr := &strings.Builder{}
	client.Stderr = stderr
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- client.Wait() }()
	var monitor, init int
	if !waitUntil(10*time.Second, func() bool {
		for _, child := range childrenOf(client.Process.Pid) {
			if processState(child) == "T" {
				monitor = child
			}
		}
		return monitor != 0
	}) {
		_ = client.Process.Kill()
		<-done
		t.Fatalf("run -d with TINYRUN_STOP_AFTER=init: its monitor did not stop itself after starting init")
	}
	if children := childrenOf(monitor); len(children) == 1 {
		init = children[0]
	} else {
		_ = syscall.Kill(monitor, syscall.SIGKILL)
		t.Fatalf("the stopped monitor (PID %d): want one child, its init, got %v", monitor, children)
	}
	hangInit(t, init)
	_ = syscall.Kill(monitor, syscall.SIGCONT)
	if err := client.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(monitor, syscall.SIGKILL)
		_ = client.Process.Kill()
		<-done
		t.Fatalf("Ctrl-C of run -d while init hangs in its set-up: run -d still waits 10 s later: until the container runs, pass the signals run -d catches on to its monitor (forwardSignals), whose start then gives up")
	}
	if code := client.ProcessState.ExitCode(); code != 125 || !strings.Contains(stderr.String(), "interrupt") || !oneLine(stderr.String()) {
		t.Errorf("Ctrl-C of run -d while init hangs: want status 125 and one line saying the start was interrupted, got status %d and %q", code, stderr.String())
	}
	if !waitUntil(10*time.Second, func() bool { return processGone(monitor) || processState(monitor) == "Z" }) {
		t.Errorf("the monitor (PID %d) is still there after its start was given up", monitor)
	}
	if diff := checkBaseline.diffSettled(); diff != "" {
		t.Errorf("after Ctrl-C of run -d aborted a hanging start: want the host as before, got:\n%s", diff)
	}
}

// checkCommitFreezesTheContainer commits a container that rewrites 100
// files in a loop, in the order of their names, each with the number of
// the round. Frozen for the copy, as docker commit pauses it, the
// container leaves a layer of one moment: the files up to the one being
// written hold round n+1, the rest round n, and at most the one being
// written is empty (echo truncates, then writes). Copied while it runs,
// the files are read at different moments, in the directory's order, not
// the writer's, and several rounds or empty files show. Three commits,
// each of which must be of one moment; and the container runs on after.
func checkCommitFreezesTheContainer(t *testing.T, s step) {
	const loop = `mkdir /w; i=0; while :; do i=$((i+1)); for f in $(seq 100 199); do echo $i > /w/$f; done; done`
	id := s.detached(t, []string{"--network", "none"}, "sh", "-c", loop)
	upper := filepath.Join("/var/lib/tinyrun/containers", id, "upper", "w", "199")
	if !waitUntil(10*time.Second, func() bool { return readFileString(upper) != "" }) {
		t.Fatalf("the container's loop has not written /w/199 after 10 s")
	}
	for try := 1; try <= 3; try++ {
		image := fmt.Sprintf("tinyrun-test-frozen-%d-%d", os.Getpid(), try)
		r := s.run(t, "commit", id, image)
		t.Cleanup(func() { s.removeImageIfThere(t, image) })
		if r.status != 0 {
			t.Fatalf("commit %s %s: %v", id, image, r)
		}
		r = s.run(t, "run", "--rm", "--network", "none", image, "sh", "-c", `for f in $(seq 100 199); do printf '%s,' "$(cat /w/$f)"; done`)
		if r.status != 0 {
			t.Fatalf("run --rm %s, reading /w: %v", image, r)
		}
		if why := notOneMoment(strings.Split(strings.TrimSuffix(r.stdout, ","), ",")); why != "" {
			t.Errorf("commit %d of a container that rewrites /w/100 to /w/199 in a loop: the layer is not of one moment (%s): freeze the container's cgroup while the upper directory is copied (v2 cgroup.freeze, v1 freezer.state), and thaw it after; got %s", try, why, r.stdout)
		}
		if r := s.run(t, "rmi", image); r.status != 0 {
			t.Errorf("rmi %s: %v", image, r)
		}
	}
	before := readFileString(upper)
	if !waitUntil(10*time.Second, func() bool { now := readFileString(upper); return now != "" && now != before }) {
		t.Errorf("after the commits, the container's loop has not written /w/199 again in 10 s: thaw the container once its layer is copied")
	}
}

// notOneMoment says why values, the rounds of a writer that rewrites the
// files in order, cannot all be read at one moment; "" if they can.
func notOneMoment(values []string) string {
	rounds, empty := []int{}, -1
	for i, v := range values {
		if v == "" {
			if empty >= 0 {
				return fmt.Sprintf("files %d and %d are both empty, both half-written", empty+100, i+100)
			}
			empty = i
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Sprintf("file %d holds %q", i+100, v)
		}
		rounds = append(rounds, n)
	}
	for i := 1; i < len(rounds); i++ {
		if rounds[i] > rounds[i-1] {
			return "a later file holds a later round than an earlier one"
		}
	}
	if len(rounds) > 0 && rounds[0]-rounds[len(rounds)-1] > 1 {
		return fmt.Sprintf("rounds %d to %d", rounds[len(rounds)-1], rounds[0])
	}
	// The file being written, if any, is where one round gives way to the
	// next: the files before it hold the new round, those after the old.
	if empty > 0 && empty < len(values)-1 {
		if before, after := rounds[:empty], rounds[empty:]; before[len(before)-1] != after[0]+1 {
			return fmt.Sprintf("file %d is empty, but the files around it hold rounds %d and %d", empty+100, before[len(before)-1], after[0])
		}
	}
	return ""
}

// checkKilledBeforeStartLeavesNothing kills, with SIGKILL, each process
// that a created container has before start: its init, waiting on
// exec.fifo; its monitor (create's), whose death takes init along by the
// parent-death signal. Each time the container must read as exited, and
// rm (after cleanup, for the monitor's) must leave the host as it was.
func checkKilledBeforeStartLeavesNothing(t *testing.T, s step) {
	for _, victim := range []string{"init", "monitor"} {
		r := s.run(t, "create", "--network", "none", "-m", "64m", testImage, "echo", "never")
		if r.status != 0 || !containerIDPattern.MatchString(r.stdout) {
			t.Fatalf("create: want exit status 0 and the container's ID, got %v", r)
		}
		id := trimLine(r.stdout)
		t.Cleanup(func() { s.removeIfThere(t, id) })
		init := recordedInit(t, id)
		target := init
		if victim == "monitor" {
			target, _ = processParent(init)
			if !isMonitorOf(s, target, id) {
				t.Fatalf("the created container's init (PID %d) has the parent %d, %q: want its monitor", init, target, commandLine(target))
			}
		}
		if err := syscall.Kill(target, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if !waitUntil(10*time.Second, func() bool { return processGone(init) || processState(init) == "Z" }) {
			t.Fatalf("the created container's %s was killed: its init (PID %d) still runs 10 s later", victim, init)
		}
		if victim == "monitor" {
			if r := s.run(t, "cleanup"); r.status != 0 {
				t.Errorf("cleanup after the monitor of a created container was killed: %v", r)
			}
		}
		row := s.waitForState(t, id, "exited")
		if row.exitCode != "137" {
			t.Errorf("ps -a after the created container's %s was killed: want exit code 137, got %v", victim, row)
		}
		if r := s.run(t, "rm", id); r.status != 0 {
			t.Errorf("rm %s, its %s killed before start: %v", id, victim, r)
		}
		assertHostAsFound(t, "a created container whose "+victim+" was killed, then rm")
	}
}

// recordedInit reads the PID of container id's init from its record.
func recordedInit(t *testing.T, id string) int {
	t.Helper()
	var rec struct {
		Init struct {
			PID int `json:"pid"`
		} `json:"init"`
	}
	path := filepath.Join("/run/tinyrun/containers", id, "state.json")
	if err := json.Unmarshal([]byte(readFileString(path)), &rec); err != nil || rec.Init.PID == 0 {
		t.Fatalf("read the init PID of container %s from %s: %v, %q", id, path, err, readFileString(path))
	}
	return rec.Init.PID
}
