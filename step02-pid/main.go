// Command step02-pid runs a command with a hostname of its own, as PID 1 of
// its own process tree.
//
// Map of this file (the same shape in every step):
//
//	main            builds the command line and is the only place that prints an error
//	runCommand      "run": the parent, on the host, starts the container process
//	initCommand     "init": the child, inside the new namespaces, sets them up and execs CMD
//	exitStatus      how the container's exit status travels back to main
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
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// programName names the binary in its help and at the start of its errors.
const programName = "step02-pid"

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
	Flags:        []cli.Flag{hostnameFlag},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() == 0 {
			return fmt.Errorf("no command given: try '%s run sh'", programName)
		}
		hostname := ctx.String("hostname")
		if hostname == "" {
			hostname = newContainerID()
		}
		if err := validateHostname(hostname); err != nil {
			return err
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("creating namespaces needs root: run it with sudo")
		}
		return run(hostname, ctx.Args().Slice())
	},
}

var initCommand = &cli.Command{
	Name:   "init",
	Usage:  "set up the container from the inside, then exec CMD (run starts it; do not call it yourself)",
	Hidden: true,
	Flags:  []cli.Flag{hostnameFlag},
	Action: func(ctx *cli.Context) error {
		return initContainer(ctx.String("hostname"), ctx.Args().Slice())
	},
}

func main() {
	if err := closeInheritedFiles(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", programName, err)
		os.Exit(statusRuntimeError)
	}
	app := &cli.App{
		Name:            programName,
		Usage:           "run a command with its own hostname and process IDs (UTS and PID namespaces)",
		Commands:        []*cli.Command{runCommand, initCommand},
		HideHelpCommand: true,
		OnUsageError:    usageError,
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return fmt.Errorf("unknown command %q: see '%s --help'", ctx.Args().First(), programName)
			}
			return cli.ShowAppHelp(ctx)
		},
	}
	err := app.Run(os.Args)
	var status exitStatus
	switch {
	case err == nil:
	case errors.As(err, &status):
		os.Exit(int(status))
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", programName, err)
		os.Exit(statusFor(err))
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

// run starts the container process, waits for it and returns its exit status.
// It is the parent side: everything here happens on the host.
func run(hostname string, command []string) error {
	// Caught from before the container starts (pid.go): a signal sent
	// meanwhile waits to be relayed instead of killing the runtime.
	signals := catchSignals()
	defer signal.Stop(signals)
	args := append([]string{"init", "--hostname", hostname, "--"}, command...)
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = programName // what ps shows for the container process until it execs
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// clone(2) creates the new namespaces and the child in one call; only the
	// frozen syscall package's SysProcAttr can pass these flags to os/exec.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: utsCloneFlags | pidCloneFlags,
		Setsid:     newSession,
		Pdeathsig:  containerDeathSignal,
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("start container process: %w (creating namespaces needs CAP_SYS_ADMIN: inside another container, use a VM instead)", err)
		}
		return fmt.Errorf("start container process: %w", err)
	}
	stopForwarding := forwardSignals(cmd.Process, signals)
	defer stopForwarding()
	return containerExitStatus(cmd.Wait())
}

// initContainer is the child side: it runs inside the new namespaces, as the
// container's first process, and on success never returns (it becomes CMD).
func initContainer(hostname string, command []string) error {
	if len(command) == 0 {
		return errors.New("init: no command given (init is started by run)")
	}
	if err := setHostname(hostname); err != nil {
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

// statusFor chooses the exit status for an error the runtime prints itself:
// the command's failure to start, or else the runtime's own.
func statusFor(err error) int {
	var failed commandError
	if errors.As(err, &failed) {
		return failed.status
	}
	return statusRuntimeError
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
