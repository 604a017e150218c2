// The container's life: from run to rm, and the commands that look after it.
//
// In the steps before this one a container lived as long as the run that
// started it, and its record (state.go) was gone with it. Here a container
// outlives its command: once it ends, its record stays, with how it ended,
// beside its layer and its log, until rm. Its status, creating, running or
// stopped, is read from the record and from the processes it names, never
// stored (status.go, which also says what each command may do in each):
//
//	run  --> creating --> running --> stopped --> rm
//	            |  (start failed)        ^  (stop, kill, or the command ends)
//	            +------------------------+
//
// ps shows Docker's words for them: created, running, exited.
//
// Who writes a record: its owner, while it lives; anybody holding the lock
// (reclaim, rm) once the owner is gone. So the owner saves rec.Init without
// the lock, and nobody else writes a record whose owner is alive.
//
// Signals go to the container's PID 1 through a pidfd (man 2 pidfd_open), a
// handle on one process that a recycled PID cannot redirect: stop and kill
// open it, then check that the process is still the one the record names.
//
// Read: man 2 pidfd_open, man 2 pidfd_send_signal, man 2 poll, man 7 signal.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// containerOptions are run's flags of this step, checked.
type containerOptions struct {
	name                    string
	detach, monitor, remove bool
	createOnly              bool // create, and run -d's monitor for it: stop at created
	interactive, tty        bool
	env                     []string // K=V
	workdir                 string
}

var (
	detachFlag      = &cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background, watched by a monitor process: print the container's ID and return"}
	interactiveFlag = &cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin: the container reads what you type (without -i it reads /dev/null)"}
	ttyFlag         = &cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the container a terminal of its own (with -i: an interactive shell)"}
	removeFlag      = &cli.BoolFlag{Name: "rm", Usage: "remove the container when it exits (otherwise ps -a lists it until rm)"}
	nameFlag        = &cli.StringFlag{Name: "name", Usage: "a name for the container, for the other commands (default: its ID)"}
	envFlag         = &cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set a variable in the container: K=V (repeatable)"}
	workdirFlag     = &cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "the directory the command starts in, made if missing (default /)", Value: "/"}
	// monitorFlag is how the monitor (tinyrun monitor ID, monitor.go) runs
	// its container with run's own flags and checks: told the container's
	// ID, and that it is the monitor.
	monitorFlag = &cli.StringFlag{Name: "monitor", Hidden: true}
	// createOnlyFlag tells create's monitor to stop at created (start.go).
	createOnlyFlag = &cli.BoolFlag{Name: "create-only", Hidden: true}
)

// namePattern is Docker's rule for container names.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

// parseContainerOptions checks this step's flags of run, before anything is
// created. id is the container's; its name when --name is not given.
func parseContainerOptions(ctx *cli.Context, id string) (containerOptions, error) {
	o := containerOptions{name: ctx.String("name"), detach: ctx.Bool("detach"), monitor: ctx.String("monitor") != "",
		remove: ctx.Bool("rm"), interactive: ctx.Bool("interactive"), tty: ctx.Bool("tty"), env: ctx.StringSlice("env"), workdir: ctx.String("workdir")}
	if o.name == "" {
		o.name = id
	}
	if !namePattern.MatchString(o.name) {
		return o, fmt.Errorf("--name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", o.name)
	}
	if err := checkEnv(o.env); err != nil {
		return o, err
	}
	if !filepath.IsAbs(o.workdir) {
		return o, fmt.Errorf("-w %q: want an absolute path inside the container, such as /tmp", o.workdir)
	}
	if o.detach && o.tty {
		return o, errors.New("-t with -d: a detached container has nobody at its terminal; leave out -t (tinyrun has no attach)")
	}
	if o.tty && !isTerminal(os.Stdin) && !o.monitor {
		return o, errors.New("-t: stdin is not a terminal; leave out -t, or run it from a terminal")
	}
	return o, nil
}

// checkEnv checks -e values: K=V, with a name a shell could set.
func checkEnv(env []string) error {
	for _, e := range env {
		name, _, ok := strings.Cut(e, "=")
		if !ok || name == "" || strings.ContainsAny(name, " \t\n") {
			return fmt.Errorf("-e %q: want NAME=VALUE, such as -e GREETING=hello", e)
		}
	}
	return nil
}

// withEnv returns base with the variables of extra added, replacing those
// of the same name: -e PATH=... wins over the default PATH.
func withEnv(base, extra []string) []string {
	env := append([]string{}, base...)
	for _, e := range extra {
		name, _, _ := strings.Cut(e, "=")
		replaced := false
		for i, b := range env {
			if strings.HasPrefix(b, name+"=") {
				env[i], replaced = e, true
			}
		}
		if !replaced {
			env = append(env, e)
		}
	}
	return env
}

// enterWorkdir makes the command's working directory, if missing, and
// changes into it. It runs inside the container, after pivot_root (exec's
// joined process, after its chroot), where "/" is the container's root.
//
// The path is walked once, a part at a time, from a descriptor of "/":
// each part is made if missing (mkdirat) and opened with openat2(2)'s
// RESOLVE_NO_MAGICLINKS. A symlink of the image is followed, as in Docker,
// and stays inside this root ("/" and ".." stop at it); /proc/self/fd/N and
// its like are refused, since they can lead to a directory of the host,
// should one be open. Then fchdir(2) to the last descriptor: the path is
// not resolved a second time, so a part swapped for a link meanwhile (by a
// container that shares a volume with this one) changes nothing.
func enterWorkdir(dir string) error {
	current, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("open the container's root: %w", err)
	}
	for _, name := range strings.Split(strings.Trim(filepath.Clean(dir), "/"), "/") {
		if name == "" {
			break // dir is "/"
		}
		next, err := openWorkdirPart(current, name)
		if errors.Is(err, unix.ENOENT) {
			// EEXIST: made meanwhile; opening it checks what it is.
			if err := unix.Mkdirat(int(current.Fd()), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				current.Close()
				return fmt.Errorf("create working directory %s: %w", dir, err)
			}
			next, err = openWorkdirPart(current, name)
		}
		current.Close()
		if errors.Is(err, unix.ELOOP) {
			return fmt.Errorf("working directory %s: %w (a path through /proc/self/fd leads out of the container: choose a directory of the container)", dir, err)
		}
		if err != nil {
			return fmt.Errorf("working directory %s: %w", dir, err)
		}
		current = next
	}
	defer current.Close()
	if err := unix.Fchdir(int(current.Fd())); err != nil {
		return fmt.Errorf("change into working directory %s: %w", dir, err)
	}
	// A path can still lead out through a descriptor of the host's:
	// /proc/self/fd/N of a directory opened outside. getcwd(2) then finds
	// no path from this root, and says "(unreachable)" (CVE-2024-21626).
	if cwd, err := unix.Getwd(); err != nil || !strings.HasPrefix(cwd, "/") {
		return fmt.Errorf("working directory %s is outside the container's root: choose a directory of the container", dir)
	}
	return nil
}

// openWorkdirPart opens the directory name in dir (O_PATH: to walk from
// and change into), following a symlink but not a magic link.
func openWorkdirPart(dir *os.File, name string) (*os.File, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(int(dir.Fd()), name, &how)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name)), nil
}

// checkNameFree refuses a name that another container, running or ended,
// has. records are every record; the caller holds the lock.
func checkNameFree(name string, records []*record) error {
	for _, rec := range records {
		if rec.Name == name {
			return fmt.Errorf("the name %s is taken by container %s: choose another, or remove that one with rm", name, rec.ID)
		}
	}
	return nil
}

// exit is how a container ended.
type exit struct {
	Code   int       `json:"code"`             // as run would exit: the command's status, 128+N for signal N
	Reason string    `json:"reason,omitempty"` // what the runtime said, if anything (an OOM kill, a failed start)
	Time   time.Time `json:"time"`
}

// processOf names the process pid, by its start time.
func processOf(pid int) (process, error) {
	start, err := processStartTime(pid)
	if err != nil {
		return process{}, fmt.Errorf("read the start time of container process %d: %w", pid, err)
	}
	return process{PID: pid, StartTime: start}, nil
}

// started records the container's PID 1, for exec, stop and kill, once its
// command runs (or could not start): not before, when its root was still
// the host's, and an exec would have joined the host's filesystem. The
// owner writes it without the lock: see the top of this file.
func (rec *record) started(pid1 process) error {
	rec.Init = pid1
	return rec.save()
}

// ended records how the container ended and gives back what it held while
// it ran (giveBack). Its layer and log stay, for logs and commit, until rm;
// with --rm, teardown removes everything now. A record that holds an exit
// already keeps it: reclaim calls ended again for a container whose owner
// was killed after recording its end but before giving back what it held
// (stopped, not yet released: status.go). The caller holds the lock.
func (rec *record) ended(code int, reason string) error {
	// A container that never started has nothing to keep: the state
	// machine's "created, then gone".
	if rec.Remove || rec.Init.PID == 0 {
		return teardown(rec)
	}
	// The exit first: if what follows fails, a later reclaim must not
	// overwrite it with a guess.
	if rec.Exit == nil {
		rec.Exit = &exit{Code: code, Reason: reason, Time: time.Now()}
		if err := rec.save(); err != nil {
			return err
		}
	}
	stopAfter("ended")
	return rec.giveBack()
}

// giveBack gives back what a stopped container held while it ran: its
// cgroups and its network namespace (releaseRunning, state.go), and its
// address and ports (settle gives them back once the record no longer
// holds them). Safe to repeat.
func (rec *record) giveBack() error {
	if err := rec.releaseRunning(); err != nil {
		return err
	}
	rec.Cgroup, rec.MonitorCgroup, rec.Network, rec.Netns = nil, nil, nil, ""
	return rec.save()
}

// exitCode is how the container ended, as ps shows it: the recorded code, or
// 137 when its owner died with it unrecorded.
func (rec *record) exitCode() int {
	if rec.Exit != nil {
		return rec.Exit.Code
	}
	if rec.status() == statusStopped && !rec.Owner.alive() {
		return 128 + int(unix.SIGKILL)
	}
	return 0
}

// logPath is the file a detached container's stdout and stderr go to:
// beside its layer, on the same filesystem, so that a container that
// writes without end fills no more than its layer could (not /run, a
// tmpfs in the host's memory), and removed with it.
func (rec *record) logPath() string {
	if rec.Layer == nil {
		return filepath.Join(rec.dir(), "container.log") // none: printLog says so
	}
	return filepath.Join(rec.Layer.Dir, "container.log")
}

// allRecords reads every container's record, without the lock: a record is
// replaced whole (writeJSON), so a read sees the old one or the new one.
// A damaged record is skipped and reported in damaged, so that one bad file
// does not hide the other containers.
func allRecords() (records []*record, damaged error) {
	entries, err := os.ReadDir(containersDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", containersDir, err)
	}
	for _, e := range entries {
		rec, err := readRecord(e.Name())
		if err != nil {
			damaged = errors.Join(damaged, err)
			continue
		}
		if !rec.Created.IsZero() { // not one being made, or removed, as we read
			records = append(records, rec)
		}
	}
	sort.Slice(records, func(i, j int) bool { return records[i].Created.After(records[j].Created) })
	return records, damaged
}

// findContainer returns the record that ref names: a container's name, its
// ID, or the start of its ID if only one ID starts so.
func findContainer(ref string) (*record, error) {
	records, damaged := allRecords()
	var found []*record
	for _, rec := range records {
		if rec.Name == ref || rec.ID == ref {
			return rec, nil
		}
		if ref != "" && strings.HasPrefix(rec.ID, ref) {
			found = append(found, rec)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, fmt.Errorf("%d containers have IDs starting with %q: give more of the ID", len(found), ref)
	case damaged != nil:
		return nil, fmt.Errorf("no container %s (and %v)", ref, damaged)
	}
	return nil, fmt.Errorf("no container %s: list them with 'ps -a'", ref)
}

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the running containers (with -a, every container)",
	ArgsUsage: "   e.g. ps -a --format '{{.Name}} {{.Status}}'",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "list exited containers too"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the IDs"},
		&cli.StringFlag{Name: "format", Usage: "a Go template for each line, over .ID .Name .Image .Command .Created .Status .State .ExitCode .Address .Ports"},
	},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("ps takes no arguments: try '%s ps -a'", programName)
		}
		format := ctx.String("format")
		switch {
		case ctx.Bool("quiet"):
			format = "{{.ID}}"
		case format == "":
			format = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Created}}\t{{.Status}}\t{{.Address}}\t{{.Ports}}\t{{.Name}}"
		}
		tmpl, err := template.New("ps").Parse(format + "\n")
		if err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		return listContainers(os.Stdout, tmpl, ctx.Bool("all"), !ctx.Bool("quiet") && ctx.String("format") == "")
	},
}

// psRow is one line of ps: what --format can name.
type psRow struct {
	ID, Name, Image, Command, Created, Status, State, Address, Ports string
	ExitCode                                                         int
}

// listContainers prints a line per container (running ones only, unless
// all) through tmpl, under a header when header is set. A damaged record
// is reported after the others are listed.
func listContainers(out io.Writer, tmpl *template.Template, all, header bool) error {
	records, damaged := allRecords()
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	if header {
		fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tADDRESS\tPORTS\tNAMES")
	}
	for _, rec := range records {
		row := rec.row()
		if row.State != "running" && !all {
			continue
		}
		if err := tmpl.Execute(w, row); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return damaged
}

// row is what ps shows of rec.
func (rec *record) row() psRow {
	row := psRow{ID: rec.ID, Name: rec.Name, Command: strconv.Quote(strings.Join(rec.Command, " ")),
		Created: ago(rec.Created) + " ago", State: rec.state(), ExitCode: rec.exitCode()}
	if rec.Layer != nil {
		row.Image = rec.Layer.Image
	}
	if command := []rune(row.Command); len(command) > 22 {
		row.Command = string(command[:20]) + "…\""
	}
	switch row.State {
	case "running":
		row.Status = "Up " + ago(startedAt(rec.Init.StartTime))
	case "exited":
		row.Status = fmt.Sprintf("Exited (%d)", row.ExitCode)
		if rec.Exit != nil {
			row.Status += " " + ago(rec.Exit.Time) + " ago"
		}
	default:
		row.Status = "Created"
	}
	if n := rec.Network; n != nil && row.State == "running" {
		row.Address = n.Address.String()
		var ports []string
		for _, p := range n.Ports {
			ports = append(ports, fmt.Sprintf("%d->%d/%s", p.HostPort, p.ContainerPort, p.Protocol))
		}
		row.Ports = strings.Join(ports, ", ")
	}
	return row
}

// startedAt turns a process's start time, in clock ticks after boot, into
// the moment it was.
func startedAt(ticks uint64) time.Time {
	var info unix.Sysinfo_t
	if unix.Sysinfo(&info) != nil {
		return time.Now()
	}
	// Clock ticks are USER_HZ, 100 per second on every Linux (man 5 proc).
	bootedAt := time.Now().Add(-time.Duration(info.Uptime) * time.Second)
	return bootedAt.Add(time.Duration(ticks) * 10 * time.Millisecond)
}

// ago says how long ago t was, the way Docker does: "3 seconds", "2 minutes".
func ago(t time.Time) string {
	d := time.Since(t)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d < time.Second:
		return "Less than a second"
	case d < time.Minute:
		return plural(int(d.Seconds()), "second")
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute")
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour")
	}
	return plural(int(d.Hours()/24), "day")
}

var logsCommand = &cli.Command{
	Name:         "logs",
	Usage:        "print what a detached container wrote to stdout and stderr",
	ArgsUsage:    "CONTAINER   e.g. logs -f web",
	Flags:        []cli.Flag{&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing what it writes, until it exits"}},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() != 1 {
			return fmt.Errorf("want one container: try '%s logs web'", programName)
		}
		rec, err := findContainer(ctx.Args().First())
		if err != nil {
			return err
		}
		if err := printLog(os.Stdout, rec, ctx.Bool("follow")); err != nil {
			return err
		}
		// Then, on stderr, what the monitor said about its own failures.
		if own, err := os.ReadFile(filepath.Join(rec.dir(), monitorLogName)); err == nil {
			os.Stderr.Write(own)
		}
		return nil
	},
}

// printLog copies rec's log to out; with follow, it goes on copying what
// comes until the container has exited. A container run in the foreground
// has no log: its output went to the terminal.
func printLog(out io.Writer, rec *record, follow bool) error {
	f, err := os.Open(rec.logPath())
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("container %s has no log: it ran in the foreground (run -d keeps one)", rec.Name)
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	for {
		if _, err := io.Copy(out, f); err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		if !follow {
			return nil
		}
		now, err := readRecord(rec.ID)
		if err != nil || now.status() == statusStopped {
			_, err := io.Copy(out, f) // what came between the copy and the check
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var stopCommand = &cli.Command{
	Name:         "stop",
	Usage:        "stop running containers: SIGTERM to PID 1, then SIGKILL after the timeout",
	ArgsUsage:    "CONTAINER...   e.g. stop -t 2 web",
	Flags:        []cli.Flag{&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before SIGKILL"}},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.Int("time") < 0 {
			return fmt.Errorf("-t %d: want a number of seconds, 0 or more", ctx.Int("time"))
		}
		return forEachContainer(ctx, func(rec *record) error {
			return stopContainer(rec, time.Duration(ctx.Int("time"))*time.Second)
		})
	},
}

var killCommand = &cli.Command{
	Name:         "kill",
	Usage:        "send a signal to running containers' PID 1",
	ArgsUsage:    "CONTAINER...   e.g. kill -s HUP web",
	Flags:        []cli.Flag{&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "a signal's name (TERM, SIGTERM) or number"}},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		sig, err := parseSignal(ctx.String("signal"))
		if err != nil {
			return err
		}
		return forEachContainer(ctx, func(rec *record) error {
			if err := rec.mayAct("kill"); err != nil {
				return err
			}
			return signalInit(rec, sig)
		})
	},
}

var rmCommand = &cli.Command{
	Name:         "rm",
	Usage:        "remove containers: their layer, log and record",
	ArgsUsage:    "CONTAINER...   e.g. rm -f web",
	Flags:        []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill a running container first"}},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		return forEachContainer(ctx, func(rec *record) error {
			return removeContainer(rec, ctx.Bool("force"))
		})
	},
}

// forEachContainer checks that every argument names a container, then runs
// fn on each in turn, printing its name as given once done, as Docker does.
func forEachContainer(ctx *cli.Context, fn func(*record) error) error {
	if ctx.NArg() == 0 {
		return fmt.Errorf("want a container: try '%s %s web'", programName, ctx.Command.Name)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s needs root: run it with sudo", ctx.Command.Name)
	}
	var records []*record
	for _, ref := range ctx.Args().Slice() {
		rec, err := findContainer(ref)
		if err != nil {
			return err
		}
		records = append(records, rec)
	}
	for i, rec := range records {
		if err := fn(rec); err != nil {
			return err
		}
		fmt.Println(ctx.Args().Get(i))
	}
	return nil
}

// parseSignal reads a signal's name (KILL, SIGKILL) or number.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("-s %q: not a signal; use a name such as TERM or a number such as 15 (kill -l lists them)", s)
}

// stopContainer sends SIGTERM to rec's PID 1, and SIGKILL if it has not
// exited after timeout, both through one pidfd; it returns once the owner
// has recorded the end. PID 1 gets SIGTERM only if it handles it (pid.go):
// a plain sleep waits for the SIGKILL, as in Docker.
func stopContainer(rec *record, timeout time.Duration) error {
	if err := rec.mayAct("stop"); err != nil {
		return err
	}
	if rec.status() == statusStopped {
		return waitForOwner(rec) // nothing to do, as in Docker, once it is recorded
	}
	_ = thawContainer(rec) // a frozen process acts on no signal (freezer.go); a failure shows as one still running
	pid1, err := openProcess(rec.Init)
	if err != nil {
		return nil // it has just ended: its owner records it
	}
	defer unix.Close(pid1)
	if err := sendSignal(pid1, unix.SIGTERM); err != nil {
		return fmt.Errorf("stop container %s: %w", rec.Name, err)
	}
	if !waitForExit(pid1, timeout) {
		if err := sendSignal(pid1, unix.SIGKILL); err != nil {
			return fmt.Errorf("stop container %s: %w", rec.Name, err)
		}
	}
	return waitForOwner(rec)
}

// removeContainer removes rec: its layer, log and record. A running one is
// refused unless force, and then killed first, and its owner is left to
// record the end. The checks and the teardown happen under the lock,
// reading the record again, since the owner may have changed it since.
func removeContainer(rec *record, force bool) error {
	if !force {
		if err := rec.mayAct("rm"); err != nil {
			return err
		}
	}
	if rec.status() != statusStopped {
		_ = thawContainer(rec) // a frozen process acts on no signal (freezer.go); a failure shows as one still running
		// A container being created has no PID 1 to kill yet: its owner
		// is killed instead, whose death takes the container with it
		// (pid.go), and reclaim, below, does the rest.
		target := rec.Init
		if target.PID == 0 {
			target = rec.Owner
		}
		if fd, err := openProcess(target); err == nil {
			err = sendSignal(fd, unix.SIGKILL)
			unix.Close(fd)
			if err != nil {
				return fmt.Errorf("kill container %s: %w", rec.Name, err)
			}
		}
	}
	// Stopped, it may not be released yet: its owner is recording its end.
	if err := waitForOwner(rec); err != nil {
		return err
	}
	return withLock(func() error {
		now, err := readRecord(rec.ID)
		if err != nil {
			return err
		}
		if !now.released() && now.Owner.alive() {
			return fmt.Errorf("container %s is still running: try rm -f again", rec.Name)
		}
		live, err := reclaim() // reclaims rec too, if its owner died unrecorded
		if err != nil {
			return err
		}
		var kept []*record
		for _, other := range live {
			if other.ID != rec.ID {
				kept = append(kept, other)
			}
		}
		return errors.Join(teardown(now), settle(kept))
	})
}

// signalInit sends sig to rec's PID 1 through a pidfd, after checking that
// the process it opened is still the one the record names.
func signalInit(rec *record, sig unix.Signal) error {
	_ = thawContainer(rec) // a frozen process acts on no signal (freezer.go); a failure shows as one still running
	fd, err := openProcess(rec.Init)
	if err != nil {
		return fmt.Errorf("container %s: %w", rec.Name, err)
	}
	defer unix.Close(fd)
	if err := sendSignal(fd, sig); err != nil {
		return fmt.Errorf("container %s: %w", rec.Name, err)
	}
	return nil
}

// sendSignal sends sig to the process of pidfd fd; one that has just
// exited (ESRCH) needs none.
func sendSignal(fd int, sig unix.Signal) error {
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("send %v: %w", sig, err)
	}
	return nil
}

// openProcess opens a pidfd on p, and checks, once it is open, that p still
// runs: a pidfd taken before the check cannot have been recycled after it.
func openProcess(p process) (int, error) {
	fd, err := unix.PidfdOpen(p.PID, 0)
	if err != nil {
		return -1, fmt.Errorf("it is not running (pidfd_open %d: %w)", p.PID, err)
	}
	if !p.alive() {
		unix.Close(fd)
		return -1, fmt.Errorf("it is not running (process %d has exited)", p.PID)
	}
	return fd, nil
}

// ownerTimeout bounds the wait for an owner to record a container's end,
// which waits for the state lock, which other commands may hold.
const ownerTimeout = 30 * time.Second

// waitForOwner waits for rec's owner to exit, which it does once it has
// recorded how the container ended.
func waitForOwner(rec *record) error {
	fd, err := openProcess(rec.Owner)
	if err != nil {
		return nil // gone already
	}
	defer unix.Close(fd)
	if !waitForExit(fd, ownerTimeout) {
		return fmt.Errorf("container %s has ended, but its runtime (PID %d) has not recorded it after %v: see '%s ps -a'", rec.Name, rec.Owner.PID, ownerTimeout, programName)
	}
	return nil
}

// waitForExit waits up to timeout for the process of pidfd fd to exit, and
// reports whether it did.
func waitForExit(fd int, timeout time.Duration) bool {
	// A pidfd polls readable when its process exits (man 2 pidfd_open).
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left < 0 {
			return false
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
		if err == nil && n > 0 {
			return true
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false
		}
	}
}
