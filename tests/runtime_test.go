package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ociRuntime is a runtime driven by its verbs over a bundle: runc, or
// tinyrun runtime, each with a root of its own for its records.
type ociRuntime struct {
	name string
	argv []string // the program and the arguments before the verb
}

// runcRuntime and tinyrunRuntime are the two runtimes the checks compare.
func runcRuntime(t *testing.T) ociRuntime {
	return ociRuntime{"runc", []string{runcBinary(t), "--root", t.TempDir()}}
}

func (s step) tinyrunRuntime(t *testing.T) ociRuntime {
	return ociRuntime{s.name + " runtime", []string{s.bin, "runtime", "--root", t.TempDir()}}
}

// verb runs one of rt's verbs. Its stdio are files, never pipes: a
// container create starts keeps them, and a pipe would keep the verb's
// Wait waiting for the container's end. out is the container's stdout
// and stderr too, for create.
func (rt ociRuntime) verb(t *testing.T, out *os.File, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	argv := append(append([]string{}, rt.argv...), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	stdout, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish within %s", rt.name, strings.Join(args, " "), commandTimeout)
	}
	return result{stdout: readFileString(stdout.Name()), stderr: readFileString(stderr.Name()), status: statusOf(t, err)}
}

// state runs rt's state verb on id and decodes the spec's state JSON.
func (rt ociRuntime) state(t *testing.T, id string) specs.State {
	t.Helper()
	r := rt.verb(t, nil, "state", id)
	var state specs.State
	if r.status != 0 || json.Unmarshal([]byte(r.stdout), &state) != nil {
		t.Fatalf("%s state %s: want the runtime spec's state JSON, got %v", rt.name, id, r)
	}
	return state
}

// waitForStatus waits up to 10 s for rt to say id is in status want, and
// returns the last state it said.
func (rt ociRuntime) waitForStatus(t *testing.T, id string, want specs.ContainerState) specs.State {
	t.Helper()
	var state specs.State
	waitUntil(10*time.Second, func() bool {
		state = rt.state(t, id)
		return state.Status == want
	})
	return state
}

// lifecycleRun is what one runtime did with one bundle, verb by verb,
// for the comparison: each line a verb and what came of it.
type lifecycleRun struct {
	steps  []string
	output string // the container's
}

// driveLifecycle takes container id of rt through create, start, kill
// and delete on bundle, checking at each point what the runtime spec
// says a runtime must do, and records what it saw.
func driveLifecycle(t *testing.T, rt ociRuntime, bundle, id string) lifecycleRun {
	t.Helper()
	var run lifecycleRun
	note := func(format string, args ...any) { run.steps = append(run.steps, fmt.Sprintf(format, args...)) }
	out, err := os.CreateTemp(t.TempDir(), "container")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The check plays the caller, as containerd's shim does: a subreaper
	// (man 2 prctl, PR_SET_CHILD_SUBREAPER), which the container's first
	// process is handed to when create exits, and which reaps it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	pid, deleted := 0, false
	defer func() {
		if !deleted {
			rt.verb(t, nil, "delete", "--force", id)
		}
		if pid > 0 {
			_, _ = unix.Wait4(pid, nil, 0, nil) // ECHILD if not the check's
		}
	}()

	r := rt.verb(t, out, "create", "--bundle", bundle, "--pid-file", pidFile, id)
	if r.status != 0 {
		t.Fatalf("%s create --bundle %s --pid-file %s %s: %v; its output %q", rt.name, bundle, pidFile, id, r, readFileString(out.Name()))
	}
	pid, err = strconv.Atoi(strings.TrimSpace(readFileString(pidFile)))
	if err != nil {
		t.Fatalf("%s create --pid-file %s: want the container's PID in it, got %q", rt.name, pidFile, readFileString(pidFile))
	}
	state := rt.state(t, id)
	note("create: status %s, pid of the pid file %v, id %v, bundle %v", state.Status, state.Pid == pid, state.ID == id, state.Bundle == bundle)
	parent, _ := processParent(pid)
	note("create: the command waits %v; its parent is the caller %v, the runtime %v", !strings.Contains(readFileString(out.Name()), "started"), parent == os.Getpid(), isRuntimeProcess(parent, rt))

	r = rt.verb(t, nil, "start", id)
	if r.status != 0 {
		t.Fatalf("%s start %s: %v", rt.name, id, r)
	}
	started := waitUntil(10*time.Second, func() bool { return strings.Contains(readFileString(out.Name()), "started") })
	state = rt.waitForStatus(t, id, specs.StateRunning)
	note("start: the command runs %v; status %s, pid the same %v", started, state.Status, state.Pid == pid)
	note("start again: refused %v", rt.verb(t, nil, "start", id).status != 0)
	note("delete while running: refused %v", rt.verb(t, nil, "delete", id).status != 0)

	if r := rt.verb(t, nil, "kill", id, "KILL"); r.status != 0 {
		t.Fatalf("%s kill %s KILL: %v", rt.name, id, r)
	}
	var status unix.WaitStatus
	_, err = unix.Wait4(pid, &status, 0, nil)
	note("kill KILL: the caller reaps it %v, killed by %v", err == nil, status.Signal())
	pid = 0
	state = rt.waitForStatus(t, id, specs.StateStopped)
	note("kill KILL: status %s, pid %d", state.Status, state.Pid)
	note("kill when stopped: refused %v", rt.verb(t, nil, "kill", id, "KILL").status != 0)

	if r := rt.verb(t, nil, "delete", id); r.status != 0 {
		t.Fatalf("%s delete %s: %v", rt.name, id, r)
	}
	deleted = true
	r = rt.verb(t, nil, "state", id)
	note("delete: state refused %v, saying it does not exist %v", r.status != 0, strings.Contains(r.stderr, "does not exist"))
	run.output = readFileString(out.Name())
	return run
}

// isRuntimeProcess reports whether pid runs rt's program.
func isRuntimeProcess(pid int, rt ociRuntime) bool {
	exe, err1 := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	bin, err2 := os.Stat(rt.argv[0])
	return err1 == nil && err2 == nil && os.SameFile(exe, bin)
}

// verbsBundle makes a bundle of tinyrun's own config.json for flags and
// command, as checkRuncRunsTinyrunsBundle does, for container id.
func (s step) verbsBundle(t *testing.T, id string, flags []string, command ...string) string {
	t.Helper()
	spec, _ := s.dryRun(t, flags, command...)
	spec.Hooks = nil
	return runcBundle(t, spec, id)
}

// useTinyrunCgroup rewrites bundle's config.json for tinyrun runtime:
// cgroupsPath empty, for the runtime's default (/tinyrun/ID), the one
// place where tinyrun accepts less than runc (it makes cgroups under its
// own parent only).
func useTinyrunCgroup(t *testing.T, bundle string) {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	var spec specs.Spec
	if err := json.Unmarshal([]byte(readFileString(path)), &spec); err != nil {
		t.Fatal(err)
	}
	spec.Linux.CgroupsPath = ""
	data, err := json.MarshalIndent(&spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkRuntimeVerbsAsRuncHasThem fails unless tinyrun runtime, given the
// same bundle as runc, goes through the same lifecycle, verb by verb:
// create leaves the command waiting, its PID in the pid file and no
// runtime process as its parent; start runs it; state says the spec's
// status; kill signals it; delete removes it; and each verb refuses in
// the states where runc refuses. Then a create that fails half-way must
// leave nothing.
func checkRuntimeVerbsAsRuncHasThem(t *testing.T, s step) {
	runc := runcRuntime(t)
	id := "tinyrun-test-" + strconv.FormatUint(uint64(rand.Uint32()), 16)
	command := []string{"sh", "-c", "echo started; hostname; exec sleep 60"}
	bundle := s.verbsBundle(t, id, []string{"--hostname", "verbs", "--network", "none"}, command...)
	fromRunc := driveLifecycle(t, runc, bundle, id)
	useTinyrunCgroup(t, bundle)
	fromTinyrun := driveLifecycle(t, s.tinyrunRuntime(t), bundle, id)
	for i := range fromRunc.steps {
		if i >= len(fromTinyrun.steps) || fromTinyrun.steps[i] != fromRunc.steps[i] {
			got := "nothing"
			if i < len(fromTinyrun.steps) {
				got = fromTinyrun.steps[i]
			}
			t.Errorf("on the same bundle, runc: %q; tinyrun runtime: %q", fromRunc.steps[i], got)
		}
	}
	if fromTinyrun.output != fromRunc.output {
		t.Errorf("the container's output: runc's %q, tinyrun runtime's %q", fromRunc.output, fromTinyrun.output)
	}
	assertHostAsFound(t, "tinyrun runtime create, start, kill, delete")

	// A create that fails once init is made (the pid file cannot be
	// written) takes everything back: no record, no cgroup, no process.
	rt := s.tinyrunRuntime(t)
	pidFile := "/nonexistent/tinyrun-test/pid"
	r := rt.verb(t, nil, "create", "--bundle", bundle, "--pid-file", pidFile, id)
	if r.status != 125 || !oneLine(r.stderr) || !strings.Contains(r.stderr, pidFile) {
		t.Errorf("%s create --pid-file %s: want status 125 and one line naming the pid file, got %v", rt.name, pidFile, r)
	}
	if r := rt.verb(t, nil, "state", id); r.status == 0 {
		t.Errorf("%s state %s after a create that failed: want it gone, got %v", rt.name, id, r)
		rt.verb(t, nil, "delete", "--force", id)
	}
	assertHostAsFound(t, "tinyrun runtime create with a pid file it cannot write")
}

// checkRuntimeJoinsANamespaceByPath fails unless a spec's network
// namespace with a path puts the container in that namespace, the one a
// caller made (here, with ip netns add), as runc does with the same
// bundle: the caller makes the network; the runtime joins it.
func checkRuntimeJoinsANamespaceByPath(t *testing.T, s step) {
	name := "tinyrun-test-join-" + strconv.FormatUint(uint64(rand.Uint32()), 16)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+name, &st); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)
	id := "tinyrun-test-" + strconv.FormatUint(uint64(rand.Uint32()), 16)
	spec, _ := s.dryRun(t, []string{"--network", "none"}, "sh", "-c", "echo started; readlink /proc/self/ns/net; exec sleep 60")
	spec.Hooks = nil
	for i, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			spec.Linux.Namespaces[i].Path = "/run/netns/" + name
		}
	}
	bundle := runcBundle(t, spec, id)
	for _, rt := range []ociRuntime{runcRuntime(t), s.tinyrunRuntime(t)} {
		if rt.name != "runc" {
			useTinyrunCgroup(t, bundle)
		}
		run := driveLifecycle(t, rt, bundle, id)
		if !strings.Contains(run.output, want) {
			t.Errorf("%s, with linux.namespaces network path /run/netns/%s: the container's network namespace is not that one (%s); it printed %q", rt.name, name, want, run.output)
		}
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns del %s: %v: %s", name, err, out)
	}
	assertHostAsFound(t, "tinyrun runtime with a network namespace by path")
}

// runtimeBadInputs are the runtime verbs' bad command lines.
func runtimeBadInputs() []struct {
	args    []string
	mention string
} {
	return []struct {
		args    []string
		mention string
	}{
		{[]string{"runtime", "create"}, "ID"},
		{[]string{"runtime", "create", "../etc"}, "../etc"},
		{[]string{"runtime", "create", "--bundle", "/nonexistent", "box"}, "/nonexistent"},
		{[]string{"runtime", "state", noSuchThing}, "does not exist"},
		{[]string{"runtime", "start", noSuchThing}, "does not exist"},
		{[]string{"runtime", "kill", noSuchThing, "NOSIG"}, "NOSIG"},
		{[]string{"runtime", "delete", noSuchThing}, "does not exist"},
		{[]string{"runtime", "nosuchverb"}, "nosuchverb"},
		{[]string{"runtime", "spec", "--bundle", "/nonexistent"}, "/nonexistent"},
	}
}
