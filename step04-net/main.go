// Command step04-net runs a command with a hostname of its own, as PID 1 of
// its own process tree, with a root filesystem and mount table of its own,
// and a network of its own behind a bridge.
//
// Map of this file (the same shape in every step):
//
//	main            builds the command line and is the only place that prints an error
//	runCommand      "run": the parent, on the host, starts the container process
//	cleanupCommand  "cleanup": removes what a runtime killed with SIGKILL left behind
//	run             the parent's checklist: reserve, start, connect, wait, release
//	initCommand     "init": the child, inside the new namespaces, sets them up and execs CMD
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
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// programName names the binary in its help and at the start of its errors.
const programName = "step04-net"

// Exit statuses of the runtime's own failures, the ones Docker uses: the
// container's command never ran (125), was found but could not be executed
// (126), or was not found (127). Any other status is the command's own.
const (
	statusRuntimeError = 125
	statusCannotExec   = 126
	statusNotFound     = 127
)

// hostnameFlag is shared by "run" (where the user sets it) and "init" (where
// the parent passes it on to the child).
var hostnameFlag = &cli.StringFlag{
	Name:  "hostname",
	Usage: "hostname inside the container (default: a random container ID)",
}

var runCommand = &cli.Command{
	Name:         "run",
	Usage:        "run a command in a new container",
	ArgsUsage:    "CMD [ARG...]   e.g. run --hostname box hostname",
	Flags:        []cli.Flag{hostnameFlag, rootfsFlag, networkFlag, subnetFlag, publishFlag},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() == 0 {
			return fmt.Errorf("no command given: try '%s run sh'", programName)
		}
		id := newContainerID()
		hostname := ctx.String("hostname")
		if hostname == "" {
			hostname = id
		}
		if err := validateHostname(hostname); err != nil {
			return err
		}
		rootfs, err := checkRootfs(ctx.String("rootfs"))
		if err != nil {
			return err
		}
		network, err := parseNetworkOptions(ctx)
		if err != nil {
			return err
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("creating namespaces needs root: run it with sudo")
		}
		return run(containerConfig{id: id, hostname: hostname, rootfs: rootfs, network: network, command: ctx.Args().Slice()})
	},
}

var cleanupCommand = &cli.Command{
	Name:         "cleanup",
	Usage:        "remove what a runtime killed with SIGKILL left behind: addresses, port rules, the bridge",
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
			return settle(live)
		})
	},
}

var initCommand = &cli.Command{
	Name:   "init",
	Usage:  "set up the container from the inside, then exec CMD (run starts it; do not call it yourself)",
	Hidden: true,
	Flags:  []cli.Flag{hostnameFlag, rootfsFlag, networkFilesFlag},
	Action: func(ctx *cli.Context) error {
		return initContainer(ctx.String("hostname"), ctx.String("rootfs"), ctx.String("network-files"), ctx.Args().Slice())
	},
}

func main() {
	if err := closeInheritedFiles(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", programName, err)
		os.Exit(statusRuntimeError)
	}
	app := &cli.App{
		Name:            programName,
		Usage:           "run a command with its own hostname, process IDs, mounts, root filesystem and network",
		Commands:        []*cli.Command{runCommand, cleanupCommand, initCommand},
		HideHelpCommand: true,
		OnUsageError:    usageError,
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return fmt.Errorf("unknown command %q: see '%s --help'", ctx.Args().First(), programName)
			}
			return cli.ShowAppHelp(ctx)
		},
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

// containerConfig is what the user asked for, checked.
type containerConfig struct {
	id, hostname, rootfs string
	network              networkOptions
	command              []string
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
	rec, err := reserve(c)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, release(rec)) }()
	cmd, ready, err := startContainer(c, rec)
	if err != nil {
		return err
	}
	if err := connect(rec.Network, cmd.Process.Pid); err != nil {
		return killAndWait(cmd, err)
	}
	if err := signalReady(ready); err != nil {
		return killAndWait(cmd, err)
	}
	stopAfter("started")
	return wait(cmd, signals)
}

// reserve takes, under the state lock, what the container needs from the
// host before it starts: its record (state.go), then its address and ports.
// It first reclaims what runtimes killed with SIGKILL left. On error nothing
// is left behind.
func reserve(c containerConfig) (rec *record, err error) {
	err = withLock(func() error {
		live, err := reclaim()
		if err != nil {
			return err
		}
		if rec, err = newRecord(c.id); err != nil {
			return errors.Join(err, settle(live))
		}
		if err := reserveNetwork(rec, c.network, c.hostname, live); err != nil {
			return errors.Join(err, teardown(rec), settle(live))
		}
		stopAfter("network")
		return nil
	})
	return rec, err
}

// release is the end of every run that reserved: under the state lock, it
// tears down the container's record, then settles what containers share
// (the bridge goes with the last container).
func release(rec *record) error {
	return withLock(func() error {
		err := teardown(rec)
		live, reclaimErr := reclaim()
		if reclaimErr != nil {
			return errors.Join(err, reclaimErr)
		}
		return errors.Join(err, settle(live))
	})
}

// startContainer clones the container process into its new namespaces,
// where it waits (waitForNetwork) until the parent writes to ready.
func startContainer(c containerConfig, rec *record) (cmd *exec.Cmd, ready *os.File, err error) {
	networkReady, ready, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("create pipe: %w", err)
	}
	defer networkReady.Close() // the child has its own copy
	args := append([]string{"init", "--hostname", c.hostname, "--rootfs", c.rootfs, "--network-files", rec.dir(), "--"}, c.command...)
	cmd = exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = programName // what ps shows for the container process until it execs
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{networkReady} // the child's fd 3
	// clone(2) creates the new namespaces and the child in one call; only the
	// frozen syscall package's SysProcAttr can pass these flags to os/exec.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: utsCloneFlags | pidCloneFlags | mountCloneFlags | ipcCloneFlags | netCloneFlags,
		Setsid:     newSession,
		Pdeathsig:  containerDeathSignal,
	}
	if err := cmd.Start(); err != nil {
		ready.Close()
		if errors.Is(err, unix.EPERM) {
			return nil, nil, fmt.Errorf("start container process: %w (creating namespaces needs CAP_SYS_ADMIN: inside another container, use a VM instead)", err)
		}
		return nil, nil, fmt.Errorf("start container process: %w", err)
	}
	return cmd, ready, nil
}

// killAndWait kills a container whose command has not started (it still
// waits on its pipe), reaps it, and returns err, the reason.
func killAndWait(cmd *exec.Cmd, err error) error {
	_ = cmd.Process.Kill() // it may have died already: Wait reaps it either way
	_ = cmd.Wait()
	return err
}

// wait relays signals to the container until it exits, and returns how it
// ended: its exit status.
func wait(cmd *exec.Cmd, signals chan os.Signal) error {
	stopForwarding := forwardSignals(cmd.Process, signals)
	defer stopForwarding()
	return containerExitStatus(cmd.Wait())
}

// initContainer is the child side: it runs inside the new namespaces, as the
// container's first process, and on success never returns (it becomes CMD).
func initContainer(hostname, rootfs, networkFiles string, command []string) error {
	if len(command) == 0 {
		return errors.New("init: no command given (init is started by run)")
	}
	// First: nothing of the container runs before its network is ready.
	if err := waitForNetwork(); err != nil {
		return err
	}
	if err := setHostname(hostname); err != nil {
		return err
	}
	// Before execCommand, so that the command is looked up in the
	// container's filesystem, not the host's.
	if err := setupRootfs(rootfs, networkFiles); err != nil {
		return err
	}
	return execCommand(command, containerEnvironment(hostname))
}

// containerPath is the PATH a container starts with, Docker's default.
const containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// containerEnvironment is the environment the command starts with: a small
// one of the container's own, as Docker gives, never the runtime's, which
// holds whatever the shell that ran it had, secrets included. TERM only
// when there is a terminal, and then the one the user's terminal has.
func containerEnvironment(hostname string) []string {
	env := []string{"PATH=" + containerPath, "HOSTNAME=" + hostname, "HOME=/root"}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		term := os.Getenv("TERM")
		if term == "" {
			term = "xterm"
		}
		env = append(env, "TERM="+term)
	}
	return env
}

// execCommand replaces this process with the user's command, looked up in
// the container's PATH, in the environment env. Returns only on failure,
// with a commandError.
func execCommand(command []string, env []string) error {
	// exec.LookPath searches the PATH of this process: the container's.
	if err := os.Setenv("PATH", containerPath); err != nil {
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
	status := exitErr.Sys().(syscall.WaitStatus)
	if status.Signaled() {
		return exitStatus(128 + int(status.Signal()))
	}
	return exitStatus(status.ExitStatus())
}

// exitCode is the one path from how run ended to the status main exits
// with and the line it prints ("" for none):
//
//   - the container's exit status (exitStatus), alone: that status, and
//     nothing printed, so the container's output is all the user sees
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
	if status, ok := leaves[0].(exitStatus); ok && len(leaves) == 1 {
		return int(status), ""
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
