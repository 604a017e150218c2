// exec: run another command in a running container.
//
// A new process is put where the container's PID 1 is: in its mount, UTS,
// IPC, network and PID namespaces (the C constructor of nsenter.go joins
// them, before Go starts), and in its cgroup (written here, before the join,
// so the limits hold from the first instruction). It then does what init
// did last, without the rest: enter the working directory, confine itself
// as the container's PID 1 was (security.go), exec the command in the
// container's environment.
//
//	exec (host)       open a pidfd of the container's PID 1, and its root;
//	                  start this binary, read-only (fd 6), as "tinyrun
//	                  joined", a pipe as fd 3, the pidfd as fd 4,
//	                  the root as fd 5; put it in the cgroup; write a byte
//	                  to fd 3, then the request (execRequest) as JSON
//	C constructor     read the byte; setns(pidfd), chroot(root), fork, wait;
//	                  relay signals; exit as it did
//	joined (inside)   read the request from fd 3; chdir -w, confine
//	                  (security.go), exec CMD
//
// The request crosses the pipe, not the command line: the C parent waits
// as long as the command runs, and its /proc/PID/cmdline can be read by
// every user of the host; -e values are often secrets.
//
// Read: man 2 setns, man 7 namespaces, man 7 cgroups ("cgroup.procs").
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var execIntoCommand = &cli.Command{
	Name:         "exec",
	Usage:        "run a command in a running container: in its namespaces and its cgroup",
	ArgsUsage:    "CONTAINER CMD [ARG...]   e.g. exec -it web sh",
	Flags:        []cli.Flag{interactiveFlag, ttyFlag, envFlag, workdirFlag, userFlag},
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() < 2 {
			return fmt.Errorf("want a container and a command: try '%s exec web ps'", programName)
		}
		o, err := parseContainerOptions(ctx, "exec")
		if err != nil {
			return err
		}
		rec, err := findContainer(ctx.Args().First())
		if err != nil {
			return err
		}
		if !ctx.IsSet("workdir") && rec.Workdir != "" {
			o.workdir = rec.Workdir // the container's, as in Docker
		}
		security := rec.Security // the container's defences, with exec's own -u
		if ctx.IsSet("user") {
			if err := checkUser(ctx.String("user")); err != nil {
				return err
			}
			security.User = ctx.String("user")
		}
		if os.Geteuid() != 0 {
			return errors.New("entering namespaces needs root: run it with sudo")
		}
		if execNeedsCgo != nil {
			return execNeedsCgo
		}
		return execInContainer(rec, o, security, ctx.Args().Tail())
	},
}

// execRequest is what exec asks of its joined process: the command, the
// variables of the container's run and of exec's own -e, the directory,
// and the container's defences with exec's -u.
type execRequest struct {
	Command  []string `json:"command"`
	Env      []string `json:"env"`
	Workdir  string   `json:"workdir"`
	Terminal bool     `json:"terminal"`
	Term     string   `json:"term,omitempty"`
	Security security `json:"security"`
}

// joinedCommand is what runs inside the container once the C constructor
// has joined it: the last steps of init, then the command.
var joinedCommand = &cli.Command{
	Name:   "joined",
	Usage:  "exec a command in the container joined, as fd 3 asks (exec starts it; do not call it yourself)",
	Hidden: true,
	Action: func(ctx *cli.Context) error {
		if !joinedByConstructor() {
			return errors.New("joined: not inside a container (exec starts it)")
		}
		pipe := os.NewFile(3, "request")
		var r execRequest
		err := json.NewDecoder(pipe).Decode(&r)
		pipe.Close()
		if err != nil {
			return fmt.Errorf("joined: read the request: %w", err)
		}
		hostname, err := os.Hostname() // the container's: its UTS namespace is joined
		if err != nil {
			return fmt.Errorf("read hostname: %w", err)
		}
		if err := enterWorkdir(r.Workdir); err != nil {
			return err
		}
		user, err := lookupUser(os.Open, r.Security.User) // in the container's /etc: its root is joined
		if err != nil {
			return err
		}
		// The environment a container's command starts with (newSpec, spec.go).
		env := []string{"PATH=" + containerPath, "HOSTNAME=" + hostname, "HOME=" + user.home}
		if r.Terminal {
			env = append(env, "TERM="+r.Term)
		}
		p := &specs.Process{
			User:            specs.User{UID: uint32(user.uid), GID: uint32(user.gid), AdditionalGids: user.groups},
			Capabilities:    capabilitiesOf(r.Security, user.uid == 0),
			NoNewPrivileges: r.Security.NoNewPrivileges,
		}
		return execCommand(r.Command, withEnv(env, r.Env), func() error { return confine(p, seccompOf(r.Security)) })
	},
}

// execInContainer runs command in rec's running container, with o's
// stdio, -e and -w, confined by s, and returns its exit status.
func execInContainer(rec *record, o containerOptions, s security, command []string) error {
	signals := catchSignals()
	defer signal.Stop(signals)
	if err := rec.mayAct("exec"); err != nil {
		return err
	}
	pidfd, err := openProcess(rec.Init)
	if err != nil {
		return fmt.Errorf("container %s: %w", rec.Name, err)
	}
	initHandle := os.NewFile(uintptr(pidfd), "pidfd")
	defer initHandle.Close()
	root, err := os.Open(fmt.Sprintf("/proc/%d/root", rec.Init.PID))
	if err != nil {
		return fmt.Errorf("open the root of container %s: %w", rec.Name, err)
	}
	defer root.Close()
	// Opened after the pidfd: still alive, PID 1 is the one the pidfd holds.
	if !rec.Init.alive() {
		return fmt.Errorf("container %s is not running: exec needs a running one (start one with run)", rec.Name)
	}
	stdio, err := openStdio(o, rec)
	if err != nil {
		return err
	}
	defer stdio.close()
	cmd, goAhead, err := startJoining(rec, o, s, command, initHandle, root, stdio)
	if err != nil {
		return err
	}
	if rec.Cgroup != nil {
		if err := rec.Cgroup.join(cmd.Process.Pid); err != nil {
			goAhead.Close()
			return killAndWait(cmd, err)
		}
	}
	request, err := json.Marshal(execRequest{Command: command, Env: append(append([]string{}, rec.Env...), o.env...),
		Workdir: o.workdir, Terminal: o.tty, Term: terminalType(), Security: s})
	if err == nil {
		_, err = goAhead.Write(append([]byte{0}, request...))
	}
	goAhead.Close()
	if err != nil {
		return killAndWait(cmd, fmt.Errorf("let the exec'd process go on: %w", err))
	}
	stdio.started("")
	stopForwarding := forwardSignals(cmd.Process, signals)
	defer stopForwarding()
	return containerExitStatus(cmd.Wait())
}

// startJoining starts the process that joins the container (nsenter.go),
// which waits until a byte and the request are written to goAhead.
func startJoining(rec *record, o containerOptions, s security, command []string, initHandle, root *os.File, stdio *containerStdio) (cmd *exec.Cmd, goAhead *os.File, err error) {
	binary, err := readOnlyBinary() // security.go
	if err != nil {
		return nil, nil, err
	}
	defer binary.Close() // the child has its own copy
	wait, goAhead, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("create pipe: %w", err)
	}
	defer wait.Close()
	cmd = exec.Command("/proc/self/fd/6", "joined") // the read-only binary
	cmd.Args[0] = programName
	// Not the user's environment, nor any: the child lives in the
	// container's PID namespace until it execs, and what the command
	// should not have must not be there to leak into it. "joined" is what
	// tells the C constructor to join (nsenter.go).
	cmd.Env = []string{}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.in, stdio.out, stdio.err
	cmd.ExtraFiles = []*os.File{wait, initHandle, root, binary} // fds 3, 4, 5 and 6
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:    newSession, // as the container's PID 1 (pid.go)
		Setctty:   stdio.terminal,
		Pdeathsig: unix.SIGKILL, // the process that waits; what runs inside stays, as in Docker
	}
	if err := cmd.Start(); err != nil {
		goAhead.Close()
		return nil, nil, fmt.Errorf("start exec process: %w", err)
	}
	return cmd, goAhead, nil
}
