// IPC namespace: the container's own System V IPC objects and POSIX message queues.
//
// System V shared memory segments, semaphore sets and message queues (the
// ones ipcs(1) lists) are found by a numeric key in a table the kernel keeps
// per IPC namespace. In the host's namespace a container could attach to
// another program's shared memory just by guessing its key; in a new one the
// table starts empty. POSIX shared memory lives in files under /dev/shm
// instead, which mount.go gives each container as a fresh tmpfs.
//
// Order: the parent adds ipcCloneFlags to clone(2) (run, in main.go); there is
// nothing to set up inside.
//
// Read: man 7 ipc_namespaces, man 7 sysvipc, man 1 ipcs.
package main

import "golang.org/x/sys/unix"

// ipcCloneFlags asks clone(2) for a new IPC namespace for the child.
const ipcCloneFlags = unix.CLONE_NEWIPC
