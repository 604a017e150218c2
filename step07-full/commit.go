// commit: a container's changes become an image.
//
// Everything a container changed is in its upper directory (overlay.go):
// new and changed files whole, deleted ones as whiteouts (character devices
// 0/0), directories that replace the image's as opaque ones (the xattr
// trusted.overlay.opaque). overlayfs reads whiteouts and opaque directories
// in lower layers too, so the upper directory, copied as it is, is a layer:
// the new image is the container's image's layers plus that one. Nothing
// below it is copied.
//
// The copy runs outside the state lock, as an import's extraction does
// (addLayer). A running container is frozen while it is copied (freezer.go),
// as docker commit pauses it: the layer is its files at one moment.
//
// Read: filesystems/overlayfs.rst ("whiteouts and opaque directories"),
// man 7 xattr, man 2 mknod.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var commitCommand = &cli.Command{
	Name:         "commit",
	Usage:        "make an image of a container's changes: its upper layer on top of its image's layers",
	ArgsUsage:    "CONTAINER IMAGE   e.g. commit web web-v2",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() != 2 {
			return fmt.Errorf("want a container and a new image's name: try '%s commit web web-v2'", programName)
		}
		name := ctx.Args().Get(1)
		if err := checkImageName(name); err != nil {
			return err
		}
		rec, err := findContainer(ctx.Args().First())
		if err != nil {
			return err
		}
		if os.Geteuid() != 0 {
			return errors.New("committing needs root (it keeps files' owners): run it with sudo")
		}
		if err := rec.mayAct("commit"); err != nil {
			return err
		}
		if rec.Layer == nil {
			return fmt.Errorf("container %s has no layer to commit", rec.Name)
		}
		if _, err := findImage(name); err == nil {
			return fmt.Errorf("image %s exists already: choose another name, or remove it with rmi", name)
		}
		fz := &frozenContainer{} // a stopped container: nothing to freeze
		if now := rec.status(); now == statusRunning || now == statusCreated {
			if fz, err = freezeContainer(rec); err != nil {
				return err
			}
		}
		upper := filepath.Join(rec.Layer.Dir, "upper")
		// Thawed as soon as its layer is copied, before the image is added.
		err = addLayer(name, rec.Layer.Image, func(dir string) error {
			return errors.Join(copyTree(upper, dir), fz.check(), fz.thaw())
		})
		return errors.Join(err, fz.thaw())
	},
}

// copyTree copies the tree at src into the directory dst, as it is: owners,
// modes, times, extended attributes, symlinks, device nodes (whiteouts).
// Hard links are copied as separate files.
//
// The container may be running, and may change its upper directory while
// this copies it: a file swapped for a symlink to the host's /etc/shadow
// between a stat and an open by path would be read, by root, into the
// image. So the walk goes by descriptors: each entry is opened once, from
// its directory's descriptor, with O_PATH|O_NOFOLLOW (a symlink is opened
// as itself, man 2 open), and everything copied of it is read from that
// descriptor: its type and times (fstat), its contents (reopen), its
// link, its attributes.
func copyTree(src, dst string) error {
	from, err := os.OpenFile(src, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer from.Close()
	to, err := os.OpenFile(dst, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("copy into %s: %w", dst, err)
	}
	defer to.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(from.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if err := copyDirectory(from, to); err != nil {
		return err
	}
	return copyAttributes(from, to, ".", &st)
}

// copyEntry copies the entry name of the directory from into the directory
// to, of whatever type, with its owner, mode, attributes and times.
func copyEntry(from, to *os.File, name string) error {
	entry, err := openEntry(from, name, unix.O_PATH)
	if err != nil {
		return err
	}
	defer entry.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(entry.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", entry.Name(), err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(int(to.Fd()), name, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", entry.Name(), err)
		}
		copied, err := openEntry(to, name, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer copied.Close()
		if err := copyDirectory(entry, copied); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(entry, to, name); err != nil {
			return err
		}
	case unix.S_IFLNK:
		link, err := readLink(entry)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(link, int(to.Fd()), name); err != nil {
			return fmt.Errorf("create link %s: %w", entry.Name(), err)
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		// A whiteout is a character device 0/0 (overlayfs.rst).
		if err := unix.Mknodat(int(to.Fd()), name, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("create %s: %w", entry.Name(), err)
		}
	default:
		return fmt.Errorf("%s: a socket cannot be copied into an image: remove it, then commit", entry.Name())
	}
	// Last: for a directory, creating entries in the copy changed its times.
	return copyAttributes(entry, to, name, &st)
}

// copyDirectory copies what the directory dir (an O_PATH descriptor) holds
// into the directory to.
func copyDirectory(dir, to *os.File) error {
	listing, err := reopen(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer listing.Close()
	names, err := listing.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir.Name(), err)
	}
	for _, name := range names {
		if err := copyEntry(dir, to, name); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies the regular file entry (an O_PATH descriptor) into a new
// file name of the directory to.
func copyFile(entry, to *os.File, name string) error {
	source, err := reopen(entry, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer source.Close()
	fd, err := unix.Openat(int(to.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create the copy of %s: %w", entry.Name(), err)
	}
	target := os.NewFile(uintptr(fd), filepath.Join(to.Name(), name))
	if _, err := io.Copy(target, source); err != nil {
		target.Close()
		return fmt.Errorf("copy %s: %w", entry.Name(), err)
	}
	if err := target.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", entry.Name(), err)
	}
	return nil
}

// copyAttributes gives the copy name, in the directory to, the owner, mode,
// extended attributes and times that st and the descriptor entry say the
// original has.
func copyAttributes(entry, to *os.File, name string, st *unix.Stat_t) error {
	copied := filepath.Join(to.Name(), name)
	if err := copyXattrs(entry, to, name); err != nil {
		return err
	}
	if err := unix.Fchownat(int(to.Fd()), name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %s: %w", copied, err)
	}
	// After chown, which clears the setuid and setgid bits. A symlink has
	// no mode of its own; the copy is new, made by this process alone.
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(int(to.Fd()), name, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("chmod %s: %w", copied, err)
		}
	}
	times := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(int(to.Fd()), name, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", copied, err)
	}
	return nil
}

// openEntry opens the entry name of dir with flags, never through a
// symlink: with O_PATH a symlink is opened as itself, else O_NOFOLLOW
// fails (ELOOP).
func openEntry(dir *os.File, name string, flags int) (*os.File, error) {
	path := filepath.Join(dir.Name(), name)
	fd, err := unix.Openat(int(dir.Fd()), name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// reopen opens the file that the O_PATH descriptor f stands for again, to
// read it, through its /proc/self/fd link: the same file, whatever its path
// holds now (man 5 proc, "/proc/pid/fd"). O_NONBLOCK: a FIFO would wait.
func reopen(f *os.File, flags int) (*os.File, error) {
	fd, err := unix.Open(procSelfFd(f), flags|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// procSelfFd is the /proc/self/fd link of f, a path that leads to f's file.
func procSelfFd(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// readLink returns the target of the symlink entry, an O_PATH descriptor:
// readlinkat(2) with an empty path reads the link the descriptor is.
func readLink(entry *os.File) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(entry.Fd()), "", buf)
	if err != nil {
		return "", fmt.Errorf("read link %s: %w", entry.Name(), err)
	}
	return string(buf[:n]), nil
}

// copyXattrs copies the extended attributes of entry, overlayfs's
// trusted.overlay.* among them, to the copy name in the directory to. The
// *xattr calls take paths: the original's is its /proc/self/fd link,
// which leads to the descriptor's file itself (for a symlink, the link);
// the copy's, in a directory of this process alone, is not followed.
func copyXattrs(entry, to *os.File, name string) error {
	source := procSelfFd(entry)
	copied := procSelfFd(to) + "/" + name
	size, err := unix.Listxattr(source, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return nil // a filesystem without them, or none
	}
	if err != nil {
		return fmt.Errorf("list attributes of %s: %w", entry.Name(), err)
	}
	names := make([]byte, size)
	if size, err = unix.Listxattr(source, names); err != nil {
		return fmt.Errorf("list attributes of %s: %w", entry.Name(), err)
	}
	for _, attr := range splitNames(names[:size]) {
		n, err := unix.Getxattr(source, attr, nil) // its size first
		if err != nil {
			return fmt.Errorf("read attribute %s of %s: %w", attr, entry.Name(), err)
		}
		value := make([]byte, n)
		if n, err = unix.Getxattr(source, attr, value); err != nil {
			return fmt.Errorf("read attribute %s of %s: %w", attr, entry.Name(), err)
		}
		if err := unix.Lsetxattr(copied, attr, value[:n], 0); err != nil {
			return fmt.Errorf("set attribute %s of %s: %w", attr, filepath.Join(to.Name(), name), err)
		}
	}
	return nil
}

// splitNames splits llistxattr(2)'s list of NUL-terminated names.
func splitNames(list []byte) []string {
	var names []string
	for start := 0; start < len(list); {
		end := start
		for end < len(list) && list[end] != 0 {
			end++
		}
		names = append(names, string(list[start:end]))
		start = end + 1
	}
	return names
}
