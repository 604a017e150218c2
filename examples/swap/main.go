// Command swap exchanges two paths over and over, as fast as it can: the
// attacker's half of the races in tests/races_test.go. A runtime that looks
// a path up twice (once to check it, once to use it) can be made to check
// one thing and use another, if something swaps them in between. Run in a
// container that shares a volume with the one being started, swap plays
// that something (the class of runc's CVE-2019-19921 and CVE-2021-30465).
//
//	swap [-pause DURATION] PATH1 PATH2 [SECONDS]
//
// With both paths there, each round is one renameat2(2) with
// RENAME_EXCHANGE: the kernel exchanges the two names atomically, so at
// every instant each name is one of the two files, never neither. With
// only PATH1 there, PATH1 is moved to PATH2 and back (rename(2)), so that
// PATH1 is there, then not.
//
// swap prints "swapping" once it has started, so that a check can wait for
// it, then runs until it is killed, or for SECONDS if given; then it prints
// how many times it swapped. With -pause (-pause 1ms), it waits that long
// after each swap: a runtime that looks paths up many times in a row
// (/proc/sys, /proc/kcore ...) then sees most of them agree, and a swap
// falls between two of its steps rather than inside every one.
//
// The checks VolumeMountPointNeverWritesTheHost,
// NestedVolumeStaysInsideTheContainer, RoVolumeStaysReadOnlyWhileRaced,
// ProcStaysMaskedWhileRaced, WorkdirIsNeverMadeThroughAMagicLink and
// CommitNeverCopiesHostFiles run it.
//
// It is linked statically (CGO_ENABLED=0: the busybox rootfs has no C
// library) and bind-mounted into the attacker's container read-only, as
// make does for bin/attacks:
//
//	tinyrun run -d -v $PWD/bin/swap:/swap:ro -v /srv/shared:/data busybox /swap /data/a /data/b
//
// Read: man 2 rename (renameat2, RENAME_EXCHANGE).
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	pause := flag.Duration("pause", 0, "how long to wait after each swap (0: not at all)")
	flag.Parse()
	args := flag.Args()
	if len(args) < 2 || len(args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: swap [-pause DURATION] PATH1 PATH2 [SECONDS]")
		os.Exit(2)
	}
	var stop time.Time // zero: until killed
	if len(args) == 3 {
		seconds, err := strconv.Atoi(args[2])
		if err != nil || seconds <= 0 {
			fmt.Fprintf(os.Stderr, "swap: %q is not a number of seconds\n", args[2])
			os.Exit(2)
		}
		stop = time.Now().Add(time.Duration(seconds) * time.Second)
	}
	swaps, err := swap(args[0], args[1], *pause, stop)
	if err != nil {
		fmt.Fprintf(os.Stderr, "swap: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("swapped %d times\n", swaps)
}

// swap exchanges a and b until stop (never, if stop is zero), or, if b is
// not there, moves a to b and back, waiting pause after each time; it
// returns how many times it did.
func swap(a, b string, pause time.Duration, stop time.Time) (int, error) {
	if _, err := os.Lstat(a); err != nil {
		return 0, err
	}
	once := exchange
	if _, err := os.Lstat(b); os.IsNotExist(err) {
		once = moveThere
	} else if err != nil {
		return 0, err
	}
	fmt.Println("swapping")
	// The clock is read every 1024 rounds (every other one with a pause),
	// always after an even number of them: a moved path is back in place.
	every := 1024
	if pause > 0 {
		every = 2
	}
	swaps := 0
	for ; stop.IsZero() || swaps%every != 0 || time.Now().Before(stop); swaps++ {
		if err := once(a, b); err != nil {
			return swaps, err
		}
		a, b = b, a
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	return swaps, nil
}

// exchange swaps the names a and b in one step (renameat2 with
// RENAME_EXCHANGE, Linux 3.15).
func exchange(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("exchange %s and %s: %w", a, b, err)
	}
	return nil
}

// moveThere renames a to b. A plain rename(2): whatever the runtime made at
// b while it was free is replaced.
func moveThere(a, b string) error {
	if err := unix.Rename(a, b); err != nil {
		return fmt.Errorf("rename %s to %s: %w", a, b, err)
	}
	return nil
}
