// Mount namespace and root filesystem: the container's own "/" and mount table.
//
// A new mount namespace starts as a copy of its parent's mount table, and
// mounts made in it afterwards are its own, unless mount propagation says
// otherwise (man 7 mount_namespaces): systemd makes "/" a *shared* mount, and
// a mount made under a shared mount appears in every peer, the host included.
// So the child first makes every mount private, then builds its root from
// the spec (spec.go), as runc does:
//
//	makeMountsPrivate    nothing mounted from here on reaches the host
//	setupRootfs (the child, in this order; each call needs the one before)
//	  openRoot           a descriptor of root.path, which run mounted (the
//	                     overlay, overlay.go): pivot_root(2) needs the new
//	                     root to be a mount point; every path in the
//	                     container is resolved from it, once (openMountPoint)
//	  mountFromSpec      each of the spec's mounts, in its order: /proc, a
//	                     minimal /dev on tmpfs with devpts and shm, /sys
//	                     read-only, /etc/hosts, hostname, resolv.conf and the
//	                     -v volumes, bound from the host's side (bindHostPath)
//	  makeDevices        linux.devices in /dev, and its usual symlinks
//	  pivotRoot          the rootfs becomes "/", the host's root is detached
//
// Every mount comes before pivot_root, while the sources of the bind mounts,
// on the host, can still be reached.
//
// Why pivot_root and not chroot(2): chroot changes only where one process's
// "/" is; the host's root stays mounted in its namespace, and a root process
// can walk back out to it (docs/03-mount.md shows the escape). pivot_root
// moves the root mount itself, and once the old root is unmounted there is
// nothing left to walk back to.
//
// Why descriptors and not paths: mount(2) takes a path and resolves it when
// it is called. A rootfs is a directory that others can write to (another
// container on the same rootfs, a shared volume later): between a check of
// a path and the mount on it, a directory can become a symlink, and the
// mount lands where the symlink leads, on the host before pivot_root (runc's
// CVE-2021-30465). So each mount point is resolved once, by the kernel,
// inside the root, with openat2(2)'s RESOLVE_IN_ROOT and RESOLVE_NO_SYMLINKS
// (a symlink is refused, never followed), and the file system is attached
// to that descriptor with the mount API of Linux 5.2: fsopen(2), fsconfig(2)
// and fsmount(2) make a mount as a descriptor of its own, with its flags
// already set, and move_mount(2) attaches it to the directory's descriptor.
// No path string is resolved twice.
//
// Read: man 7 mount_namespaces, man 2 pivot_root, man 2 mount, man 2 umount,
// man 2 openat2, man 2 fsopen, man 2 fsmount, man 2 move_mount, man 5 proc,
// man 5 sysfs, man 4 pts.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountCloneFlags asks clone(2) for a new mount namespace for the child
// (CLONE_NEWNS: "new namespace", from when mounts were the only kind).
const mountCloneFlags = unix.CLONE_NEWNS

// setupRootfs makes spec's root, which run mounted, the container's "/",
// with the spec's mounts and devices. The child calls it in the new mount
// namespace, once it has made every mount private (initContainer), before
// exec.
func setupRootfs(spec *specs.Spec) error {
	root, err := openRoot(spec.Root.Path)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, m := range spec.Mounts {
		if err := mountFromSpec(root, m); err != nil {
			return err
		}
	}
	if err := makeDevices(root, withDefaultDevices(spec.Linux.Devices)); err != nil {
		return err
	}
	return pivotRoot(root)
}

// checkOwnMountNamespace fails if this process is in the host's mount
// namespace: the one of PID 1 in /proc, which is still the host's /proc
// until the spec's /proc is mounted (man 7 mount_namespaces). Reading another process's
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

// openRoot opens the directory rootfs as a descriptor (O_PATH: to resolve
// paths from, not to read), made a mount of its own: pivot_root(2) moves
// mounts, and refuses (EBUSY) a root that is a plain directory of the
// mount it is in. run's root is an overlay mount already; a bundle's may be
// any directory, so it is bind-mounted on itself first, as runc does, and
// through descriptors, as bindMount (net.go) does: open_tree(2) copies it
// as a mount attached nowhere, move_mount(2) attaches that on it. The
// returned descriptor is open_tree's, the root of the new mount. The
// caller closes it.
func openRoot(rootfs string) (*os.File, error) {
	dir, err := os.OpenFile(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the root %s: %w", rootfs, err)
	}
	defer dir.Close()
	tree, err := unix.OpenTree(int(dir.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return nil, fmt.Errorf("bind mount the root %s: open_tree: %w", rootfs, err)
	}
	root := os.NewFile(uintptr(tree), rootfs)
	if err := unix.MoveMount(tree, "", int(dir.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		root.Close()
		return nil, fmt.Errorf("bind mount the root %s: move_mount: %w", rootfs, err)
	}
	return root, nil
}

// pivotRoot makes root the root mount of this namespace and detaches the
// host's root from it. pivot_root(".", ".") stacks the old root on top of the
// new one, so no directory for the old root has to be made in the rootfs;
// unmounting "." then takes the old root off (man 2 pivot_root, NOTES).
// MNT_DETACH: unmount it now, though the host's mounts under it are busy.
func pivotRoot(root *os.File) error {
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return fmt.Errorf("chdir %s: %w", root.Name(), err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root.Name(), err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir / after pivot_root: %w", err)
	}
	return nil
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

// mountFromSpec makes the mount m inside root: a bind mount of a host path
// (bindHostPath, overlay.go), or a new file system of m's type, mounted
// onto its mount point's descriptor (mountAt). Its options are split into
// the mount's attributes and its file system's own (mountOptions, spec.go):
// proc nosuid,nodev,noexec; /dev's tmpfs nosuid with size=64k; devpts
// newinstance (pseudo-terminals of the container's own, man 4 pts); sysfs
// "ro", read-only twice as mount -o ro does it: the option makes the file
// system read-only, MOUNT_ATTR_RDONLY this mount of it.
func mountFromSpec(root *os.File, m specs.Mount) error {
	attr, data, err := mountOptions(m)
	if err != nil {
		return fmt.Errorf("config.json: %w", err)
	}
	if m.Type == "bind" {
		if err := bindHostPath(root, m.Source, m.Destination, attr); err != nil {
			return fmt.Errorf("bind mount %s on %s: %w", m.Source, m.Destination, err)
		}
		return nil
	}
	if attr&unix.MOUNT_ATTR_RDONLY != 0 {
		data = strings.Trim(data+",ro", ",") // the file system too (see above)
	}
	mnt, err := mountAt(root, m.Source, m.Destination, m.Type, attr, data)
	if err != nil {
		return err
	}
	return mnt.Close()
}

// withDefaultDevices is list with the devices every container has, as the
// runtime spec says (config-linux.md, "Default Devices"), whether or not
// the spec lists them: run's lists them all, runc's "runc spec" none.
func withDefaultDevices(list []specs.LinuxDevice) []specs.LinuxDevice {
	all := slices.Clone(list)
	for _, d := range deviceList() {
		if !slices.ContainsFunc(list, func(listed specs.LinuxDevice) bool { return listed.Path == d.Path }) {
			all = append(all, d)
		}
	}
	return all
}

// makeDevices makes the character devices of linux.devices in root's /dev
// (a tmpfs of the container's own, mountFromSpec), rather than binding the
// host's, so that the container gets these devices and no others: no
// disks, no /dev/mem. (Root in the container of steps 03-06 can still make
// one with mknod(2); tinyrun takes CAP_MKNOD away, security.go.) Then the
// symlinks programs expect there. Everything is made from /dev's own
// descriptor.
func makeDevices(root *os.File, list []specs.LinuxDevice) error {
	dev, err := openMountPoint(root, "/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	for _, d := range list {
		name, ok := strings.CutPrefix(d.Path, "/dev/")
		if !ok || strings.Contains(name, "/") || d.Type != "c" || (d.FileMode != nil && *d.FileMode != 0o666) || d.Major < 0 || d.Minor < 0 {
			return fmt.Errorf("config.json: linux.devices %s: tinyrun makes character devices in /dev itself, mode 0666", d.Path)
		}
		if err := makeDevice(dev, name, uint32(d.Major), uint32(d.Minor)); err != nil {
			return err
		}
	}
	for link, target := range devLinks {
		if err := unix.Symlinkat(target, int(dev.Fd()), strings.TrimPrefix(link, "/dev/")); err != nil {
			return fmt.Errorf("symlink %s -> %s: %w", link, target, err)
		}
	}
	return nil
}

// mountAt mounts a new file system of type fstype, named source, with the
// mount(8)-style options data and the attributes attr (MOUNT_ATTR_*), on the
// directory path inside root, made if missing (openMountPoint). It returns
// a descriptor of the new mount's root, which the caller closes.
func mountAt(root *os.File, source, path, fstype string, attr uint64, data string) (*os.File, error) {
	target, err := openMountPoint(root, path)
	if err != nil {
		return nil, err
	}
	defer target.Close()
	return mountOnto(target, source, fstype, attr, data)
}

// mountOnto mounts a new file system, as mountAt does, on the directory
// target, a descriptor. mount(2) would take a path, and resolve it again.
// Instead: fsopen(2) makes a file system context, fsconfig(2) sets its
// options one by one and creates it, fsmount(2) makes a mount of it that is
// attached nowhere yet, with its attributes, and move_mount(2) attaches that
// mount to target. The same as mount -t FSTYPE -o DATA SOURCE PATH, in four
// steps.
func mountOnto(target *os.File, source, fstype string, attr uint64, data string) (*os.File, error) {
	path := target.Name()
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if errors.Is(err, unix.ENOSYS) {
		return nil, fmt.Errorf("mount %s on %s: fsopen: %w: it needs Linux 5.2 or newer", fstype, path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("mount %s on %s: fsopen: %w", fstype, path, err)
	}
	defer unix.Close(fs)
	for _, option := range strings.Split("source="+source+","+data, ",") {
		key, value, hasValue := strings.Cut(option, "=")
		switch {
		case key == "":
			continue
		case hasValue:
			err = unix.FsconfigSetString(fs, key, value)
		default:
			err = unix.FsconfigSetFlag(fs, key)
		}
		if err != nil {
			return nil, fmt.Errorf("mount %s on %s: option %s: %w", fstype, path, option, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return nil, fmt.Errorf("mount %s on %s: create: %w", fstype, path, err)
	}
	fd, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, int(attr))
	if err != nil {
		return nil, fmt.Errorf("mount %s on %s: fsmount: %w", fstype, path, err)
	}
	mount := os.NewFile(uintptr(fd), path)
	if err := unix.MoveMount(fd, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		mount.Close()
		return nil, fmt.Errorf("mount %s on %s: move_mount: %w", fstype, path, err)
	}
	return mount, nil
}

// openMountPoint opens the directory path inside root (an absolute path, "/"
// being root), making what is missing of it, and returns its descriptor,
// which the caller closes. Each part is resolved once, by the kernel,
// beneath the part before: RESOLVE_NO_SYMLINKS refuses a symlink, which
// could lead anywhere (man 2 openat2), so a mount point is a real directory
// of the rootfs or nothing. A directory made here and swapped for a symlink
// before it is opened is refused too.
func openMountPoint(root *os.File, path string) (*os.File, error) {
	dir, err := openBeneath(root, ".", "/")
	if err != nil {
		return nil, mountPointError(path, "/", err)
	}
	walked := ""
	for _, name := range strings.Split(strings.Trim(filepath.Clean(path), "/"), "/") {
		if name == "" {
			break // path is "/"
		}
		walked += "/" + name
		next, err := openBeneath(dir, name, walked)
		if errors.Is(err, unix.ENOENT) {
			// EEXIST: someone else made it meanwhile; opening it checks it.
			if err := unix.Mkdirat(int(dir.Fd()), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				dir.Close()
				return nil, fmt.Errorf("create mount point %s: %w", path, err)
			}
			next, err = openBeneath(dir, name, walked)
		}
		dir.Close()
		if err != nil {
			return nil, mountPointError(path, walked, err)
		}
		dir = next
	}
	return dir, nil
}

// mountPointError says why the mount point path could not be opened at
// walked, the part of it that openBeneath failed on.
func mountPointError(path, walked string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("mount point %s: %s is a symlink: refused, not followed (it could lead anywhere): a mount point must be a real directory", path, walked)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("mount point %s: %s is not a directory: refused: a mount point must be a real directory", path, walked)
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("mount point %s: openat2: %w: it needs Linux 5.6 or newer", path, err)
	}
	return fmt.Errorf("mount point %s: %w", path, err)
}

// openBeneath opens the directory name in dir, refusing a symlink (ELOOP)
// and anything that is not a directory (ENOTDIR), and names the descriptor
// path, where it is in the container. O_PATH: a descriptor to resolve from
// and to mount on, never to read.
func openBeneath(dir *os.File, name, path string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS,
	}
	fd, err := unix.Openat2(int(dir.Fd()), name, &how)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// makeDevice creates the character device node name in dev with the given
// numbers, readable and writable by everybody.
func makeDevice(dev *os.File, name string, major, minor uint32) error {
	if err := unix.Mknodat(int(dev.Fd()), name, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
		return fmt.Errorf("mknod /dev/%s: %w", name, err)
	}
	// mknod(2) applies the umask (usually 022); these nodes are for everybody.
	if err := unix.Fchmodat(int(dev.Fd()), name, 0o666, 0); err != nil {
		return fmt.Errorf("chmod /dev/%s: %w", name, err)
	}
	return nil
}
