// The monitor: what watches a detached container.
//
// A container started with run -d must outlive the command that started
// it, yet something has to stay its parent: to reap it (wait(2)) and so
// learn how it ended, to record that, and to give back what it held. Docker
// has containerd-shim for this, one per container, and podman has conmon;
// tinyrun has a monitor, a command of its own, "tinyrun monitor ID", which
// runs the container as run would, with one difference: the container's
// stdin is /dev/null and its stdout and stderr go to its log.
//
//	run -d   checks the flags, starts the monitor in a session of its own
//	         (setsid), with its stderr on a pipe, and waits on that pipe;
//	         the monitor's command line is "monitor ID": run's arguments
//	         cross its stdin, a pipe, as a JSON list, since
//	         every user of the host can read a process's arguments
//	         (/proc/PID/cmdline), and -e values are often secrets
//	monitor  reserve, start, connect as in run, and moves itself into a
//	         cgroup of its own (makeMonitorCgroup); once the container runs
//	         it writes "started" and closes the pipe; then waits and releases
//	run -d   reads "started": prints the ID and exits; anything else is the
//	         monitor's error, which it prints as its own
//
// The container writes its log itself: the log file is its stdout and
// stderr, so the monitor copies nothing. And while it waits, the monitor is
// not a Go program: a Go runtime holds some 10 MB (its heap, its threads,
// the pages of this binary it has touched) for nothing but a wait(2), times
// every container. So once the container runs, the monitor execs itself
// (execve(2) keeps the PID, and so the container as its child) as
// "monitor --wait PID ID", and the C constructor of waiter.go, which runs
// before Go's runtime does, waits for the container, relaying the signals
// sent to the monitor, and then execs "monitor --status STATUS ID", in Go
// again, which records the end and releases what the container held.
// Podman's conmon is written in C for the same reason.
//
//	monitor (Go)   ... started; execve "monitor --wait PID ID"
//	waiter (C)     waitpid: some hundreds of KB while the container runs
//	monitor (Go)   "monitor --status STATUS ID": release (main.go), exit
//
// Like containerd's shim and conmon, the monitor is a subreaper
// (becomeSubreaper), and, once run -d has returned, writes its own errors
// to monitor.log in the container's directory, which logs prints.
//
// The container's parent-death signal is tied to the monitor (pid.go),
// whichever of the three it is: a monitor killed with SIGKILL takes its
// container with it, and the next command that takes the lock records it
// as exited (reclaim, state.go).
//
// The waiter needs cgo (waiter.go). Built without it (CGO_ENABLED=0), the
// monitor waits in Go instead (waiter_nocgo.go), and keeps its Go runtime
// while the container runs.
//
// In ps, the monitor is "tinyrun monitor ID" while it starts the
// container, then "tinyrun monitor --wait PID ID" while it waits, and
// "tinyrun monitor --status STATUS ID" while it ends it.
//
// Read: man 2 setsid, man 2 wait4, man 2 execve, man 7 pipe.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// monitorStarted is what the monitor writes to run -d once the container runs.
const monitorStarted = "started\n"

// monitorLogName is the file, in the container's directory, where the
// monitor writes its own errors once run -d has returned.
const monitorLogName = "monitor.log"

// becomeSubreaper makes the monitor the parent of whatever process of its
// container is orphaned outside the container's PID namespace, as
// containerd's shim and conmon are (man 2 prctl, PR_SET_CHILD_SUBREAPER;
// kept across execve): it reaps them (waiter.go), and none is left to the
// host's PID 1.
func becomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("monitor: prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}

// monitorCgroupSuffix names the monitor's own cgroup, beside its
// container's: tinyrun/ID-monitor.
const monitorCgroupSuffix = "-monitor"

// makeMonitorCgroup makes the monitor a cgroup of its own, in the memory
// and pids hierarchies (those a monitor uses; its container's limits are
// not its own), as podman puts each conmon in a cgroup of its own (and
// containerd its shims, given its shim_cgroup option; without it they stay
// in containerd's service cgroup): out of its caller's, and counted apart
// from its container. On cgroup v2, the one hierarchy, that takes it out of its
// caller's login session too, which systemd may kill whole at logout; on
// v1 and hybrid hosts systemd keeps sessions in a hierarchy of its own
// (name=systemd), which tinyrun leaves alone.
// Recorded first, as every cgroup is (createCgroup). The caller holds the
// lock: the parent, tinyrun, is shared with other runtimes. run moves the
// monitor in (joinMonitorCgroup) when it moves the container into its own.
func makeMonitorCgroup(rec *record) error {
	found, err := hostLayout()
	if err != nil {
		return fmt.Errorf("detect the cgroup layout: %w", err)
	}
	cg := &cgroup{}
	for _, c := range []string{"memory", "pids"} {
		if h, ok := found[c]; ok {
			dir := filepath.Join(h.mountpoint, cgroupParent, rec.ID+monitorCgroupSuffix)
			if fileExists(dir) { // a tinyrun runtime container's, named so
				return fmt.Errorf("cgroup %s is in use: the monitor needs it", dir)
			}
			cg.Parts = append(cg.Parts, cgroupPart{Controller: c, Version: h.version, Dir: dir})
		}
	}
	rec.MonitorCgroup = cg
	if err := rec.save(); err != nil {
		return err
	}
	for _, part := range cg.Parts {
		if err := makeCgroupDir(part); err != nil {
			return err
		}
	}
	return nil
}

// joinMonitorCgroup moves the monitor into its cgroup. run does it right
// before the container's join: a move into a cgroup (a write to
// cgroup.procs) write-locks the kernel's cgroup_threadgroup_rwsem, whose
// writer waits for an RCU grace period unless another writer has just
// waited for one (Linux 6.0 on; a hierarchy mounted with favordynmods
// skips the wait). Side by side, the second move costs next to nothing;
// apart, about 10 ms each on the v1 host of docs/benchmarks.md. (On v2,
// where the container goes in with clone3's CLONE_INTO_CGROUP, which takes
// no such lock, the monitor's move is alone.)
func joinMonitorCgroup(rec *record) error {
	if rec.MonitorCgroup == nil {
		return nil
	}
	return rec.MonitorCgroup.join(os.Getpid())
}

// removeMonitorCgroup removes the monitor's cgroup, whoever removes it: the
// monitor itself, at its end, steps out first, into its hierarchy's root
// (the one cgroup that both versions allow it in, whatever its
// controllers), since a cgroup is removed by killing what is left in it.
func (rec *record) removeMonitorCgroup() error {
	if rec.MonitorCgroup == nil {
		return nil
	}
	// By who this is, not by reading cgroup.procs: a read that failed
	// would have the monitor kill itself with the cgroup.
	if self, err := thisProcess(); err == nil && self == rec.Owner {
		for _, p := range rec.MonitorCgroup.Parts {
			root := filepath.Dir(filepath.Dir(p.Dir)) // the mount of tinyrun/ID-monitor
			if err := writeCgroupFile(filepath.Join(root, "cgroup.procs"), strconv.Itoa(self.PID)); err != nil {
				return fmt.Errorf("monitor: leave its cgroup: %w", err)
			}
		}
	}
	if err := rec.MonitorCgroup.remove(); err != nil {
		return err
	}
	rec.MonitorCgroup = nil
	return nil
}

// startMonitor starts the monitor of container c, which runs it; it returns
// once the container runs, after printing its ID, or with the monitor's
// error if it could not start it.
func startMonitor(c containerConfig) error {
	report, reportWriter, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create pipe: %w", err)
	}
	defer report.Close()
	// The monitor of container c.id, which runs it as run would; run's
	// arguments follow on its stdin (readMonitorArgs).
	args := os.Args[2:]
	if c.createOnly {
		args = append([]string{"--create-only"}, args...) // create's: stop at created
	}
	encoded, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode the monitor's arguments: %w", err)
	}
	monitor := exec.Command("/proc/self/exe", "monitor", c.id)
	monitor.Args[0] = programName // what ps shows
	monitor.Stdin = bytes.NewReader(encoded)
	monitor.Stderr = reportWriter // stdout: /dev/null (os/exec)
	// Not the user's working directory, which the monitor would keep busy
	// (no umount) for the container's life: -v paths are absolute.
	monitor.Dir = "/"
	// A session of its own: no terminal, so no SIGHUP when the user's
	// terminal closes, and no Ctrl-C from it.
	monitor.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = monitor.Start()
	reportWriter.Close() // the monitor has its own copy: EOF comes when it closes it
	if err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	// Until the container runs, Ctrl-C (or kill) of run -d is passed on to
	// the monitor, whose start then gives up (abortOnSignal, start.go) and
	// says so on the pipe: the monitor, in its own session, gets no Ctrl-C
	// of its own.
	signals := catchSignals()
	stopForwarding := forwardSignals(monitor.Process, signals)
	// os/exec copies stdin in a goroutine, which only Wait waits for: the
	// list is small, and the monitor reads it before it starts anything.
	said, err := io.ReadAll(report)
	stopForwarding()
	signal.Stop(signals)
	if err != nil {
		return fmt.Errorf("read from monitor: %w", err)
	}
	if string(said) == monitorStarted {
		fmt.Println(c.id)
		return monitor.Process.Release() // it outlives this process: init reaps it
	}
	// The container did not start, and the monitor exits: with 125 for
	// its own failure, with 126 or 127 for a command that could not run.
	state, err := monitor.Process.Wait()
	if err != nil {
		return fmt.Errorf("wait for monitor: %w", err)
	}
	reason := strings.TrimPrefix(strings.TrimSpace(string(said)), programName+": ")
	if reason == "" {
		reason = fmt.Sprintf("the monitor of container %s exited before the container started: see '%s ps -a'", c.id, programName)
	}
	status := state.ExitCode()
	if status != statusCannotExec && status != statusNotFound {
		status = statusRuntimeError
	}
	return commandError{status, errors.New(reason)}
}

// readMonitorArgs reads, in the monitor, the arguments of run that
// startMonitor wrote to its stdin, and gives it /dev/null as stdin again.
func readMonitorArgs() ([]string, error) {
	var args []string
	if err := json.NewDecoder(os.Stdin).Decode(&args); err != nil {
		return nil, fmt.Errorf("monitor: read run's arguments from stdin: %w (run -d starts the monitor; do not call it yourself)", err)
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer null.Close()
	if err := unix.Dup2(int(null.Fd()), 0); err != nil {
		return nil, fmt.Errorf("stdin from %s: %w", os.DevNull, err)
	}
	return args, nil
}

// logStdio is a detached container's stdio, in its monitor: stdin /dev/null,
// stdout and stderr its log (rec.logPath).
func logStdio(rec *record) (*containerStdio, error) {
	log, err := os.OpenFile(rec.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	// If run -d is gone (Ctrl-C), writing to the pipe must fail, not kill
	// the monitor with SIGPIPE, and its container with it: with SIGPIPE
	// caught, Go returns EPIPE (os/signal, "SIGPIPE"). A caught signal is
	// back to its default in the container (execve(2)).
	signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE)
	return &containerStdio{in: null, out: log, err: log,
		started: func(failed string) {
			// Tell run -d, then close the pipe. From here on the monitor has
			// nobody to tell: the record says how the container ended.
			if failed == "" {
				fmt.Fprint(os.Stderr, monitorStarted)
			} else {
				fmt.Fprintln(os.Stderr, failed)
			}
			// The monitor's own errors from here on go to monitor.log, in
			// the container's directory (logs prints it); this closes
			// the pipe too. Failing that, /dev/null, or closing fd 2.
			own, err := os.OpenFile(filepath.Join(rec.dir(), monitorLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0o600)
			if err != nil {
				own = null
			}
			if unix.Dup2(int(own.Fd()), 2) != nil {
				unix.Close(2)
			}
			if own != null {
				own.Close()
			}
		},
		close: func() { log.Close(); null.Close() },
	}, nil
}

// monitorCommand is the monitor's entry point, in its three lives:
//
//	monitor ID                    started by run -d: reads run's arguments
//	                              from stdin and runs the container, as run
//	                              does, with the monitor's stdio (logStdio)
//	monitor --wait PID ID         the C waiter (waiter.go), while it runs
//	monitor --status STATUS ID    once it has ended: records how, and
//	                              releases what run reserved, as run does
//	                              at its end
var monitorCommand = &cli.Command{
	Name:   "monitor",
	Usage:  "run a detached container, and record how it ended (run -d starts it; do not call it yourself)",
	Hidden: true,
	Flags: []cli.Flag{
		&cli.IntFlag{Name: "status", Value: -1, Usage: "the container's wait status, from the waiter"},
		&cli.IntFlag{Name: "wait", Usage: "the PID the waiter waits for (only the C waiter reads it)"},
	},
	Action: func(ctx *cli.Context) error {
		id := ctx.Args().Get(0)
		if ctx.NArg() != 1 || !containerIDPattern.MatchString(id) {
			return fmt.Errorf("monitor: want one container ID, got %q (run -d starts the monitor; do not call it yourself)", ctx.Args().Slice())
		}
		if !ctx.IsSet("status") && !ctx.IsSet("wait") {
			args, err := readMonitorArgs()
			if err != nil {
				return err
			}
			// run's own flags and checks, told which container it runs.
			return ctx.App.Run(append([]string{programName, "run", "--monitor", id}, args...))
		}
		rec, err := readRecord(id)
		if err != nil {
			return err
		}
		// Only the monitor itself: execve(2) kept its PID and start time.
		if self, err := thisProcess(); err != nil || self != rec.Owner {
			return fmt.Errorf("monitor: not the monitor of container %s (its monitor is PID %d)", rec.ID, rec.Owner.PID)
		}
		status := ctx.Int("status")
		if ctx.IsSet("wait") || status < 0 {
			return release(rec, errors.New("the monitor lost its container: no wait status"))
		}
		l, err := bundleLimits(rec)
		if err != nil {
			return errors.Join(err, release(rec, err))
		}
		how := explainExit(waitStatusError(syscall.WaitStatus(status)), rec.Cgroup, l.memoryString())
		if err := release(rec, how); err != nil {
			return err // its own failure: to monitor.log
		}
		// The container's end, with its reason, is in the record: the
		// monitor exits with its status (run -d reports a command that
		// could not start by it), and prints nothing.
		var code exitStatus
		if errors.As(how, &code) {
			return code
		}
		return nil
	},
}

// bundleLimits reads the limits of rec's container from its bundle's
// config.json: the spec says what the container was made with.
func bundleLimits(rec *record) (limits, error) {
	data, err := os.ReadFile(filepath.Join(rec.dir(), "config.json"))
	if err != nil {
		return limits{}, fmt.Errorf("monitor: read the spec: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil || spec.Linux == nil {
		return limits{}, fmt.Errorf("monitor: read the spec: %v", err)
	}
	return limitsOf(spec.Linux.Resources)
}
