// The channel: how run and init talk, over one socket pair, in JSON.
//
// run makes a pair of connected sockets (socketpair(2)) and hands one end
// to init as its fd 3. Over it, one JSON message after another:
//
//	run  -> init   {"type":"spec","spec":{...}}   the container, whole (spec.go)
//	init -> run    {"type":"ready"}               the spec is one init can carry
//	                                              out, and its mounts are private:
//	                                              run takes the overlay off the host
//	run  -> init   {"type":"go"}                  its network is connected and
//	                                              it is in its cgroup: set up, exec
//	init -> run    {"type":"created"}             set up, confined, the command
//	                                              found: init waits for start
//	                                              on its FIFO (start.go)
//	init -> run    {"type":"error","error":"..."} it could not; it exits
//	               end of file                    the command runs: fd 3 is
//	                                              close-on-exec, execve closed it
//
// Nothing of the container crosses in init's arguments or environment: a
// process's arguments, /proc/PID/cmdline, can be read by every user of the
// host (man 5 proc), and -e values are often secrets; and its environment
// is the next runtime's to inherit by mistake. runc does the same:
// its init reads its configuration as JSON from a pipe.
//
// Read: man 2 socketpair, man 7 unix, man 2 execve (close-on-exec).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The types of the channel's messages.
const (
	messageSpec    = "spec"
	messageReady   = "ready"
	messageGo      = "go"
	messageCreated = "created"
	messageError   = "error"
)

// message is one message on the channel.
type message struct {
	Type  string      `json:"type"`
	Spec  *specs.Spec `json:"spec,omitempty"`
	Error string      `json:"error,omitempty"`
}

// channel is one end of the socket pair.
type channel struct {
	file *os.File
	in   *json.Decoder
}

// newChannel makes the socket pair: run keeps the channel, and passes
// child to init (and closes its own copy once init has started).
func newChannel() (parent *channel, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("create the channel to init: socketpair: %w", err)
	}
	return openChannel(os.NewFile(uintptr(fds[0]), "channel")), os.NewFile(uintptr(fds[1]), "channel"), nil
}

// initChannel is init's end, its fd 3, marked close-on-exec: already so
// (closeInheritedFiles, at the start of main), said again here, where it
// matters: the command's execve closes it, and run reads end of file.
func initChannel() *channel {
	_, _ = unix.FcntlInt(3, unix.F_SETFD, unix.FD_CLOEXEC)
	return openChannel(os.NewFile(3, "channel"))
}

func openChannel(f *os.File) *channel {
	return &channel{file: f, in: json.NewDecoder(f)}
}

func (c *channel) close() error { return c.file.Close() }

// send writes m.
func (c *channel) send(m message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode the %s message: %w", m.Type, err)
	}
	if _, err := c.file.Write(data); err != nil {
		return fmt.Errorf("send the %s message: %w", m.Type, err)
	}
	return nil
}

// receive reads the next message, which must be of type want. An error
// message from the other end is returned as an error.
func (c *channel) receive(want string) (message, error) {
	var m message
	err := c.in.Decode(&m)
	if errors.Is(err, io.EOF) {
		return m, fmt.Errorf("wait for the %s message: the runtime gave up", want)
	}
	if err != nil {
		return m, fmt.Errorf("read the %s message: %w", want, err)
	}
	if m.Type == messageError {
		return m, errors.New(m.Error)
	}
	if m.Type != want || (want == messageSpec && m.Spec == nil) {
		return m, fmt.Errorf("channel: got a %q message, want %q", m.Type, want)
	}
	return m, nil
}

// checkPeer fails if the other end has closed the channel: its process
// has exited (the kernel closes a dead process's descriptors). poll(2)
// says so at once, with POLLRDHUP (man 2 poll).
func (c *channel) checkPeer() error {
	fds := []unix.PollFd{{Fd: int32(c.file.Fd()), Events: unix.POLLRDHUP}}
	n, err := poll(fds, 0)
	if err != nil {
		return fmt.Errorf("poll the channel: %w", err)
	}
	if n > 0 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0 {
		return errors.New("the runtime has exited: not starting the command")
	}
	return nil
}

// poll is poll(2), asked again when a signal interrupts it: the kernel
// never restarts poll after a signal handler, whatever SA_RESTART says
// (man 7 signal, "Interruption of system calls"), and Go's runtime signals
// its own threads (SIGURG, to preempt goroutines) at any time.
func poll(fds []unix.PollFd, timeout int) (int, error) {
	for {
		n, err := unix.Poll(fds, timeout)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// commandStarted waits until init's command runs, and returns "" then, or
// else the reason it could not start, which init sent.
func commandStarted(c *channel) string {
	var m message
	err := c.in.Decode(&m)
	switch {
	case errors.Is(err, io.EOF):
		return ""
	case err != nil:
		return fmt.Sprintf("read from init: %v", err)
	case m.Type == messageError:
		return m.Error
	}
	return fmt.Sprintf("init sent a %q message instead of starting its command", m.Type)
}
