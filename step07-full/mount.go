// Mount namespace and root filesystem: the container's own "/" and mount table.
//
// A new mount namespace starts as a copy of its parent's mount table, and
// mounts made in it afterwards are its own, unless mount propagation says
// otherwise (man 7 mount_namespaces): systemd makes "/" a *shared* mount, and
// a mount made under a shared mount appears in every peer, the host included.
// So the child first makes every mount private, then builds its root:
//
//	setupRootfs (the child, in this order; each call needs the one before)
//	  makeMountsPrivate  nothing mounted from here on reaches the host
//	  mountOverlay       the image's layers and the container's own (overlay.go);
//	                     pivot_root(2) needs the new root to be a mount point
//	  bindNetworkFiles   /etc/hosts, hostname, resolv.conf, from the host's side
//	  bindVolumes        the -v volumes (overlay.go)
//	  pivotRoot          the rootfs becomes "/", the host's root is detached
//	  mountProc          a /proc that shows the container's PID namespace
//	  mountDev           a minimal /dev on tmpfs: a few devices, devpts, shm
//	  mountSys           /sys, read-only
//
// The parent prepares the overlay's directories first (overlay.go).
//
// Why pivot_root and not chroot(2): chroot changes only where one process's
// "/" is; the host's root stays mounted in its namespace, and a root process
// can walk back out to it (docs/03-mount.md shows the escape). pivot_root
// moves the root mount itself, and once the old root is unmounted there is
// nothing left to walk back to.
//
// Read: man 7 mount_namespaces, man 2 pivot_root, man 2 mount, man 2 umount,
// man 5 proc, man 5 sysfs, man 4 pts.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// mountCloneFlags asks clone(2) for a new mount namespace for the child
// (CLONE_NEWNS: "new namespace", from when mounts were the only kind).
const mountCloneFlags = unix.CLONE_NEWNS

// rootfsFlag is shared by "run" and "init", like hostnameFlag.
var rootfsFlag = &cli.StringFlag{
	Name:  "rootfs",
	Usage: "directory holding the container's root filesystem",
	Value: defaultRootfs(),
}

// defaultRootfs is where 'make rootfs' puts the root filesystem: the rootfs
// directory beside the bin directory this binary was built into.
func defaultRootfs() string {
	exe, err := os.Executable()
	if err != nil {
		return "rootfs"
	}
	return filepath.Join(filepath.Dir(filepath.Dir(exe)), "rootfs")
}

// setupRootfs makes rootfs, the overlay of the layers lower with the
// container's own, the container's "/", with /proc, /dev and /sys of its
// own, the network files of networkFiles in /etc, and the volumes. The child
// calls it in the new mount namespace, before exec.
func setupRootfs(rootfs, lower, networkFiles string, volumes []volume) error {
	// First: every mount below changes the mount namespace this process is
	// in, which must be the container's own. In the host's, pivot_root
	// would move every process of the machine into the rootfs.
	if err := checkOwnMountNamespace(); err != nil {
		return err
	}
	if err := makeMountsPrivate(); err != nil {
		return err
	}
	if err := mountOverlay(lower, rootfs); err != nil {
		return err
	}
	// Before pivotRoot, while networkFiles and the volumes, on the host, are
	// still reachable.
	if err := bindNetworkFiles(rootfs, networkFiles); err != nil {
		return err
	}
	if err := bindVolumes(rootfs, volumes); err != nil {
		return err
	}
	if err := pivotRoot(rootfs); err != nil {
		return err
	}
	// After pivotRoot, every path resolves inside the container: a symlink
	// in the rootfs cannot point one of these mounts at the host's files.
	if err := mountProc(); err != nil {
		return err
	}
	if err := mountDev(); err != nil {
		return err
	}
	return mountSys()
}

// checkOwnMountNamespace fails if this process is in the host's mount
// namespace: the one of PID 1 in /proc, which is still the host's /proc
// until mountProc (man 7 mount_namespaces). Reading another process's
// namespace passes ptrace's access check (man 2 ptrace, "Ptrace access mode
// checking"); where PID 1 holds a capability this root lacks, as in some
// sandboxes, it cannot be read, and the check cannot be made.
func checkOwnMountNamespace() error {
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("read this process's mount namespace: %w", err)
	}
	host, err := os.Readlink("/proc/1/ns/mnt")
	if err != nil {
		return nil // PID 1 is not ours to inspect: nothing to compare with
	}
	if own == host {
		return fmt.Errorf("the container is in the host's mount namespace (%s): clone it with CLONE_NEWNS (mountCloneFlags) before mounting anything", own)
	}
	return nil
}

// makeMountsPrivate turns every mount of this namespace private: no mount or
// unmount made from here on propagates to the host, nor the host's to us.
// MS_REC: the whole tree, not only "/". Without this, on a host whose "/" is
// shared, the bind mount below would appear on the host too, and pivot_root
// would fail with EINVAL (man 2 pivot_root, ERRORS).
func makeMountsPrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private (mount --make-rprivate /): %w", err)
	}
	return nil
}

// pivotRoot makes rootfs the root mount of this namespace and detaches the
// host's root from it. pivot_root(".", ".") stacks the old root on top of the
// new one, so no directory for the old root has to be made in the rootfs;
// unmounting "." then takes the old root off (man 2 pivot_root, NOTES).
// MNT_DETACH: unmount it now, though the host's mounts under it are busy.
func pivotRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", rootfs, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir / after pivot_root: %w", err)
	}
	return nil
}

// mountProc mounts a proc filesystem at /proc. proc shows the PID namespace
// of the process that mounts it, and this process is the container's PID 1,
// so ps inside sees only the container.
func mountProc() error {
	return mountAt("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// devices are the character devices programs expect to find in /dev, with
// their major and minor numbers (the kernel's admin-guide/devices.txt); the
// same set runc creates.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// devLinks are the symlinks programs expect in /dev, pointing into /proc and devpts.
var devLinks = map[string]string{
	"/dev/fd":     "/proc/self/fd",
	"/dev/stdin":  "/proc/self/fd/0",
	"/dev/stdout": "/proc/self/fd/1",
	"/dev/stderr": "/proc/self/fd/2",
	"/dev/ptmx":   "pts/ptmx",
}

// mountDev builds a /dev of its own on a tmpfs rather than bind-mounting the
// host's, so that the container gets these devices and no others: no disks,
// no /dev/mem. (Root in the container of steps 03-06 can still make one
// with mknod(2); tinyrun takes CAP_MKNOD away, security.go.)
func mountDev() error {
	if err := mountAt("tmpfs", "/dev", "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=64k"); err != nil {
		return err
	}
	for _, d := range devices {
		if err := makeDevice("/dev/"+d.name, d.major, d.minor); err != nil {
			return err
		}
	}
	// newinstance: pseudo-terminals of the container's own, not the host's
	// (man 4 pts); ptmxmode=0666 lets any user open /dev/pts/ptmx; gid 5 is
	// the tty group.
	if err := mountAt("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"); err != nil {
		return err
	}
	if err := mountAt("shm", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return err
	}
	for link, target := range devLinks {
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("symlink %s -> %s: %w", link, target, err)
		}
	}
	return nil
}

// mountSys mounts sysfs read-only: programs read it to learn about the
// machine, and a write to it would change the host's devices and kernel.
func mountSys() error {
	return mountAt("sysfs", "/sys", "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// mountAt mounts a filesystem of type fstype on target, creating target if the
// rootfs lacks it. Call it only after pivotRoot: target must be inside the container.
func mountAt(source, target, fstype string, flags uintptr, data string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("create mount point %s: %w", target, err)
	}
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, target, err)
	}
	return nil
}

// makeDevice creates the character device node path with the given numbers,
// readable and writable by everybody.
func makeDevice(path string, major, minor uint32) error {
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
		return fmt.Errorf("mknod %s: %w", path, err)
	}
	// mknod(2) applies the umask (usually 022); these nodes are for everybody.
	if err := unix.Chmod(path, 0o666); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}
