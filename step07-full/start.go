// create and start: a container made, its command not yet run.
//
// The runtime spec splits a container's start in two (runtime.md,
// "Lifecycle"): create makes it, everything but the user's command, and
// leaves it "created"; start runs the command. Docker and containerd
// create, attach what they need (a terminal, a network, their own
// bookkeeping), then start. tinyrun's run does both at once; tinyrun
// create and tinyrun start do them apart.
//
// Between the two, init waits just before execve(2), its setup done and
// its defences in place, on a FIFO (a named pipe, man 7 fifo), as runc's
// init does on its exec.fifo: the container's directory holds exec.fifo,
// which run makes and hands to init as fd 5 before pivot_root hides the
// host's files. Opening a FIFO for writing blocks until someone opens it
// for reading (man 7 fifo):
//
//	init    (created) opens /proc/self/fd/5 for writing: blocks
//	start   opens exec.fifo for reading: init's open returns; init writes
//	        a byte, start reads it and removes exec.fifo; init execs
//
// While exec.fifo exists and PID 1 runs, the container is created
// (status.go).
//
// Read: man 7 fifo, man 3 mkfifo, man 2 open, man 2 pidfd_open, man 2 poll.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// execFifoName is the FIFO, in the container's directory.
const execFifoName = "exec.fifo"

func (rec *record) execFifo() string { return filepath.Join(rec.dir(), execFifoName) }

// makeExecFifo makes rec's exec.fifo and returns a descriptor of it for
// init (O_PATH: to reopen, not to use). Mode 0622: init may have become
// another user by the time it opens it (-u); the directory, root's alone,
// keeps everybody else from its path, and a descriptor needs none.
func makeExecFifo(rec *record) (*os.File, error) {
	old := unix.Umask(0)
	err := unix.Mkfifo(rec.execFifo(), 0o622)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", rec.execFifo(), err)
	}
	f, err := os.OpenFile(rec.execFifo(), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rec.execFifo(), err)
	}
	return f, nil
}

// waitForStart is init's last step before execve: it blocks until start
// opens the FIFO, its fd 5, and writes it a byte. Through /proc/self/fd: a
// descriptor of this process reaches the FIFO after pivot_root has hidden
// its path, and opening it through there checks only the FIFO's own mode.
func waitForStart() error {
	fifo, err := os.OpenFile("/proc/self/fd/5", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("wait for start: open the exec FIFO: %w", err)
	}
	defer fifo.Close()
	if _, err := fifo.Write([]byte{0}); err != nil {
		return fmt.Errorf("wait for start: %w", err)
	}
	return nil
}

// startInit lets rec's init, created, run its command: it opens the FIFO
// for reading (openStart), and reads init's byte (awaitStart).
func startInit(rec *record) error {
	fifo, err := openStart(rec)
	if err != nil {
		return err
	}
	defer unix.Close(fifo)
	return awaitStart(rec, fifo)
}

// openStart opens rec's FIFO for reading, and removes it: the descriptor
// keeps working, and a start killed after this cannot leave a running
// container looking created. Of two starts, the one whose remove fails
// lost: the other one starts it. O_NONBLOCK: the open does not wait for
// init, and once it is open, init's own open does not wait either; run
// opens it before init gets there, so that its init never waits.
func openStart(rec *record) (int, error) {
	fifo, err := unix.Open(rec.execFifo(), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, fmt.Errorf("container %s is started already", rec.Name)
	}
	if err != nil {
		return -1, fmt.Errorf("start container %s: open %s: %w", rec.Name, rec.execFifo(), err)
	}
	if err := os.Remove(rec.execFifo()); err != nil {
		unix.Close(fifo)
		if errors.Is(err, os.ErrNotExist) {
			return -1, fmt.Errorf("container %s is started already", rec.Name)
		}
		return -1, fmt.Errorf("start container %s: %w", rec.Name, err)
	}
	return fifo, nil
}

// awaitStart reads init's byte from the FIFO fifo: then init goes on to
// its execve. It does not block on an init that died meanwhile: poll(2)
// waits for either the byte or init's end, which a pidfd of it reports
// (man 2 pidfd_open). The byte is looked for first, since an init that
// wrote it may have run a short command to its end already.
func awaitStart(rec *record, fifo int) error {
	readByte := func() error {
		if _, err := unix.Read(fifo, make([]byte, 1)); err != nil {
			return fmt.Errorf("start container %s: read the exec FIFO: %w", rec.Name, err)
		}
		return nil
	}
	ready := []unix.PollFd{{Fd: int32(fifo), Events: unix.POLLIN}}
	if n, _ := poll(ready, 0); n > 0 && ready[0].Revents&unix.POLLIN != 0 {
		return readByte()
	}
	pidfd, err := openProcess(rec.Init)
	if err != nil {
		if n, _ := poll(ready, 0); n > 0 && ready[0].Revents&unix.POLLIN != 0 {
			return readByte() // it wrote, then ran its command to the end
		}
		return fmt.Errorf("container %s exited before it started", rec.Name)
	}
	defer unix.Close(pidfd)
	for {
		fds := []unix.PollFd{{Fd: int32(fifo), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := poll(fds, -1); err != nil {
			return fmt.Errorf("start container %s: poll: %w", rec.Name, err)
		}
		switch {
		case fds[0].Revents&unix.POLLIN != 0:
			return readByte()
		case fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0:
			return fmt.Errorf("container %s is started already", rec.Name) // its byte went to another reader
		case fds[1].Revents != 0:
			return fmt.Errorf("container %s exited before it started", rec.Name)
		}
	}
}

// created reports whether rec's init waits for start: its FIFO is there.
func (rec *record) created() bool {
	_, err := os.Lstat(rec.execFifo())
	return err == nil
}

// createCommand is run -d that stops at created: the ID is printed once
// the container is made, and its command runs at start.
var createCommand = &cli.Command{
	Name:         "create",
	Usage:        "make a container, its command ready but not run: start runs it (run's flags, run in the background)",
	ArgsUsage:    "IMAGE CMD [ARG...]   e.g. create --name web busybox httpd -f",
	Flags:        runCommand.Flags,
	OnUsageError: usageError,
	Action:       func(ctx *cli.Context) error { return runAction(ctx, true) },
}

var startCommand = &cli.Command{
	Name:         "start",
	Usage:        "run the command of created containers",
	ArgsUsage:    "CONTAINER...   e.g. start web",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		return forEachContainer(ctx, func(rec *record) error {
			if err := rec.mayAct("start"); err != nil {
				return err
			}
			return startInit(rec)
		})
	},
}

// abortOnSignal makes a signal that would stop the runtime (Ctrl-C, kill)
// abort the start while init sets the container up: until stop is called,
// the first SIGINT, SIGTERM, SIGHUP or SIGQUIT caught on signals kills
// init, which ends any wait on its channel (a read from a dead peer
// returns end of file), and run then undoes what it made, as after any
// failed start. Without it, an init that hangs (a mount that never
// returns, a process stopped by someone) would keep run, and the
// container's address, cgroup and layer, until someone killed run with
// SIGKILL. SIGUSR1 and SIGUSR2 end nothing: they are held, and put back
// on signals by stop, for forwardSignals to relay to the command. aborted
// says which signal aborted the start, if one did.
func abortOnSignal(signals chan os.Signal, init *os.Process) (stop func(), aborted func() os.Signal) {
	var (
		mu     sync.Mutex
		caught os.Signal
		held   []os.Signal
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case sig := <-signals:
				if sig == unix.SIGUSR1 || sig == unix.SIGUSR2 {
					held = append(held, sig)
					continue
				}
				mu.Lock()
				caught = sig
				mu.Unlock()
				_ = init.Kill()
				return
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(done)
			<-finished
			for _, sig := range held {
				select {
				case signals <- sig:
				default: // one of its kind waits there already
				}
			}
		})
	}
	aborted = func() os.Signal {
		mu.Lock()
		defer mu.Unlock()
		return caught
	}
	return stop, aborted
}
