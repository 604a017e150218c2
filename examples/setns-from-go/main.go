// Command setns-from-go shows why tinyrun's exec joins a container in C,
// before Go starts: a Go program is multi-threaded before main runs, and
// setns(2) refuses to move a multi-threaded process into a mount namespace.
//
//	setns-from-go PID
//
// It tries twice to join the mount namespace of process PID (a container's
// PID 1, say), and prints what happened:
//
//  1. setns(2) straight from main: EINVAL, "invalid argument". The kernel
//     refuses a caller that shares its filesystem information (its root and
//     current directory, what clone(2)'s CLONE_FS shares) with another
//     thread, and the threads of a process share it.
//  2. unshare(CLONE_FS) first, so that this thread has that information to
//     itself, then setns(2): it works, but only this one thread has moved;
//     the runtime's other threads, which run the other goroutines, are
//     still on the host.
//
// runc, and tinyrun's step07-full/nsenter.go, join in a C constructor,
// which runs while the process still has one thread. docs/07-full.md runs
// this program against a container.
//
// Read: man 2 setns (EINVAL), man 2 unshare (CLONE_FS), man 7 namespaces.
package main

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: setns-from-go PID")
		os.Exit(2)
	}
	if err := tryJoin(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "setns-from-go: %v\n", err)
		os.Exit(1)
	}
}

// tryJoin tries to join the mount namespace of process pid, as described
// at the top of this file.
func tryJoin(pid string) error {
	// This goroutine stays on this thread, as C code would.
	runtime.LockOSThread()
	path := "/proc/" + pid + "/ns/mnt"
	target, err := os.Readlink(path)
	if err != nil {
		return err
	}
	ns, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(ns)
	// Opened now, while /proc is the host's: once this thread is in the
	// container's mount namespace, its /proc is the container's.
	tasks, err := os.Open("/proc/self/task")
	if err != nil {
		return err
	}
	defer tasks.Close()
	fmt.Printf("threads of this process, as main starts: %d\n", len(threadIDs(tasks)))

	fmt.Printf("setns(%s, CLONE_NEWNS): %s\n", path, orOK(unix.Setns(ns, unix.CLONE_NEWNS)))

	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	err = unix.Setns(ns, unix.CLONE_NEWNS)
	fmt.Printf("unshare(CLONE_FS), then setns again: %s\n", orOK(err))
	if err != nil {
		return nil
	}
	// Each thread has its own /proc/self/task/TID/ns/mnt.
	ids, joined := threadIDs(tasks), 0
	for _, tid := range ids {
		link := make([]byte, 64)
		n, err := unix.Readlinkat(int(tasks.Fd()), tid+"/ns/mnt", link)
		if err == nil && string(link[:n]) == target {
			joined++
		}
	}
	fmt.Printf("threads in the mount namespace of process %s: %d of %d\n", pid, joined, len(ids))
	return nil
}

// threadIDs lists the directory tasks, /proc/self/task: one entry per
// thread of this process (man 5 proc).
func threadIDs(tasks *os.File) []string {
	_, _ = tasks.Seek(0, 0)
	ids, _ := tasks.Readdirnames(-1)
	return ids
}

// orOK is err's message, or "ok" for none.
func orOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
