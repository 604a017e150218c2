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
// (addLayer). A running container is not paused: a file it writes during the
// copy may be caught half-written (Docker pauses it with the freezer cgroup).
//
// Read: filesystems/overlayfs.rst ("whiteouts and opaque directories"),
// man 7 xattr, man 2 mknod.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
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
		if rec.Layer == nil {
			return fmt.Errorf("container %s has no layer to commit", rec.Name)
		}
		if _, err := findImage(name); err == nil {
			return fmt.Errorf("image %s exists already: choose another name, or remove it with rmi", name)
		}
		upper := filepath.Join(rec.Layer.Dir, "upper")
		return addLayer(name, rec.Layer.Image, func(dir string) error { return copyTree(upper, dir) })
	},
}

// copyTree copies the tree at src into the directory dst, as it is: owners,
// modes, times, extended attributes, symlinks, device nodes (whiteouts).
// Hard links are copied as separate files.
func copyTree(src, dst string) error {
	var dirs [][2]string // each directory's path and copy, for their times
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy %s: %w", path, err)
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return fmt.Errorf("copy %s: %w", path, err)
		}
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		if err := copyEntry(path, target, &st); err != nil {
			return err
		}
		if err := copyXattrs(path, target); err != nil {
			return err
		}
		if err := unix.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("chown %s: %w", target, err)
		}
		// After chown, which clears the setuid and setgid bits.
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			if err := unix.Chmod(target, st.Mode&0o7777); err != nil {
				return fmt.Errorf("chmod %s: %w", target, err)
			}
		}
		if d.IsDir() {
			dirs = append(dirs, [2]string{path, target})
			return nil
		}
		return copyTimes(path, target)
	})
	if err != nil {
		return err
	}
	// Last, deepest first: creating an entry changes its directory's times.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := copyTimes(dirs[i][0], dirs[i][1]); err != nil {
			return err
		}
	}
	return nil
}

// copyTimes gives target the access and modification times of path.
func copyTimes(path, target string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	times := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", target, err)
	}
	return nil
}

// copyEntry makes at target a copy of the file at path, of whatever type,
// except its owner, mode bits, attributes and times.
func copyEntry(path, target string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", target, err)
		}
	case unix.S_IFREG:
		return copyFile(path, target)
	case unix.S_IFLNK:
		link, err := os.Readlink(path)
		if err != nil {
			return fmt.Errorf("read link %s: %w", path, err)
		}
		if err := os.Symlink(link, target); err != nil {
			return fmt.Errorf("create link %s: %w", target, err)
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		// A whiteout is a character device 0/0 (overlayfs.rst).
		if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("create %s: %w", target, err)
		}
	default:
		return fmt.Errorf("%s: a socket cannot be copied into an image: remove it, then commit", path)
	}
	return nil
}

// copyFile copies the regular file at path to a new file target.
func copyFile(path, target string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", path, err)
	}
	return out.Close()
}

// copyXattrs copies the extended attributes of path to target, overlayfs's
// trusted.overlay.* among them.
func copyXattrs(path, target string) error {
	size, err := unix.Llistxattr(path, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return nil // a filesystem without them, or none
	}
	if err != nil {
		return fmt.Errorf("list attributes of %s: %w", path, err)
	}
	names := make([]byte, size)
	if size, err = unix.Llistxattr(path, names); err != nil {
		return fmt.Errorf("list attributes of %s: %w", path, err)
	}
	for _, name := range splitNames(names[:size]) {
		n, err := unix.Lgetxattr(path, name, nil) // its size first
		if err != nil {
			return fmt.Errorf("read attribute %s of %s: %w", name, path, err)
		}
		value := make([]byte, n)
		if n, err = unix.Lgetxattr(path, name, value); err != nil {
			return fmt.Errorf("read attribute %s of %s: %w", name, path, err)
		}
		if err := unix.Lsetxattr(target, name, value[:n], 0); err != nil {
			return fmt.Errorf("set attribute %s of %s: %w", name, target, err)
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
