// The runtime alone: runc's verbs over an OCI bundle.
//
// tinyrun run plays two roles at once. As a caller (Docker's and
// containerd's role) it keeps the images, mounts the overlay, makes the
// network and writes a bundle: config.json and a root filesystem. As a
// runtime (runc's role) it makes a container from that spec. The runtime
// spec names the runtime's verbs (runtime.md, "Operations"), and
// "tinyrun runtime" is them, with nothing of the caller:
//
//	create --bundle DIR ID   make container ID from DIR/config.json; its
//	                         command waits for start (start.go)
//	start ID                 run its command
//	state ID                 the spec's state JSON: id, status, pid, bundle
//	kill ID [SIGNAL]         signal its first process (default TERM)
//	delete [--force] ID      undo what create made; --force kills it first
//	spec [CMD...]            write a config.json to start a bundle with,
//	                         as "runc spec" does
//
// It knows no image, no network and no name: the bundle's root is any
// directory, and a network namespace made beforehand is joined by its
// path (joinNamespaces). create returns once the container is created,
// and leaves no tinyrun process behind: the container's first process is
// handed to whoever adopts orphans (the caller, if it made itself a
// subreaper with PR_SET_CHILD_SUBREAPER, as containerd's shim does; else
// the host's PID 1), which reaps it. Nobody records its exit status: state
// reads "stopped" from a first process that is gone, as runc does.
//
// Each container has a record in the runtime's root (--root, by default
// /run/tinyrun/runtime/ID/state.json) next to its exec.fifo; the same
// record type, status and lifecycle as run's containers (status.go).
//
// Read: the runtime spec's runtime.md ("State", "Lifecycle",
// "Operations") and config.md; man 2 setns; man 2 prctl
// (PR_SET_CHILD_SUBREAPER).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// defaultRuntimeRoot holds the runtime's records, beside run's.
const defaultRuntimeRoot = stateDir + "/runtime"

var runtimeRootFlag = &cli.StringFlag{Name: "root", Value: defaultRuntimeRoot, Usage: "the directory of the runtime's records"}

var runtimeCommand = &cli.Command{
	Name:  "runtime",
	Usage: "the runtime's own verbs, as runc has them: create a container from an OCI bundle, start, state, kill, delete it",
	Flags: []cli.Flag{runtimeRootFlag},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("unknown verb %q: see '%s runtime --help'", ctx.Args().First(), programName)
		}
		return cli.ShowSubcommandHelp(ctx)
	},
	OnUsageError: usageError,
	Subcommands: []*cli.Command{
		{
			Name:      "create",
			Usage:     "make a container from the bundle's config.json; its command waits for start",
			ArgsUsage: "ID   e.g. runtime create --bundle /tmp/box box",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "the bundle: a directory with config.json and the root it names"},
				&cli.StringFlag{Name: "pid-file", Usage: "write the container's first process's PID to this file"},
			},
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				id, err := runtimeArgs(ctx, 1)
				if err != nil {
					return err
				}
				return runtimeCreate(ctx.String("root"), id, ctx.String("bundle"), ctx.String("pid-file"))
			},
		},
		{
			Name:      "spec",
			Usage:     "write a bundle's config.json: run's defaults, the root the bundle's rootfs directory, no network (default command sh)",
			ArgsUsage: "[CMD [ARG...]]   e.g. runtime spec --bundle /tmp/box echo hi",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "the bundle's directory, where config.json goes"},
			},
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				command := ctx.Args().Slice()
				if len(command) == 0 {
					command = []string{"sh"}
				}
				return writeDefaultSpec(ctx.String("bundle"), command)
			},
		},
		{
			Name:         "start",
			Usage:        "run a created container's command",
			ArgsUsage:    "ID",
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				rec, err := runtimeRecordOf(ctx, 1, "start")
				if err != nil {
					return err
				}
				return startInit(rec)
			},
		},
		{
			Name:         "state",
			Usage:        "print a container's state, the runtime spec's JSON",
			ArgsUsage:    "ID",
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				rec, err := runtimeRecordOf(ctx, 1, "")
				if err != nil {
					return err
				}
				return printState(rec)
			},
		},
		{
			Name:         "kill",
			Usage:        "send a signal to a container's first process (default TERM)",
			ArgsUsage:    "ID [SIGNAL]",
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				sig := unix.SIGTERM
				if ctx.NArg() == 2 {
					var err error
					if sig, err = parseSignal(ctx.Args().Get(1)); err != nil {
						return err
					}
				}
				rec, err := runtimeRecordOf(ctx, 2, "kill")
				if err != nil {
					return err
				}
				return signalInit(rec, sig)
			},
		},
		{
			Name:         "delete",
			Usage:        "remove a created or stopped container: its cgroup and its record (--force: kill a running one first)",
			ArgsUsage:    "ID",
			Flags:        []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it runs"}},
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				command := "delete"
				if ctx.Bool("force") {
					command = "delete --force"
				}
				rec, err := runtimeRecordOf(ctx, 1, command)
				if err != nil {
					return err
				}
				return destroyRuntimeContainer(rec)
			},
		},
	},
}

// runtimeIDPattern is what a runtime's container ID may be: it names a
// directory and a cgroup, so no "/" and no leading dot. runc allows the
// same characters.
var runtimeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_+.-]{0,127}$`)

// runtimeArgs checks a verb's arguments, an ID and up to most-1 more, and
// that it runs as root; it returns the ID.
func runtimeArgs(ctx *cli.Context, most int) (string, error) {
	if ctx.NArg() < 1 || ctx.NArg() > most {
		return "", fmt.Errorf("want a container ID: try '%s runtime %s box'", programName, ctx.Command.Name)
	}
	id := ctx.Args().First()
	if !runtimeIDPattern.MatchString(id) {
		return "", fmt.Errorf("container ID %q: use letters, digits and _+.- (not first), at most 128", id)
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("runtime %s needs root: run it with sudo", ctx.Command.Name)
	}
	return id, nil
}

// runtimeRecordOf reads the record the verb's ID names, in the root of
// the runtime command, and asks the lifecycle whether command may act on
// it now ("" for a verb that only reads).
func runtimeRecordOf(ctx *cli.Context, most int, command string) (*record, error) {
	id, err := runtimeArgs(ctx, most)
	if err != nil {
		return nil, err
	}
	root := ctx.String("root")
	rec, err := readRecordIn(root, id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("container %s does not exist (in %s)", id, root)
	}
	if err != nil {
		return nil, err
	}
	if command == "" {
		return rec, nil
	}
	return rec, rec.mayAct("runtime " + command)
}

// readRecordIn reads the record of container id in the runtime's root.
func readRecordIn(root, id string) (*record, error) {
	path := filepath.Join(root, id, "state.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rec := &record{}
	if err := json.Unmarshal(data, rec); err != nil || rec.ID != id {
		return nil, fmt.Errorf("record %s is damaged: delete --force cannot read it either; kill its processes and remove its directory by hand", path)
	}
	rec.root = root
	return rec, nil
}

// readBundle reads bundle's config.json as the runtime spec, strictly: a
// field the spec's types do not know is an error, not something to skip.
// The root's path is made absolute (config.md: relative to the bundle).
func readBundle(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, "config.json")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the bundle: %w (a bundle is a directory with config.json: 'tinyrun run --dry-run' prints one)", err)
	}
	defer f.Close()
	decoder := json.NewDecoder(f)
	decoder.DisallowUnknownFields()
	var spec specs.Spec
	if err := decoder.Decode(&spec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, fmt.Errorf("%s: root.path is empty: it names the container's root directory", path)
	}
	if !filepath.IsAbs(spec.Root.Path) {
		spec.Root.Path = filepath.Join(bundle, spec.Root.Path)
	}
	if err := checkSpec(&spec); err != nil {
		return nil, err
	}
	if spec.Process.Terminal {
		return nil, fmt.Errorf("%s: process.terminal: tinyrun runtime has no --console-socket to hand the terminal over; set it to false", path)
	}
	return &spec, nil
}

// runtimeCreate makes container id of the runtime in root from bundle,
// and leaves it created: its first process waits for start. The record
// goes first, so that delete --force undoes a create cut short.
func runtimeCreate(root, id, bundle, pidFile string) (err error) {
	if bundle, err = filepath.Abs(bundle); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	spec, err := readBundle(bundle)
	if err != nil {
		return err
	}
	if spec.Linux.CgroupsPath == "" {
		spec.Linux.CgroupsPath = "/" + cgroupParent + "/" + id // runc's is /ID
	}
	self, err := thisProcess()
	if err != nil {
		return err
	}
	rec := &record{ID: id, root: root, Owner: self, Name: id, Bundle: bundle, Created: time.Now()}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", root, err)
	}
	if err := os.Mkdir(rec.dir(), 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("container %s exists already: delete it first", id)
		}
		return fmt.Errorf("create %s: %w", rec.dir(), err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, destroyRuntimeContainer(rec))
		}
	}()
	if err := rec.save(); err != nil {
		return err
	}
	// Under run's lock: the cgroup's parent is run's too.
	if err := withLock(func() error { return runtimeCgroup(rec, spec) }); err != nil {
		return err
	}
	stdio := &containerStdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, started: func(string) {}, close: func() {}}
	cmd, ch, err := startContainer(spec, rec, stdio, 0) // no death signal: it outlives create
	if err != nil {
		return err
	}
	defer ch.close()
	pid1, err := processOf(cmd.Process.Pid)
	if err != nil {
		return killAndWait(cmd, err)
	}
	if err := rec.Cgroup.join(cmd.Process.Pid); err != nil {
		return killAndWait(cmd, err)
	}
	if _, err := ch.receive(messageReady); err != nil {
		return killAndWait(cmd, err)
	}
	if err := ch.send(message{Type: messageGo}); err != nil {
		return killAndWait(cmd, err)
	}
	if _, err := ch.receive(messageCreated); err != nil {
		// init has said why on its stderr, the caller's, and exits 125
		// (or 126, 127 for a command it could not find), as in run.
		status := containerExitStatus(cmd.Wait())
		if code, _ := exitCode(status); code >= statusRuntimeError && code <= statusNotFound {
			return status
		}
		return errors.Join(err, status)
	}
	if err := rec.started(pid1); err != nil {
		return killAndWait(cmd, err)
	}
	if pidFile != "" {
		// Atomically: a caller that polls for the file never reads half of it.
		if err := writeFileAtomically(pidFile, []byte(strconv.Itoa(pid1.PID))); err != nil {
			return killAndWait(cmd, err)
		}
	}
	return cmd.Process.Release() // not waited for: it outlives create
}

// writeDefaultSpec writes bundle's config.json for a container of
// command: the spec run makes by default (newSpec), with what only a
// caller makes taken out (the network files of /etc, which run writes)
// and the root the bundle's own rootfs directory. It never overwrites one.
func writeDefaultSpec(bundle string, command []string) error {
	s := security{Seccomp: true, Capabilities: slices.Clone(defaultCapabilities)}
	slices.Sort(s.Capabilities)
	spec, err := newSpec(containerConfig{hostname: programName, command: command, security: s}, nil)
	if err != nil {
		return err
	}
	spec.Root.Path = "rootfs"
	spec.Process.Cwd = "/"      // the spec's cwd is required; run's -w is optional
	spec.Linux.CgroupsPath = "" // the runtime's default
	spec.Mounts = slices.DeleteFunc(spec.Mounts, func(m specs.Mount) bool { return m.Type == "bind" })
	for i := range spec.Linux.Namespaces {
		spec.Linux.Namespaces[i].Path = "" // run's network namespace: a new one instead
	}
	data, err := encodeSpec(spec)
	if err != nil {
		return err
	}
	path := filepath.Join(bundle, "config.json")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists already: remove it first", path)
	}
	if err != nil {
		return fmt.Errorf("write the spec: %w", err)
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}

// runtimeCgroup makes the cgroup of spec's linux.cgroupsPath for rec,
// unless a container of run has it. The caller holds run's lock.
func runtimeCgroup(rec *record, spec *specs.Spec) error {
	if _, err := os.Lstat(filepath.Join(containersDir, rec.ID)); err == nil {
		return fmt.Errorf("container ID %s is one of run's containers: choose another", rec.ID)
	}
	if matches, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", cgroupParent, rec.ID)); len(matches) > 0 {
		return fmt.Errorf("cgroup %s is in use: choose another ID", matches[0])
	}
	if fileExists(filepath.Join("/sys/fs/cgroup", cgroupParent, rec.ID)) {
		return fmt.Errorf("cgroup %s is in use: choose another ID", filepath.Join("/sys/fs/cgroup", cgroupParent, rec.ID))
	}
	return createCgroupOf(rec, spec)
}

// destroyRuntimeContainer undoes what create made for rec, whatever its
// state: its first process is killed by its pidfd, wherever it is, and
// teardown (state.go), the one undo of every record, does the rest: the
// processes left in its cgroup are killed with the cgroup, and its record
// goes last. Safe to repeat.
func destroyRuntimeContainer(rec *record) error {
	if fd, err := openProcess(rec.Init); err == nil {
		_ = sendSignal(fd, unix.SIGKILL)
		unix.Close(fd)
	}
	err := withLock(func() error {
		if err := teardown(rec); err != nil {
			return err
		}
		return removeStateDir()
	})
	if err != nil {
		return err
	}
	if rec.root == defaultRuntimeRoot {
		// The last one takes the root along, and then run's directory.
		if err := os.Remove(rec.root); err == nil {
			return withLock(removeStateDir)
		}
	}
	return nil
}

// printState prints rec's state as the runtime spec's state JSON
// (runtime.md, "State"): the PID only while the first process runs.
func printState(rec *record) error {
	state := specs.State{Version: specs.Version, ID: rec.ID, Status: specs.ContainerState(rec.status()), Bundle: rec.Bundle}
	if state.Status == specs.StateCreated || state.Status == specs.StateRunning {
		state.Pid = rec.Init.PID
	}
	data, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(data))
	return err
}

// joinNamespaces makes the calling thread, init's only one that matters
// (pid.go locks it), enter each namespace that spec gives a path for
// (setns(2)), before anything else of the container is set up: a network
// namespace the caller made and connected, say. A namespace with a path
// is not in cloneFlags: the process is not cloned into a new one. Only
// network, IPC and UTS can be joined this way (checkSpec): a PID namespace
// applies to children only, and mount namespaces are the container's own.
func joinNamespaces(spec *specs.Spec) error {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path == "" {
			continue
		}
		// unix.Open, not os.Open: no descriptor of Go's poller is left
		// open in init (a -w of /proc/self/fd/N finds none, chapter 08).
		// O_NONBLOCK: a FIFO at the path must not hang the container's
		// start; setns then refuses it.
		fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("join the %s namespace %s: %w", ns.Type, ns.Path, err)
		}
		// The flag makes setns check that fd is a namespace of this type.
		err = unix.Setns(fd, int(namespaceCloneFlags[ns.Type]))
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("join the %s namespace %s: %w (is it a %s namespace, such as /run/netns/NAME?)", ns.Type, ns.Path, err, ns.Type)
		}
	}
	return nil
}

// joinableNamespaces are the namespace types a spec may give a path for.
var joinableNamespaces = map[specs.LinuxNamespaceType]bool{specs.NetworkNamespace: true, specs.IPCNamespace: true, specs.UTSNamespace: true}
