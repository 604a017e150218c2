// Command tinyrun is a container runtime: the six primitives of the steps
// before it (a hostname, process IDs, mounts, a network, limits and a
// copy-on-write layer over an image, each of its own), and the commands that
// make containers something to live with: detached containers and their
// logs, ps, exec, stop, kill, rm and commit.
//
// Map of this file (the same shape in every step):
//
//	main            builds the command line and is the only place that prints an error
//	runCommand      "run": the parent, on the host, starts the container process;
//	                with -d, a monitor does (monitor.go)
//	importCommand   "import", "images", "rmi": the image store (overlay.go)
//	cleanupCommand  "cleanup": removes what a runtime killed with SIGKILL left behind
//	run             the parent's checklist: reserve, start, connect, wait, release
//
// The other commands each have a file: container.go (ps, logs, stop, kill,
// rm), exec.go (exec), commit.go (commit). What run makes a container from
// is one OCI runtime spec (spec.go), which init receives over a channel
// (channel.go), and nothing else.
//
// The files by role, as Docker, containerd-shim and runc split them (run
// stays here, the checklist every step's chapter grows, and plays the
// caller and the runtime in one process; tinyrun runtime plays the runtime
// alone):
//
//	caller   main.go (run, reserve, release), spec.go (flags -> spec),
//	         overlay.go (images, the rootfs), net.go, firewall.go,
//	         networks.go (the network namespace, veth, rules), container.go,
//	         commit.go with freezer.go, state.go (the records)
//	shim     monitor.go (tinyrun monitor ID), waiter.go, terminal.go
//	runtime  runtime.go (one function per verb), status.go (states, what
//	         each command may do), start.go (create, start), channel.go,
//	         cgroups.go, exec.go with nsenter.go
//	init     main.go (initContainer), uts.go, pid.go, mount.go, ipc.go,
//	         security.go, seccomp*.go
//
//	initCommand     "init": the child, inside the new namespaces, sets them up
//	                from the spec and execs its command
//	exitCode        how the way run ended becomes the status main exits with
//
// The parent cannot set up a namespace it is not in, and a Go program cannot
// fork without exec (the runtime's threads do not survive fork), so the parent
// starts this same binary again, /proc/self/exe, with the hidden "init" command,
// inside the new namespaces. That child finishes the setup from the inside and
// then replaces itself with the user's command (execve(2)), which so inherits
// the namespaces. runc starts its containers the same way ("runc init").
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// programName names the binary in its help and at the start of its errors.
const programName = "tinyrun"

// Exit statuses of the runtime's own failures, the ones Docker uses: the
// container's command never ran (125), was found but could not be executed
// (126), or was not found (127). Any other status is the command's own.
const (
	statusRuntimeError = 125
	statusCannotExec   = 126
	statusNotFound     = 127
)

// hostnameFlag is run's; the spec carries the hostname to init.
var hostnameFlag = &cli.StringFlag{
	Name:  "hostname",
	Usage: "hostname inside the container (default: a random container ID)",
}

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "run a command in a new container",
	ArgsUsage: "IMAGE CMD [ARG...]   e.g. run --hostname box busybox hostname",
	Flags: []cli.Flag{detachFlag, interactiveFlag, ttyFlag, removeFlag, nameFlag, envFlag, workdirFlag, monitorFlag,
		hostnameFlag, volumeFlag, networkFlag, subnetFlag, publishFlag, memoryFlag, cpusFlag, pidsLimitFlag, cpusetFlag,
		userFlag, capAddFlag, capDropFlag, privilegedFlag, securityOptFlag, dryRunFlag, createOnlyFlag},
	OnUsageError: usageError,
	Action:       func(ctx *cli.Context) error { return runAction(ctx, false) },
}

// runAction is run's, and create's with create set: the container is made,
// and its command waits for start (start.go).
func runAction(ctx *cli.Context, create bool) error {
	id := ctx.String("monitor") // a monitor runs the container run -d named (monitor.go)
	if id != "" && !containerIDPattern.MatchString(id) {
		return fmt.Errorf("--monitor %q: not a container ID (run -d starts the monitor; do not call it yourself)", id)
	}
	if ctx.NArg() < 2 {
		return fmt.Errorf("want an image and a command: try '%s %s busybox sh'", programName, ctx.Command.Name)
	}
	if id == "" {
		id = newContainerID()
	}
	options, err := parseContainerOptions(ctx, id)
	if err != nil {
		return err
	}
	if create || ctx.Bool("create-only") {
		if options.tty {
			return errors.New("-t with create: nobody would be at its terminal (tinyrun has no attach); leave out -t")
		}
		options.detach, options.createOnly = true, true
	}
	hostname := ctx.String("hostname")
	if hostname == "" {
		hostname = id
	}
	if err := validateHostname(hostname); err != nil {
		return err
	}
	volumes, err := parseVolumes(ctx.StringSlice("volume"))
	if err != nil {
		return err
	}
	network, err := parseNetworkOptions(ctx)
	if err != nil {
		return err
	}
	limits, err := parseLimits(ctx)
	if err != nil {
		return err
	}
	security, err := parseSecurity(ctx)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("creating namespaces needs root: run it with sudo")
	}
	c := containerConfig{id: id, hostname: hostname, image: ctx.Args().First(), volumes: volumes,
		network: network, limits: limits, command: ctx.Args().Tail(), containerOptions: options, security: security}
	if ctx.Bool("dry-run") {
		return printSpec(c)
	}
	if c.detach && !c.monitor {
		return startMonitor(c)
	}
	return run(c)
}

var importCommand = &cli.Command{
	Name:         "import",
	Usage:        "make an image from a root filesystem tarball (docker export, a distribution's minirootfs)",
	ArgsUsage:    "TARBALL NAME   e.g. import rootfs.tar busybox",
	Flags:        []cli.Flag{&cli.StringFlag{Name: "base", Usage: "an image to put the new layer on top of"}},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() != 2 {
			return fmt.Errorf("want a tarball and a name: try '%s import rootfs.tar busybox'", programName)
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("importing an image needs root (it keeps files' owners): run it with sudo")
		}
		return importImage(ctx.Args().Get(0), ctx.Args().Get(1), ctx.String("base"), os.Stderr)
	},
}

var imagesCommand = &cli.Command{
	Name:         "images",
	Usage:        "list the images, with their layers (base first)",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		images, err := listImages()
		if err != nil {
			return err
		}
		for _, img := range images {
			fmt.Printf("%s\t%s\n", img.Name, strings.Join(img.Layers, " "))
		}
		return nil
	},
}

var rmiCommand = &cli.Command{
	Name:         "rmi",
	Usage:        "remove an image, and its layers that no other image uses",
	ArgsUsage:    "NAME",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() != 1 {
			return fmt.Errorf("want one image name: try '%s rmi busybox'", programName)
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("removing an image needs root: run it with sudo")
		}
		return removeImage(ctx.Args().First())
	},
}

var cleanupCommand = &cli.Command{
	Name:         "cleanup",
	Usage:        "remove what a runtime killed with SIGKILL left behind: layers, cgroups, addresses, port rules, the bridge, half-imported images, and the layers a reboot left without a record",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if os.Geteuid() != 0 {
			return fmt.Errorf("cleaning up needs root: run it with sudo")
		}
		return withLock(func() error {
			live, err := reclaim()
			if err != nil {
				return err
			}
			err = errors.Join(reclaimImports(), settle(live))
			for _, rec := range live {
				if rec.Damaged { // readRecord says what to do
					_, damaged := readRecord(rec.ID)
					err = errors.Join(err, damaged)
				}
				err = errors.Join(err, rec.unreclaimed) // kept, to be tried again
			}
			return err
		})
	},
}

var initCommand = &cli.Command{
	Name:   "init",
	Usage:  "set up the container from the inside, from the spec on fd 3, then exec its command (run starts it; do not call it yourself)",
	Hidden: true,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return errors.New("init takes no arguments: run starts it, and sends it the spec")
		}
		ch := initChannel()
		err := initContainer(ch)
		// Only on failure: on success, the command's execve closed the channel.
		return errors.Join(err, ch.send(message{Type: messageError, Error: err.Error()}))
	},
}

func main() {
	if err := closeInheritedFiles(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", programName, err)
		os.Exit(statusRuntimeError)
	}
	app := &cli.App{
		Name:  programName,
		Usage: "run containers of images, and look after them: a small runtime to read and compare with Docker's",
		Commands: []*cli.Command{runCommand, createCommand, startCommand, psCommand, logsCommand, execIntoCommand, stopCommand, killCommand, rmCommand,
			commitCommand, importCommand, imagesCommand, rmiCommand, networkCommand, cleanupCommand, runtimeCommand, initCommand, joinedCommand, monitorCommand},
		HideHelpCommand: true,
		OnUsageError:    usageError,
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return fmt.Errorf("unknown command %q: see '%s --help'", ctx.Args().First(), programName)
			}
			return cli.ShowAppHelp(ctx)
		},
	}
	for _, c := range app.Commands {
		c.UseShortOptionHandling = true // -it is -i -t, -aq is -a -q, as in Docker
	}
	if err := app.Run(os.Args); err != nil {
		status, message := exitCode(err)
		if message != "" {
			fmt.Fprintf(os.Stderr, "%s: %s\n", programName, message)
		}
		os.Exit(status)
	}
}

// closeInheritedFiles marks every descriptor above stderr close-on-exec, so
// that none this process was handed reaches the container. Go opens its own
// files with O_CLOEXEC, but cannot know of those it inherited (a shell's
// "exec 5</", a CI job's pipe): they would cross every execve(2) into the
// container, where an open directory of the host is a way out of any root
// (the class of CVE-2024-21626). close_range(2) needs Linux 5.11; before,
// each descriptor in /proc/self/fd is marked in turn. The descriptors a
// runtime passes on on purpose (ExtraFiles) are dup2(2)'d, which clears the
// flag: they still reach the child.
func closeInheritedFiles() error {
	err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil || !(errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL)) {
		if err != nil {
			return fmt.Errorf("close_range: %w", err)
		}
		return nil
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list inherited descriptors: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// containerConfig is what the user asked for, checked: the one value that
// the flags fill, and that an OCI bundle's config.json could fill as well.
type containerConfig struct {
	id, hostname, image string
	volumes             []volume
	network             networkOptions
	limits              limits
	command             []string
	containerOptions             // container.go: -d, -i, -t, --rm, --name, -e, -w
	security            security // security.go: -u, --cap-add, --cap-drop, --privileged, --security-opt
}

// run is the parent side: everything here happens on the host. It is the
// checklist of a container's life, each step's undo deferred right after it,
// and returns the container's exit status.
func run(c containerConfig) (err error) {
	// One channel catches the signals for the whole run (pid.go): until the
	// container runs, and while it is taken down, they wait there instead of
	// killing the runtime half-way through changing the host.
	signals := catchSignals()
	defer signal.Stop(signals)
	if c.monitor {
		if err := becomeSubreaper(); err != nil { // monitor.go
			return err
		}
	}
	rec, spec, err := reserve(c)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, release(rec, err)) }()
	stdio, err := openStdio(c.containerOptions, rec) // the user's, a terminal (terminal.go), or the log (monitor.go)
	if err != nil {
		return err
	}
	defer stdio.close()
	cmd, ch, err := startContainer(spec, rec, stdio, containerDeathSignal)
	if err != nil {
		return err
	}
	defer ch.close()
	// Until its command runs, a signal aborts the start (start.go): init
	// is killed, and whatever run was waiting for fails.
	stopAborting, aborted := abortOnSignal(signals, cmd.Process)
	defer func() { // after stopAborting, below: no signal comes between
		if sig, ok := aborted().(syscall.Signal); ok && err != nil {
			err = fmt.Errorf("the start was interrupted by %s: the container is removed", unix.SignalName(sig))
		}
	}()
	defer stopAborting()
	stopAfter("init")
	pid1, err := processOf(cmd.Process.Pid) // read while it waits: it is this one
	if err != nil {
		return killAndWait(cmd, err)
	}
	if err := joinMonitorCgroup(rec); err != nil { // run -d's monitor, into its own
		return killAndWait(cmd, err)
	}
	if err := rec.Cgroup.join(cmd.Process.Pid); err != nil {
		return killAndWait(cmd, err)
	}
	if err := connect(rec.Network, rec.Netns); err != nil {
		return killAndWait(cmd, err)
	}
	// Only now: the cgroup and the network were made while init's Go
	// runtime started, which is most of the wait.
	if _, err := ch.receive(messageReady); err != nil {
		return killAndWait(cmd, err)
	}
	// The container's mount namespace holds a copy of the overlay, now
	// private: the host's is not needed any more (overlay.go).
	if err := rec.Layer.unmountFromHost(); err != nil {
		return killAndWait(cmd, err)
	}
	// run opens the FIFO before init gets there: init's open then returns
	// at once, and it goes on to its command without waiting (start.go).
	early := -1
	if !c.createOnly {
		if early, err = openStart(rec); err != nil {
			return killAndWait(cmd, err)
		}
		defer unix.Close(early)
	}
	if err := ch.send(message{Type: messageGo}); err != nil {
		return killAndWait(cmd, err)
	}
	// init sets the container up, and says "created" just before its
	// execve, where it waits for start (start.go); or why it could not.
	_, notCreated := ch.receive(messageCreated)
	if c.createOnly || notCreated != nil {
		stopAborting() // made, or failed: what comes now is no start to give up
	}
	if aborted() != nil {
		return killAndWait(cmd, errors.New("aborted")) // said by the defer above
	}
	// Only now may exec, stop and kill find it: before, its mount
	// namespace was still rooted in the host's / (container.go).
	if err := rec.started(pid1); err != nil {
		return killAndWait(cmd, err)
	}
	failed := ""
	switch {
	case notCreated != nil:
		failed = notCreated.Error() // init exits, with 126 or 127 for a command it could not find
	case c.createOnly:
		stdio.started("") // create returns; start runs the command
		failed = commandStarted(ch)
	default:
		if err := awaitStart(rec, early); err != nil { // start.go
			return killAndWait(cmd, err)
		}
		failed = commandStarted(ch)
	}
	stopAborting() // from here on, a signal is the command's (wait)
	if aborted() != nil {
		// Killed between created and its command (or just after its
		// execve): a start given up, of which nothing is kept.
		rec.Remove = true
		return killAndWait(cmd, errors.New("aborted"))
	}
	stopAfter("started")
	if !c.createOnly || notCreated != nil {
		stdio.started(failed) // run -d returns; a terminal starts relaying
	}
	if c.monitor {
		// A monitor waits as a small C program, which release runs after
		// (monitor.go, waiter.go): with cgo, this returns only if it could
		// not become one.
		return waitAsMonitor(cmd, rec, c.limits, signals)
	}
	return wait(cmd, signals, rec.Cgroup, c.limits)
}

// reserve takes, under the state lock, what the container needs from the
// host before it starts: its record (state.go), then its address and ports,
// then its layer over its image, which is looked up here, under the lock,
// so that rmi cannot remove it meanwhile, and mounted: the bundle's root.
// Then it makes the container's spec (spec.go) and writes the bundle's
// config.json, and makes the cgroup the spec describes, with its limits,
// ready for the process that goes in.
// It first reclaims what runtimes killed with SIGKILL left. On error nothing
// is left behind.
func reserve(c containerConfig) (rec *record, spec *specs.Spec, err error) {
	err = withLock(func() error {
		live, err := reclaim()
		if err != nil {
			return err
		}
		if err := checkNameFree(c.name, live); err != nil {
			return errors.Join(err, settle(live))
		}
		if rec, err = newRecord(c); err != nil {
			return errors.Join(err, settle(live))
		}
		if err := reserveNetwork(rec, c.network, c.hostname, live); err != nil {
			return errors.Join(err, teardown(rec), settle(live))
		}
		// The container's network namespace, which init joins by path
		// (net.go): recorded first, so that teardown finds it.
		rec.Netns = filepath.Join(rec.dir(), netnsFileName)
		if err := rec.save(); err != nil {
			return errors.Join(err, teardown(rec), settle(live))
		}
		if err := makeNetworkNamespace(rec.Netns); err != nil {
			return errors.Join(err, teardown(rec), settle(live))
		}
		stopAfter("network")
		if err := prepareLayers(rec, c.image); err != nil {
			return errors.Join(err, teardown(rec), settle(live))
		}
		stopAfter("layers")
		if spec, err = newSpec(c, strings.Split(rec.Layer.Lower, ":")); err != nil {
			return errors.Join(err, teardown(rec), settle(live))
		}
		if err := writeBundle(rec, spec); err != nil {
			return errors.Join(err, teardown(rec), settle(live))
		}
		if err := createCgroupOf(rec, spec); err != nil {
			return errors.Join(err, teardown(rec), settle(live))
		}
		if c.monitor {
			if err := makeMonitorCgroup(rec); err != nil { // monitor.go
				return errors.Join(err, teardown(rec), settle(live))
			}
		}
		stopAfter("cgroup")
		return nil
	})
	return rec, spec, err
}

// createCgroupOf makes the cgroup that spec's linux.cgroupsPath names,
// with the limits of its linux.resources.
func createCgroupOf(rec *record, spec *specs.Spec) error {
	if want := "/" + cgroupParent + "/" + rec.ID; spec.Linux.CgroupsPath != want {
		return fmt.Errorf("config.json: linux.cgroupsPath %q: tinyrun makes a container's cgroup at %s", spec.Linux.CgroupsPath, want)
	}
	l, err := limitsOf(spec.Linux.Resources)
	if err != nil {
		return err
	}
	return createCgroup(rec, l)
}

// printSpec prints, for run --dry-run, the spec that run would make
// container c from; it makes nothing. The image is looked up under the
// lock, as reserve does.
func printSpec(c containerConfig) error {
	var spec *specs.Spec
	err := withStoreLock(func() error {
		img, err := findImage(c.image)
		if err != nil {
			return err
		}
		var lower []string
		for i := len(img.Layers) - 1; i >= 0; i-- {
			lower = append(lower, filepath.Join(layersDir, img.Layers[i]))
		}
		spec, err = newSpec(c, lower)
		return err
	})
	if err != nil {
		return err
	}
	data, err := encodeSpec(spec)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(data)
	return err
}

// release is the end of every run that reserved: under the state lock, it
// ends the container's record with how run ended (ended): what the
// container held while it ran is given back, and with --rm the rest too;
// then it settles what containers share (the bridge goes with the last
// container).
func release(rec *record, how error) error {
	code, reason := 0, ""
	if how != nil {
		code, reason = exitCode(how)
	}
	return withLock(func() error {
		err := rec.ended(code, reason)
		live, reclaimErr := reclaim()
		if reclaimErr != nil {
			return errors.Join(err, reclaimErr)
		}
		return errors.Join(err, settle(live))
	})
}

// startContainer clones the container process into the new namespaces
// that spec names, and sends it the spec; it then says "ready", and waits
// for "go" on the channel (channel.go). The kernel sends it deathSignal
// if this process dies first (pid.go); 0 for none.
func startContainer(spec *specs.Spec, rec *record, stdio *containerStdio, deathSignal unix.Signal) (cmd *exec.Cmd, ch *channel, err error) {
	binary, err := readOnlyBinary() // security.go
	if err != nil {
		return nil, nil, err
	}
	defer binary.Close() // the child has its own copy
	ch, child, err := newChannel()
	if err != nil {
		return nil, nil, err
	}
	defer child.Close()
	fifo, err := makeExecFifo(rec) // start.go
	if err != nil {
		ch.close()
		return nil, nil, err
	}
	defer fifo.Close()
	// The child executes the read-only binary, its fd 4 (readOnlyBinary).
	cmd = exec.Command("/proc/self/fd/4", "init")
	cmd.Args[0] = programName // what ps shows for the container process until it execs
	cmd.Env = []string{}      // none of the runtime's: the spec says the command's
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.in, stdio.out, stdio.err
	cmd.ExtraFiles = []*os.File{child, binary, fifo} // the child's fds 3, 4 and 5
	// clone(2) creates the new namespaces and the child in one call; only the
	// frozen syscall package's SysProcAttr can pass these flags to os/exec.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: cloneFlags(spec),
		Setsid:     newSession,
		Setctty:    stdio.terminal, // the terminal, stdin, becomes the container's controlling terminal
		Pdeathsig:  deathSignal,
	}
	rec.Cgroup.startInside(cmd.SysProcAttr)
	err = cmd.Start()
	if err != nil && cmd.SysProcAttr.UseCgroupFD {
		// clone3(2) with CLONE_INTO_CGROUP needs Linux 5.7: start the child
		// outside instead, and let join move it in while it waits.
		cmd.SysProcAttr.UseCgroupFD = false
		err = cmd.Start()
	}
	if err != nil {
		ch.close()
		if errors.Is(err, unix.EPERM) {
			return nil, nil, fmt.Errorf("start container process: %w (creating namespaces needs CAP_SYS_ADMIN: inside another container, use a VM instead)", err)
		}
		return nil, nil, fmt.Errorf("start container process: %w", err)
	}
	if err := ch.send(message{Type: messageSpec, Spec: spec}); err != nil {
		ch.close()
		return nil, nil, killAndWait(cmd, err)
	}
	return cmd, ch, nil
}

// killAndWait kills the container's PID 1 (which still waits on its channel,
// unless the monitor's waiter could not be exec'd), reaps it, and returns
// err, the reason.
func killAndWait(cmd *exec.Cmd, err error) error {
	_ = cmd.Process.Kill() // it may have died already: Wait reaps it either way
	_ = cmd.Wait()
	return err
}

// wait relays signals to the container until it exits, and returns how it
// ended: its exit status, with the reason when the OOM killer killed it.
func wait(cmd *exec.Cmd, signals chan os.Signal, cg *cgroup, l limits) error {
	stopForwarding := forwardSignals(cmd.Process, signals)
	defer stopForwarding()
	return explainExit(containerExitStatus(cmd.Wait()), cg, l.memoryString())
}

// explainExit returns how the container ended: its exit status, with the
// reason when the OOM killer killed it (memory names the limit).
func explainExit(status error, cg *cgroup, memory string) error {
	// Killed (128+SIGKILL), and the OOM killer did kill in its cgroup.
	if status == exitStatus(128+9) && cg.oomKilled() {
		return fmt.Errorf("container was killed: out of memory %s: %w", memory, status)
	}
	return status
}

// initContainer is the child side: it runs inside the new namespaces, as the
// container's first process, and on success never returns (it becomes the
// command). Everything it does, the spec it receives on ch says.
func initContainer(ch *channel) error {
	m, err := ch.receive(messageSpec)
	if err != nil {
		return err
	}
	spec := m.Spec
	if err := checkSpec(spec); err != nil {
		return err
	}
	// First: the namespaces given by path, which the rest is set up in.
	if err := joinNamespaces(spec); err != nil { // runtime.go
		return err
	}
	// Every mount from here on changes the mount namespace this process
	// is in, which must be the container's own. In the host's, pivot_root
	// would move every process of the machine into the rootfs.
	if err := checkOwnMountNamespace(); err != nil {
		return err
	}
	if err := makeMountsPrivate(); err != nil {
		return err
	}
	if err := ch.send(message{Type: messageReady}); err != nil {
		return err
	}
	// Then: nothing of the container runs before its network is ready.
	if _, err := ch.receive(messageGo); err != nil {
		return err
	}
	if err := setHostname(spec.Hostname); err != nil {
		return err
	}
	// Before execCommand, so that the command is looked up in the
	// container's filesystem, not the host's.
	if err := setupRootfs(spec); err != nil {
		return err
	}
	// The last mounts: over /proc's files that show or change the host.
	if err := maskPaths(spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths); err != nil {
		return err
	}
	// After pivot_root: the directory is looked up in the container.
	if err := enterWorkdir(spec.Process.Cwd); err != nil {
		return err
	}
	return execCommand(spec.Process.Args, spec.Process.Env, func() error {
		if err := confine(spec.Process, spec.Linux.Seccomp); err != nil {
			return err
		}
		// confine's change of user cleared the parent-death signal for a
		// moment (security.go): a runtime that died then sent nothing, and
		// this process must not run the command without it.
		if err := ch.checkPeer(); err != nil {
			return err
		}
		if err := ch.send(message{Type: messageCreated}); err != nil {
			return err
		}
		return waitForStart() // start.go
	})
}

// containerPath is the PATH a container starts with, Docker's default.
const containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// execCommand replaces this process with the user's command, looked up in
// the PATH of env, the command's environment, after confine (security.go)
// has taken away what the command must not have: the last thing before
// execve(2). Returns only on failure, with a commandError.
func execCommand(command []string, env []string, confine func() error) error {
	// exec.LookPath searches the PATH of this process: make it the command's.
	path := containerPath
	for _, e := range env {
		if value, ok := strings.CutPrefix(e, "PATH="); ok {
			path = value
		}
	}
	if err := os.Setenv("PATH", path); err != nil {
		return fmt.Errorf("set PATH: %w", err)
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		// LookPath's own message repeats the name; keep only its cause:
		// exec.ErrNotFound, or fs.ErrPermission for a file that is not
		// executable.
		var lookErr *exec.Error
		if errors.As(err, &lookErr) {
			err = lookErr.Err
		}
		// ErrNotFound: not in PATH; ErrNotExist: a path to nothing.
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return commandError{statusNotFound, fmt.Errorf("command %q: %w", command[0], err)}
		}
		return commandError{statusCannotExec, fmt.Errorf("command %q: %w", command[0], err)}
	}
	if err := confine(); err != nil {
		return err
	}
	err = unix.Exec(path, command, env)
	if errors.Is(err, unix.ENOENT) {
		// LookPath found the file, so what is missing is the program that
		// runs it: its #! interpreter or its dynamic loader (man 2 execve).
		return commandError{statusNotFound, fmt.Errorf("exec %s: %w: its #! interpreter or its dynamic loader is missing", path, err)}
	}
	return commandError{statusCannotExec, fmt.Errorf("exec %s: %w", path, err)}
}

// commandError is a failure to start the container's command: status is
// what a shell would exit with, 127 for not found, 126 for found but not
// runnable.
type commandError struct {
	status int
	err    error
}

func (e commandError) Error() string { return e.err.Error() }
func (e commandError) Unwrap() error { return e.err }

// exitStatus is an error that carries only an exit status: main exits with it
// and prints nothing, so the container's output is all the user sees.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// containerExitStatus turns what cmd.Wait returned into the status run exits
// with: the container's own, or 128+N when signal N killed it, the way a
// shell reports a killed command (man 1 bash, "EXIT STATUS").
func containerExitStatus(waitErr error) error {
	if waitErr == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if !errors.As(waitErr, &exitErr) {
		return fmt.Errorf("wait for container process: %w", waitErr)
	}
	return waitStatusError(exitErr.Sys().(syscall.WaitStatus))
}

// waitStatusError is how a process that status (wait(2)) describes ended,
// as the error run returns: nil for 0, else its exitStatus.
func waitStatusError(status syscall.WaitStatus) error {
	if status.Signaled() {
		return exitStatus(128 + int(status.Signal()))
	}
	if status.ExitStatus() == 0 {
		return nil
	}
	return exitStatus(status.ExitStatus())
}

// exitCode is the one path from how run ended to the status main exits
// with and the line it prints ("" for none):
//
//   - the container's exit status (exitStatus), alone: that status, and
//     nothing printed, so the container's output is all the user sees;
//     with a reason around it (an OOM kill), the reason is printed
//   - the command could not be started (commandError): 126 or 127
//   - anything else, even beside the container's status (a teardown that
//     failed, say): the runtime's own failure, 125, whatever the container's
//     status was, with every message on one line
func exitCode(err error) (int, string) {
	var leaves []error
	var collect func(error)
	collect = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				collect(e)
			}
			return
		}
		leaves = append(leaves, err)
	}
	collect(err)
	var failed commandError
	var status exitStatus
	if len(leaves) == 1 && errors.As(leaves[0], &status) {
		if leaves[0] == error(status) {
			return int(status), ""
		}
		return int(status), leaves[0].Error()
	}
	if len(leaves) == 1 && errors.As(leaves[0], &failed) {
		return failed.status, failed.Error()
	}
	var messages []string
	for _, e := range leaves {
		if _, ok := e.(exitStatus); !ok {
			messages = append(messages, strings.ReplaceAll(e.Error(), "\n", "; "))
		}
	}
	return statusRuntimeError, strings.Join(messages, "; ")
}

// usageError turns urfave/cli's usage errors (an unknown flag, a malformed
// value) into one line that says where to look, instead of the whole help.
func usageError(ctx *cli.Context, err error, _ bool) error {
	return fmt.Errorf("%v: see '%s --help'", err, ctx.Command.HelpName)
}

// containerIDPattern is what newContainerID makes.
var containerIDPattern = regexp.MustCompile(`^[0-9a-f]{12}$`)

// newContainerID returns 12 random hex digits, which name the container
// (and are its default hostname), as Docker's short container IDs do.
func newContainerID() string {
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		// crypto/rand does not fail on Linux 3.17+ (getrandom(2)); a fixed
		// name is still a working hostname if it ever does.
		return "container"
	}
	return hex.EncodeToString(id)
}
