// UTS namespace: the container's own hostname.
//
// The kernel keeps a hostname and an NIS domain name per UTS namespace
// ("UTS" is the struct utsname that uname(2) fills in). A process in a new
// UTS namespace starts with a copy of its parent's names, and sethostname(2)
// then changes only its own namespace's copy: the host keeps its hostname.
//
// Order: the parent adds utsCloneFlags to clone(2) (run, in main.go), and the
// child calls setHostname before it execs the command (initContainer).
// validateHostname runs in the parent first, so a bad name fails before
// anything is created.
//
// Read: man 7 uts_namespaces, man 7 namespaces, man 2 sethostname.
package main

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// utsCloneFlags asks clone(2) for a new UTS namespace for the child.
const utsCloneFlags = unix.CLONE_NEWUTS

// maxHostnameLength is HOST_NAME_MAX: sethostname(2) fails with EINVAL on a
// longer name.
const maxHostnameLength = 64

// validateHostname checks a hostname before any namespace exists. It
// accepts what RFC 1123 allows: dot-separated labels of 1 to 63 letters,
// digits and '-', a label neither starting nor ending with '-'.
func validateHostname(name string) error {
	if len(name) > maxHostnameLength {
		return fmt.Errorf("hostname %q is longer than %d bytes: choose a shorter --hostname", name, maxHostnameLength)
	}
	for _, label := range strings.Split(name, ".") {
		if !validHostnameLabel(label) {
			return fmt.Errorf("hostname %q is not valid: use letters, digits and '-' (not first or last), in labels of 1 to 63 joined by '.'", name)
		}
	}
	return nil
}

// validHostnameLabel reports whether label is one valid part of a hostname.
func validHostnameLabel(label string) bool {
	if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for _, c := range label {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// setHostname sets the hostname of the UTS namespace the caller is in. Run
// from the child, it changes the container's hostname and not the host's.
func setHostname(name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("sethostname %q: %w", name, err)
	}
	return nil
}
