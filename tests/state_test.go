package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The checks of the container record (steps 04 on): whatever moment a
// runtime is killed at, what it made is undone by the next run or by
// cleanup; state kept per network namespace is never inherited by another;
// the firewall changes in one batch each way; imports and runs at once all
// succeed.

// startPhases are the phases of a start after which a step's runtime can be
// stopped with TINYRUN_STOP_AFTER (state.go's stopAfter), in order.
func startPhases(s step) []string {
	phases := []string{"network"}
	if s.number >= 5 {
		phases = append(phases, "cgroup")
	}
	if s.number >= 6 {
		phases = append(phases, "layers")
	}
	if s.number >= 7 {
		phases = append(phases, "init") // init cloned, waiting on its channel
	}
	return append(phases, "started")
}

// stoppedRun is a runtime started with TINYRUN_STOP_AFTER, stopped there.
type stoppedRun struct {
	cmd  *exec.Cmd
	done chan error
}

// startStoppedAfter starts "run flags command" with TINYRUN_STOP_AFTER=phase
// and extra environment env, and waits until the runtime has stopped itself.
func startStoppedAfter(t *testing.T, s step, phase string, env []string, flags []string, command ...string) *stoppedRun {
	t.Helper()
	return startStopped(t, s, phase, env, s.runArgs(flags, command...))
}

// startStopped starts the runtime with args and TINYRUN_STOP_AFTER=phase,
// and waits until it has stopped itself.
func startStopped(t *testing.T, s step, phase string, env []string, args []string) *stoppedRun {
	t.Helper()
	argv := s.argv(args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), "TINYRUN_STOP_AFTER="+phase), env...)
	cmd.Stderr = &strings.Builder{} // read once it has exited (<-done)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	r := &stoppedRun{cmd: cmd, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-r.done
			s.cleanUpAfterKill(t)
		}
	})
	// nsenter execs the runtime: its PID is the runtime's.
	if !waitUntil(10*time.Second, func() bool { return processState(cmd.Process.Pid) == "T" }) {
		t.Fatalf("TINYRUN_STOP_AFTER=%s: the runtime did not stop itself after the phase %q (state %q): call stopAfter(%q) right after it", phase, phase, processState(cmd.Process.Pid), phase)
	}
	return r
}

// kill kills the stopped runtime with SIGKILL and waits for it.
func (r *stoppedRun) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

// processState is the state letter of /proc/PID/stat (R, S, T, Z...), "" if gone.
func processState(pid int) string {
	_, state := processParent(pid)
	return state
}

func checkRuntimeKilledAtAnyPhaseIsReclaimed(t *testing.T, s step) {
	for _, phase := range startPhases(s) {
		for _, reclaimer := range []string{"the next run", "cleanup"} {
			r := startStoppedAfter(t, s, phase, nil, []string{"-p", "8085:80"}, "sleep", "30")
			r.kill(t)
			var result result
			if reclaimer == "cleanup" {
				result = s.run(t, "cleanup")
			} else {
				result = s.runContainer(t, []string{"-p", "8085:80"}, "true")
			}
			if result.status != 0 {
				t.Errorf("killed after %q, then %s: want it to succeed, got %v", phase, reclaimer, result)
			}
			if diff := checkBaseline.diffSettled(); diff != "" {
				t.Fatalf("killed with SIGKILL after the phase %q, then %s ran: want the host as before the run, got:\n%s", phase, reclaimer, diff)
			}
		}
	}
}

func checkReusedNetworkNamespaceInheritsNothing(t *testing.T, s step) {
	// Namespace A, whose host has forwarding on, runs a container whose
	// runtime is killed: its bridge state says "restore ip_forward to 1".
	const a = "tinyrun-reuse-a"
	if out, err := exec.Command("ip", "netns", "add", a).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", a, err, out)
	}
	defer exec.Command("ip", "netns", "del", a).Run() // gone already, unless the check failed half-way
	inode := netnsInode(t, a)
	setForwarding(t, a, "1")
	argv := append([]string{"nsenter"}, inNetns(a, append([]string{s.bin}, s.runArgs(nil, "sleep", "30")...)...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "TINYRUN_STOP_AFTER=started")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(10*time.Second, func() bool { return processState(cmd.Process.Pid) == "T" }) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = exec.Command("nsenter", inNetns(a, s.bin, "cleanup")...).Run()
		t.Fatalf("the runtime did not stop itself after starting (TINYRUN_STOP_AFTER=started): call stopAfter(\"started\") once the container runs")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	// A is deleted without a cleanup; the kernel frees its inode once the
	// namespace is gone, and gives it to a namespace made after.
	if out, err := exec.Command("ip", "netns", "del", a).CombinedOutput(); err != nil {
		t.Fatalf("ip netns del %s: %v: %s", a, err, out)
	}
	var made []string
	defer func() {
		for _, name := range made {
			_ = exec.Command("ip", "netns", "del", name).Run()
		}
	}()
	// The kernel frees a namespace's inode some time after its last
	// reference goes (a work queue, after an RCU grace period): under
	// emulation that can take seconds. Wait up to 30 s for it.
	b := ""
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline) && b == ""; i++ {
		time.Sleep(100 * time.Millisecond)
		name := "tinyrun-reuse-" + strconv.Itoa(i)
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", name, err, out)
		}
		made = append(made, name)
		if netnsInode(t, name) == inode {
			b = name
		}
	}
	if b == "" {
		// Not the runtime's fault: remove what A's runtime left, and say so.
		stale, _ := filepath.Glob("/run/tinyrun/net-" + inode + "-*")
		for _, dir := range stale {
			_ = os.RemoveAll(dir)
		}
		s.cleanUpAfterKill(t)
		t.Fatalf("the kernel gave none of %d new network namespaces, made over 30 s, the inode %s of the one deleted: this check could not run; run it again", len(made), inode)
	}
	// B, whose host has forwarding off, runs a container to its end.
	setForwarding(t, b, "0")
	run := exec.Command("nsenter", inNetns(b, append([]string{s.bin}, s.runArgs(nil, "true")...)...)...)
	if out, err := run.CombinedOutput(); err != nil {
		t.Errorf("a run in a namespace with the inode of a dead one: %v: %s", err, out)
	}
	if got := forwarding(t, b); got != "0" {
		t.Errorf("after a run in a new namespace that has a dead one's inode, ip_forward is %s: want 0, as it was; the dead namespace's state was inherited", got)
	}
}

// netnsInode returns the inode number of the named network namespace.
func netnsInode(t *testing.T, name string) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+name, &st); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(st.Ino, 10)
}

func setForwarding(t *testing.T, netns, value string) {
	t.Helper()
	cmd := exec.Command("nsenter", inNetns(netns, "sh", "-c", "echo "+value+" > /proc/sys/net/ipv4/ip_forward")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("set ip_forward in %s: %v: %s", netns, err, out)
	}
}

func forwarding(t *testing.T, netns string) string {
	t.Helper()
	out, err := exec.Command("nsenter", inNetns(netns, "cat", "/proc/sys/net/ipv4/ip_forward")...).Output()
	if err != nil {
		t.Fatalf("read ip_forward in %s: %v", netns, err)
	}
	return strings.TrimSpace(string(out))
}

func checkFirewallChangesInOneBatchEachWay(t *testing.T, s step) {
	// Wrappers that log each run of iptables-save and iptables-restore, first
	// in PATH; the runtime looks its iptables up there.
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log")
	for _, name := range []string{"iptables-save", "iptables-restore"} {
		real, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s is not installed: %v", name, err)
		}
		script := fmt.Sprintf("#!/bin/sh\necho %s >> %s\nexec %s \"$@\"\n", name, logFile, real)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
	runs := func() []string {
		data, _ := os.ReadFile(logFile)
		return strings.Fields(string(data))
	}
	// A lone container with a published port: it sets the bridge up and
	// takes it down.
	r := startStoppedAfter(t, s, "started", env, []string{"-p", "8086:80"}, "true")
	atStart := runs()
	if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := <-r.done; err != nil {
		t.Fatalf("the run: %v", err)
	}
	if len(atStart) == 0 {
		t.Fatalf("a lone container with -p ran no iptables-save or iptables-restore found in PATH: look the iptables commands up in PATH (exec.LookPath), and write the rules with iptables-restore")
	}
	atExit := runs()[len(atStart):]
	if len(atStart) > 2 || len(atExit) > 2 {
		t.Errorf("a lone container with -p ran %d iptables commands to start (%s) and %d to exit (%s): want at most 2 each way, one iptables-restore batch", len(atStart), strings.Join(atStart, " "), len(atExit), strings.Join(atExit, " "))
	}
	// A container without ports, while another keeps the bridge up:
	// nothing about the rules changes, so nothing runs.
	survivor := s.start(t, nil, "sh", "-c", "echo ready; read line; exit 0")
	survivor.waitForLine(t, "ready")
	before := len(runs())
	if result := s.runWithEnv(t, append(os.Environ(), env...), s.runArgs(nil, "true")...); result.status != 0 {
		t.Fatalf("a second container: %v", result)
	}
	if extra := runs()[before:]; len(extra) > 0 {
		t.Errorf("a container without ports joining a bridge that is up ran iptables (%s): want none, its rules do not change", strings.Join(extra, " "))
	}
	if status, _ := survivor.finish(t); status != 0 {
		t.Errorf("the container that kept the bridge up exited with %d", status)
	}
}

func checkImportsAndRunsAtOnceAllSucceed(t *testing.T, s step) {
	tarball, err := tarDirectory(rootfsDir)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tarball)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	images := []string{"tinyrun-test-at-once-1", "tinyrun-test-at-once-2"}
	for _, name := range images {
		name := name
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := exec.Command(s.bin, "import", tarball, name).CombinedOutput(); err != nil {
				fail("import %s: %v: %s", name, err, out)
			}
		}()
	}
	for i := 0; i < 20; i++ {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			argv := s.argv(s.runArgs(nil, "true")...)
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
				fail("run %d: %v: %s", i+1, err, out)
			}
		}()
	}
	wg.Wait()
	for _, name := range images {
		if out, err := exec.Command(s.bin, "rmi", name).CombinedOutput(); err != nil {
			fail("rmi %s: %v: %s", name, err, out)
		}
	}
	if len(failures) > 0 {
		t.Errorf("two imports and twenty runs at once: want all to succeed, got:\n  %s", strings.Join(failures, "\n  "))
	}
}
