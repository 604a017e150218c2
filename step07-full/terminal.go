// The container's stdin, stdout and stderr, and its terminal.
//
// A container's first three file descriptors come from its runtime: the
// user's own (run, run -i), a log file (run -d, monitor.go), or, with -t, a
// pseudo-terminal of its own (man 7 pty). A pseudo-terminal is a pair: the
// container gets the terminal end (the "slave", /dev/pts/N) as stdin,
// stdout, stderr and controlling terminal; the runtime keeps the other end
// (the "master", /dev/ptmx) and relays between it and the user's terminal:
//
//	user's terminal (raw) --stdin--> runtime --master--> line discipline --> shell
//	user's terminal       <-stdout-- runtime <-master--  line discipline <-- shell
//
// The user's terminal is put in raw mode (termios(3), cfmakeraw), so every
// key goes through as it is typed: Ctrl-C is byte 3, which the container's
// line discipline turns into SIGINT for the container's foreground process
// (a sleep, not the shell), as a terminal does. The window size is copied
// to the container's terminal at the start and on every SIGWINCH.
//
// Order: openStdio (before the container starts), started (after: the
// relaying begins), close (after it ends: the user's terminal is restored).
//
// Read: man 7 pty, man 3 termios, man 4 tty_ioctl (TIOCSCTTY, TIOCSWINSZ).
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// containerStdio is what a container's stdin, stdout and stderr are, and
// what to do once it has started and once it has ended.
type containerStdio struct {
	in, out, err *os.File
	terminal     bool                // in is a terminal, to become the container's controlling terminal
	started      func(failed string) // the command runs; or could not start, and failed says why
	close        func()              // the container has ended: no more output will come
}

// openStdio opens the stdio that o asks for: the log (a monitor), a
// terminal (-t), or the user's, with stdin only with -i.
func openStdio(o containerOptions, rec *record) (*containerStdio, error) {
	switch {
	case o.monitor:
		return logStdio(rec)
	case o.tty:
		return terminalStdio(o.interactive)
	}
	s := &containerStdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, started: func(string) {}, close: func() {}}
	if !o.interactive {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		s.in, s.close = null, func() { null.Close() }
	}
	return s, nil
}

// terminalStdio opens a pseudo-terminal for the container, as big as the
// user's, and puts the user's terminal in raw mode. What the user types
// reaches the container only with interactive (-i), as in Docker.
func terminalStdio(interactive bool) (*containerStdio, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open a pseudo-terminal: %w", err)
	}
	_ = pty.InheritSize(os.Stdin, master) // a size of 0x0 is only ugly
	// Raw only with -i: without it nothing is relayed to the container, and
	// Ctrl-C must stay a signal, to the runtime, which relays it (pid.go).
	restore := func() {}
	if interactive {
		if restore, err = makeRaw(os.Stdin); err != nil {
			master.Close()
			slave.Close()
			return nil, err
		}
	}
	resized := make(chan os.Signal, 1)
	signal.Notify(resized, unix.SIGWINCH)
	output := make(chan struct{})
	relaying := false
	s := &containerStdio{in: slave, out: slave, err: slave, terminal: true}
	s.started = func(string) { // a failure is on the terminal already
		relaying = true
		// The container has its own copy: once its processes have all
		// closed theirs, reading the master fails (EIO), and relaying ends.
		slave.Close()
		if interactive {
			go func() { _, _ = io.Copy(master, os.Stdin) }()
		}
		go func() { _, _ = io.Copy(os.Stdout, master); close(output) }()
		go func() {
			for range resized {
				_ = pty.InheritSize(os.Stdin, master)
			}
		}()
	}
	s.close = func() {
		signal.Stop(resized)
		if relaying {
			select { // what the container wrote last, unless a process it left holds the terminal
			case <-output:
			case <-time.After(time.Second):
			}
		}
		restore()
		master.Close()
		slave.Close()
	}
	return s, nil
}

// makeRaw puts the terminal f in raw mode, as cfmakeraw(3) does: no echo,
// no line editing, no signals from keys, no output processing; every byte
// goes through. Call restore to put it back as it was.
func makeRaw(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("-t: read the terminal's settings: %w", err)
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0 // a read returns each byte as it comes
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, fmt.Errorf("-t: put the terminal in raw mode: %w", err)
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, saved) }, nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
