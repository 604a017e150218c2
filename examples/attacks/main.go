// Command attacks tries, from inside a container, what root in a container
// must not be able to do, and says for each attempt whether the kernel let
// it through. docs/08-security.md runs it in a default container, where
// every attempt is refused, and with --privileged, where some get through.
//
//	attacks NAME[=VALUE]...      try these, in order
//	attacks all [NAME=VALUE...]  try every one but device and exe-watch (VALUEs as given)
//	attacks list                 name every attempt, with what it tries
//
// Each attempt prints exactly one line (exe-watch: one per process it
// caught, and a count):
//
//	NAME: refused (what stopped it)
//	NAME: SUCCEEDED (what it reached)
//	NAME: could not try (why: the attempt itself could not be set up)
//
// and attacks exits with 1 if any attempt succeeded, else 3 if any could not
// be tried, else 0; with 2 for bad usage.
//
// Every attempt is harmless to the host even when it succeeds, because the
// tool also runs with --privileged and against runtimes without defences:
// each one is built so that the permission check is what it observes, and
// stops there. A module image that is empty, reboot(2) with wrong magic
// numbers, settimeofday(2) with nothing to set, a device read and never
// written, a sysctl written back with the value it had, /proc/sysrq-trigger
// opened and never written, a runtime's binary opened for writing and
// closed at once. What a successful attempt changes (a mount, a namespace)
// belongs to the container, and is undone before the attempt returns.
//
// The attempts, and the defence each one meets in a default container:
//
//	module          init_module(2)             CAP_SYS_MODULE; seccomp
//	reboot          reboot(2)                  CAP_SYS_BOOT; seccomp
//	clock           settimeofday(2)            CAP_SYS_TIME; seccomp
//	mount           mount(2) a tmpfs           CAP_SYS_ADMIN; seccomp
//	mknod-disk      a node for the host's disk CAP_MKNOD; the rootfs is nodev
//	device=PATH     open a device node PATH    nodev on the rootfs and volumes
//	unshare         new namespaces             CAP_SYS_ADMIN; seccomp
//	kcore           read /proc/kcore           masked (/dev/null over it)
//	core-pattern    write a kernel sysctl      /proc/sys read-only
//	sysrq           /proc/sysrq-trigger        read-only
//	sys-remount     make /sys writable         CAP_SYS_ADMIN; seccomp
//	open-by-handle  open_by_handle_at(2)       CAP_DAC_READ_SEARCH; seccomp
//	chroot[=PATH]   chapter 03's chroot escape pivot_root, not chroot
//	cwd             climb from the working dir -w checked inside the root
//	fds             the runtime's descriptors  close-on-exec
//	exe-watch=SECS  the runtime's binary, through /proc/PID/exe:
//	                                           a copy of it that cannot be written
//
// exe-watch is not in "all": it watches for SECONDS (exe-watch=10, or
// exe-watch 10) while something else runs the runtime in the container.
//
// The program is linked statically (CGO_ENABLED=0: the busybox rootfs has no
// C library) and is bind-mounted into a container read-only, as make does:
//
//	tinyrun run --rm -v $PWD/bin/attacks:/attacks:ro busybox /attacks all
//
// Read: man 7 capabilities, man 2 seccomp, man 5 proc, man 2 open_by_handle_at.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// verdict is how one attempt, or one process exe-watch caught, ended.
type verdict struct {
	kind   string // refused, SUCCEEDED, could not try, or "" for a note
	detail string
}

func refused(format string, args ...any) verdict {
	return verdict{"refused", fmt.Sprintf(format, args...)}
}

func succeeded(format string, args ...any) verdict {
	return verdict{"SUCCEEDED", fmt.Sprintf(format, args...)}
}

func couldNotTry(format string, args ...any) verdict {
	return verdict{"could not try", fmt.Sprintf(format, args...)}
}

// attempt is one thing root in a container must not be able to do.
type attempt struct {
	name  string
	about string // what it tries, for "attacks list"
	inAll bool   // "attacks all" runs it
	// try runs the attempt with its VALUE ("" if none given) and says how
	// it went: one verdict, or several (exe-watch).
	try func(value string) []verdict
}

// attempts, in the order "all" runs them.
var attempts = []attempt{
	{"module", "load a kernel module: init_module(2) with an empty image", true, one(tryModule)},
	{"reboot", "reboot(2), with wrong magic numbers: only its permission check", true, one(tryReboot)},
	{"clock", "set the host's clock: settimeofday(2) with nothing to set", true, one(tryClock)},
	{"mount", "mount a tmpfs on a new directory under /tmp", true, one(tryMount)},
	{"mknod-disk", "make a device node for the host's first disk under /tmp, and read it", true, one(tryMknodDisk)},
	{"device", "open a device node already there, device=PATH, and read it (never write)", false, one(tryDevice)},
	{"unshare", "make new namespaces: unshare(2) each kind, and a child in a new user namespace", true, one(tryUnshare)},
	{"kcore", "read the kernel's memory through /proc/kcore", true, one(tryKcore)},
	{"core-pattern", "write /proc/sys/kernel/core_pattern (its own value back)", true, one(tryCorePattern)},
	{"sysrq", "open /proc/sysrq-trigger for writing (never written)", true, one(trySysrq)},
	{"sys-remount", "remount /sys read-write (then back)", true, one(trySysRemount)},
	{"open-by-handle", "open the root inode by handle: open_by_handle_at(2), the \"shocker\" escape", true, one(tryOpenByHandle)},
	{"chroot", "chapter 03's chroot escape, then find chroot=PATH, a path only the host has", true, one(tryChroot)},
	{"cwd", "climb from the working directory to a root other than the container's", true, one(tryWorkingDirectory)},
	{"fds", "use a descriptor the runtime left open (any beyond 0, 1, 2)", true, one(tryDescriptors)},
	{"exe-watch", "for exe-watch=SECONDS, catch runtime processes and open their /proc/PID/exe for writing", false, tryExeWatch},
}

// one adapts an attempt of a single verdict.
func one(try func(value string) verdict) func(string) []verdict {
	return func(value string) []verdict { return []verdict{try(value)} }
}

// inherited lists the descriptors this process was started with, beyond 0,
// 1 and 2, as "N -> target": read first thing in main, before Go or any
// attempt opens a file of its own.
var inherited []string

// Internal commands: the attempts that must run in a process of their own
// start this program again with one of these as its only arguments.
const (
	childDoNothing = "internal-noop"          // the child in a new user namespace
	childChroot    = "internal-chroot-escape" // the chroot escape, which moves this process's root
)

func main() {
	inherited = listInheritedDescriptors()
	args := os.Args[1:]
	if len(args) > 0 && args[0] == childDoNothing {
		return
	}
	if len(args) > 0 && args[0] == childChroot {
		os.Exit(chrootEscapeChild(args[1:]))
	}
	if len(args) == 1 && args[0] == "list" {
		for _, a := range attempts {
			if a.inAll {
				fmt.Printf("%-15s %s\n", a.name, a.about)
			} else {
				fmt.Printf("%-15s %s (not in all)\n", a.name, a.about)
			}
		}
		return
	}
	chosen, err := parseArguments(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "attacks: %v\nusage: attacks NAME[=VALUE]... | attacks all [NAME=VALUE...] | attacks list\n", err)
		os.Exit(2)
	}
	status := 0
	for _, c := range chosen {
		for _, v := range c.attempt.try(c.value) {
			if v.kind == "" {
				fmt.Printf("%s: %s\n", c.attempt.name, v.detail)
				continue
			}
			fmt.Printf("%s: %s (%s)\n", c.attempt.name, v.kind, v.detail)
			switch {
			case v.kind == "SUCCEEDED":
				status = 1
			case v.kind == "could not try" && status == 0:
				status = 3
			}
		}
	}
	os.Exit(status)
}

// chosenAttempt is an attempt to run, with its value.
type chosenAttempt struct {
	attempt attempt
	value   string
}

// parseArguments turns NAME[=VALUE]... (or all, with values) into the
// attempts to run, in order, each once. "exe-watch 5" is exe-watch=5.
func parseArguments(args []string) ([]chosenAttempt, error) {
	if len(args) == 0 {
		return nil, errors.New("name the attempts to try, or all")
	}
	values := map[string]string{}
	var names []string
	all := false
	for i := 0; i < len(args); i++ {
		name, value, _ := strings.Cut(args[i], "=")
		if name == "all" {
			all = true
			continue
		}
		if _, ok := find(name); !ok {
			return nil, fmt.Errorf("no attempt %q: 'attacks list' names them", name)
		}
		if name == "exe-watch" && value == "" && i+1 < len(args) {
			if _, err := strconv.Atoi(args[i+1]); err == nil {
				value = args[i+1]
				i++
			}
		}
		values[name] = value
		names = append(names, name)
	}
	if all {
		// Every attempt of all, then those named beside it, in the table's order.
		names = nil
		for _, a := range attempts {
			if _, named := values[a.name]; a.inAll || named {
				names = append(names, a.name)
			}
		}
	}
	var chosen []chosenAttempt
	seen := map[string]bool{}
	for _, name := range names {
		if !seen[name] {
			seen[name] = true
			a, _ := find(name)
			chosen = append(chosen, chosenAttempt{a, values[name]})
		}
	}
	return chosen, nil
}

// find returns the attempt called name.
func find(name string) (attempt, bool) {
	for _, a := range attempts {
		if a.name == name {
			return a, true
		}
	}
	return attempt{}, false
}

// errnoText names an error's errno the way man pages do: "EPERM (operation
// not permitted)".
func errnoText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s (%s)", unix.ErrnoName(errno), errno.Error())
	}
	return err.Error()
}

// isPermissionError reports whether err is one of the errors that a
// permission check returns: EPERM (a capability, seccomp), EACCES (modes,
// nodev), EROFS (a read-only mount).
func isPermissionError(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EROFS)
}

// The kernel's own operations. Each asks the kernel to do something only
// the host's administrator may, in a form that does nothing even when it
// is allowed: what comes back says whether the permission check passed.

// tryModule: init_module(2) checks CAP_SYS_MODULE first (EPERM), and only
// then reads the image, where an empty one is ENOEXEC: nothing is loaded.
func tryModule(string) verdict {
	err := unix.InitModule(nil, "")
	switch {
	case errors.Is(err, unix.EPERM):
		return refused("%s", errnoText(err))
	case errors.Is(err, unix.ENOSYS):
		return refused("this kernel loads no modules: %s", errnoText(err))
	case err == nil:
		return succeeded("the kernel accepted an empty module image")
	}
	return succeeded("reached the module loader, which rejected the empty image: %s", errnoText(err))
}

// tryReboot: reboot(2) checks CAP_SYS_BOOT (EPERM) before its magic
// numbers (EINVAL). These are wrong on purpose: never a valid magic, so
// the call can never reboot anything. (unix.Reboot passes valid ones.)
func tryReboot(string) verdict {
	const wrongMagic = 0x7a11 // LINUX_REBOOT_MAGIC1 is 0xfee1dead
	_, _, errno := unix.Syscall6(unix.SYS_REBOOT, wrongMagic, wrongMagic, 0, 0, 0, 0)
	if errno == unix.EPERM {
		return refused("%s", errnoText(errno))
	}
	return succeeded("passed the CAP_SYS_BOOT check; the wrong magic numbers were then refused: %s", errnoText(errno))
}

// tryClock: settimeofday(NULL, NULL) checks CAP_SYS_TIME and then has
// nothing to set: the clock stays as it is.
func tryClock(string) verdict {
	_, _, errno := unix.Syscall(unix.SYS_SETTIMEOFDAY, 0, 0, 0)
	if errno == 0 {
		return succeeded("settimeofday passed the CAP_SYS_TIME check (with nothing to set)")
	}
	if errno == unix.EPERM {
		return refused("%s", errnoText(errno))
	}
	return succeeded("reached settimeofday: %s", errnoText(errno))
}

// tryMount mounts a tmpfs on a new directory of the container's /tmp, in
// the container's mount namespace, and unmounts it if it worked.
func tryMount(string) verdict {
	dir, err := os.MkdirTemp("/tmp", "attacks-mount-")
	if err != nil {
		return couldNotTry("make a directory to mount on: %v", err)
	}
	defer os.Remove(dir)
	err = unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16k")
	if err != nil {
		if isPermissionError(err) {
			return refused("%s", errnoText(err))
		}
		return succeeded("reached mount(2), which failed for another reason: %s", errnoText(err))
	}
	if err := unix.Unmount(dir, 0); err != nil {
		return succeeded("mounted a tmpfs on %s (and could not unmount it: %s)", dir, errnoText(err))
	}
	return succeeded("mounted a tmpfs on %s (unmounted again)", dir)
}

// tryMknodDisk makes a block device node for the host's first disk in the
// container's /tmp, opens it read-only and reads its first 512 bytes: a
// container that can do this can read the host's whole disk. It never
// writes, and removes the node whatever happens.
func tryMknodDisk(string) verdict {
	name, major, minor := firstDisk()
	dir, err := os.MkdirTemp("/tmp", "attacks-mknod-")
	if err != nil {
		return couldNotTry("make a directory for the node: %v", err)
	}
	defer os.RemoveAll(dir)
	node := filepath.Join(dir, name)
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(unix.Mkdev(major, minor))); err != nil {
		if isPermissionError(err) {
			return refused("mknod %s %d:%d: %s", name, major, minor, errnoText(err))
		}
		return couldNotTry("mknod %s %d:%d: %s", name, major, minor, errnoText(err))
	}
	defer os.Remove(node)
	return readDevice(node, fmt.Sprintf("%s (%d:%d)", name, major, minor))
}

// tryDevice opens a device node that is already there (the test puts one
// in a volume) and reads it, never writing: nodev must stop the open.
func tryDevice(path string) verdict {
	if path == "" {
		return couldNotTry("give the node's path: device=PATH")
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return couldNotTry("stat %s: %s", path, errnoText(err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK && st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return couldNotTry("%s is not a device node", path)
	}
	return readDevice(path, fmt.Sprintf("%s (%d:%d)", path, unix.Major(st.Rdev), unix.Minor(st.Rdev)))
}

// readDevice opens the device node path read-only and reads 512 bytes.
// EACCES from open is nodev; EPERM a device policy (a cgroup's).
func readDevice(path, what string) verdict {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		if isPermissionError(err) {
			return refused("open %s: %s", what, errnoText(err))
		}
		return succeeded("reached the device %s: open: %s", what, errnoText(err))
	}
	defer f.Close()
	n, err := f.Read(make([]byte, 512))
	if err != nil && n == 0 {
		return succeeded("opened the device %s; reading it gave %s", what, errnoText(err))
	}
	return succeeded("opened the device %s and read %d bytes of it", what, n)
}

// firstDisk returns the name and number of the first whole disk the kernel
// lists in /sys/class/block (not a loop, RAM or zram device, nor a
// partition), or loop0 (7:0) if there is none.
func firstDisk() (name string, major, minor uint32) {
	entries, _ := os.ReadDir("/sys/class/block")
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/class/block", n, "partition")); err == nil {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join("/sys/class/block", n, "dev"))
		if err != nil {
			continue
		}
		maj, min, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
		a, err1 := strconv.ParseUint(maj, 10, 32)
		b, err2 := strconv.ParseUint(min, 10, 32)
		if ok && err1 == nil && err2 == nil {
			return n, uint32(a), uint32(b)
		}
	}
	return "loop0", 7, 0
}

// tryUnshare asks for each kind of namespace. unshare(2) changes only the
// calling thread here, so each try runs on a goroutine locked to a thread
// of its own that is never unlocked: Go ends that thread with the
// goroutine, and no other code ever runs in what it joined. A user
// namespace cannot be unshared by a process with threads (EINVAL), so that
// one is a child, this program doing nothing.
func tryUnshare(string) verdict {
	kinds := []struct {
		name string
		flag int
	}{
		{"mount", unix.CLONE_NEWNS}, {"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC},
		{"net", unix.CLONE_NEWNET}, {"pid", unix.CLONE_NEWPID}, {"cgroup", unix.CLONE_NEWCGROUP},
	}
	var made, refusedWith []string
	for _, k := range kinds {
		done := make(chan error)
		go func() {
			runtime.LockOSThread() // and never unlocked: the thread dies with this goroutine
			done <- unix.Unshare(k.flag)
		}()
		if err := <-done; err == nil {
			made = append(made, k.name)
		} else {
			refusedWith = append(refusedWith, k.name+": "+errnoText(err))
		}
	}
	// Once started, the child was in a new user namespace, however it ends.
	child := exec.Command("/proc/self/exe", childDoNothing)
	child.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
	if err := child.Start(); err == nil {
		_ = child.Wait()
		made = append(made, "user (a child)")
	} else {
		refusedWith = append(refusedWith, "user (a child): "+errnoText(err))
	}
	if len(made) > 0 {
		return succeeded("made new namespaces: %s", strings.Join(made, ", "))
	}
	return refused("%s", strings.Join(refusedWith, "; "))
}

// tryKcore reads the start of /proc/kcore, the kernel's memory as an ELF
// core file. Masked, it is /dev/null, which reads nothing.
func tryKcore(string) verdict {
	f, err := os.Open("/proc/kcore")
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return refused("this kernel has no /proc/kcore: %s", errnoText(err))
		}
		return refused("open /proc/kcore: %s", errnoText(err))
	}
	defer f.Close()
	n, err := f.Read(make([]byte, 64))
	if n == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return refused("read /proc/kcore: %s", errnoText(err))
		}
		return refused("/proc/kcore reads as empty: masked")
	}
	return succeeded("read %d bytes of the kernel's memory from /proc/kcore", n)
}

// tryCorePattern opens the host's core_pattern sysctl for writing and, if
// that works, writes back the very value it read: the kernel runs the
// program core_pattern names, as root on the host, when a process dumps
// core, so a container that can write it runs code on the host.
func tryCorePattern(string) verdict {
	const path = "/proc/sys/kernel/core_pattern"
	value, readErr := os.ReadFile(path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		if isPermissionError(err) {
			return refused("open %s for writing: %s", path, errnoText(err))
		}
		return couldNotTry("open %s for writing: %s", path, errnoText(err))
	}
	defer f.Close()
	if readErr != nil || len(value) == 0 {
		return succeeded("opened %s for writing (not written: its value could not be read)", path)
	}
	if _, err := f.Write(value); err != nil {
		return succeeded("opened %s for writing; writing its own value back failed: %s", path, errnoText(err))
	}
	return succeeded("wrote %s (its own value, %q, back)", path, strings.TrimSpace(string(value)))
}

// trySysrq opens /proc/sysrq-trigger for writing, and never writes: one
// letter written there reboots the host, or crashes it.
func trySysrq(string) verdict {
	f, err := os.OpenFile("/proc/sysrq-trigger", os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return refused("this kernel has no /proc/sysrq-trigger: %s", errnoText(err))
		}
		if isPermissionError(err) {
			return refused("open /proc/sysrq-trigger for writing: %s", errnoText(err))
		}
		return couldNotTry("open /proc/sysrq-trigger for writing: %s", errnoText(err))
	}
	f.Close() // not a byte written
	return succeeded("opened /proc/sysrq-trigger for writing (and closed it unwritten)")
}

// trySysRemount remounts the container's /sys without MS_RDONLY: a bind
// remount changes the flags of this one mount, in the container's mount
// namespace. If that works, it puts the flags back as they were
// (read-only, in a container).
func trySysRemount(string) verdict {
	was := sysMountFlags()
	err := unix.Mount("", "/sys", "", unix.MS_REMOUNT|unix.MS_BIND|was&^unix.MS_RDONLY, "") // nosuid, nodev, noexec kept
	if err != nil {
		if isPermissionError(err) {
			return refused("%s", errnoText(err))
		}
		return succeeded("reached mount(2), which failed for another reason: %s", errnoText(err))
	}
	if err := unix.Mount("", "/sys", "", unix.MS_REMOUNT|unix.MS_BIND|was, ""); err != nil {
		return succeeded("remounted /sys read-write (and could not put its flags back: %s)", errnoText(err))
	}
	return succeeded("remounted /sys read-write (then put its flags back)")
}

// sysMountFlags returns the per-mount flags of /sys, from its line of
// /proc/self/mountinfo (man 5 proc: the sixth field).
func sysMountFlags() uintptr {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var flags uintptr
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[4] != "/sys" {
			continue
		}
		flags = 0 // the last mount on /sys is the one seen there
		for _, option := range strings.Split(f[5], ",") {
			switch option {
			case "ro":
				flags |= unix.MS_RDONLY
			case "nosuid":
				flags |= unix.MS_NOSUID
			case "nodev":
				flags |= unix.MS_NODEV
			case "noexec":
				flags |= unix.MS_NOEXEC
			}
		}
	}
	return flags
}

// tryOpenByHandle is the "shocker" escape (2014): open_by_handle_at(2)
// opens a file by the number its filesystem knows it by, from any
// directory of that filesystem, so a handle forged for the root inode (2,
// on ext4) opens the filesystem's root, wherever the container's root is.
// CAP_DAC_READ_SEARCH is checked first (EPERM); anything else means the
// call reached the filesystem. The file, if opened, is closed unread.
func tryOpenByHandle(string) verdict {
	root, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return couldNotTry("open /: %s", errnoText(err))
	}
	defer unix.Close(root)
	// FILEID_INO32_GEN (type 1): a 32-bit inode number, then a generation.
	handle := unix.NewFileHandle(1, []byte{2, 0, 0, 0, 0, 0, 0, 0})
	fd, err := unix.OpenByHandleAt(root, handle, unix.O_RDONLY|unix.O_CLOEXEC)
	if err == nil {
		unix.Close(fd)
		return succeeded("opened inode 2 of the filesystem of / by its handle")
	}
	if errors.Is(err, unix.EPERM) {
		return refused("%s", errnoText(err))
	}
	return succeeded("passed the CAP_DAC_READ_SEARCH check; the filesystem then said %s", errnoText(err))
}

// tryChroot runs chapter 03's chroot escape in a child (it moves the root
// directory of the whole process) and reports what the child found.
func tryChroot(hostPath string) verdict {
	var out bytes.Buffer
	child := exec.Command("/proc/self/exe", childChroot, hostPath)
	child.Stdout = &out
	err := child.Run()
	line := strings.TrimSpace(out.String())
	kind, detail, ok := strings.Cut(line, ": ")
	switch {
	case ok && kind == "refused":
		return refused("%s", detail)
	case ok && kind == "SUCCEEDED":
		return succeeded("%s", detail)
	case err != nil:
		return couldNotTry("the escape's child: %v %s", err, line)
	}
	return couldNotTry("the escape's child said %q", line)
}

// chrootEscapeChild is the child of tryChroot: the escape of
// examples/chroot-escape, then a look at where it ended. It prints
// "refused: ..." or "SUCCEEDED: ..." and returns the exit status.
func chrootEscapeChild(args []string) int {
	hostPath := ""
	if len(args) > 0 {
		hostPath = args[0]
	}
	var before unix.Stat_t
	if err := unix.Stat("/", &before); err != nil {
		fmt.Printf("could not try: stat /: %s\n", errnoText(err))
		return 3
	}
	if err := unix.Chdir("/"); err != nil {
		fmt.Printf("could not try: chdir /: %s\n", errnoText(err))
		return 3
	}
	jail, err := os.MkdirTemp("/tmp", "attacks-jail-")
	if err != nil {
		fmt.Printf("could not try: make the jail: %v\n", err)
		return 3
	}
	// chroot without chdir: "/" moves into jail, "." stays outside it.
	if err := unix.Chroot(jail); err != nil {
		os.Remove(jail)
		fmt.Printf("refused: chroot: %s\n", errnoText(err))
		return 0
	}
	_ = unix.Rmdir("." + jail) // "." is still the old "/"
	// Climb: the kernel stops ".." only at this process's root, which a
	// climb from outside it never meets; or at the top of the mount tree.
	for i := 0; i < 64; i++ {
		if err := unix.Chdir(".."); err != nil {
			fmt.Printf("could not try: chdir ..: %s\n", errnoText(err))
			return 3
		}
	}
	if err := unix.Chroot("."); err != nil {
		fmt.Printf("could not try: chroot .: %s\n", errnoText(err))
		return 3
	}
	var after unix.Stat_t
	if err := unix.Stat("/", &after); err != nil {
		fmt.Printf("could not try: stat / after the climb: %s\n", errnoText(err))
		return 3
	}
	found := ""
	if hostPath != "" {
		if _, err := os.Lstat(hostPath); err == nil {
			found = ", where " + hostPath + " is"
		}
	}
	if after.Dev != before.Dev || after.Ino != before.Ino || found != "" {
		fmt.Printf("SUCCEEDED: climbed out to a root other than the container's%s\n", found)
		return 1
	}
	if hostPath != "" {
		fmt.Printf("refused: the climb stopped at the container's root, where %s is not\n", hostPath)
	} else {
		fmt.Printf("refused: the climb stopped at the container's root\n")
	}
	return 0
}

// tryWorkingDirectory climbs from the working directory through ".." until
// a directory is its own parent, and compares that top with "/": from a
// directory of the host (a runtime's descriptor as -w /proc/self/fd/N, the
// class of CVE-2024-21626) the climb ends at the host's root instead.
func tryWorkingDirectory(string) verdict {
	dir, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return couldNotTry("open .: %s", errnoText(err))
	}
	for i := 0; i < 4096; i++ {
		parent, err := unix.Openat(dir, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(dir)
			return couldNotTry("open ..: %s", errnoText(err))
		}
		if sameFile(dir, parent) {
			unix.Close(parent)
			break
		}
		unix.Close(dir)
		dir = parent
	}
	defer unix.Close(dir)
	var top, root unix.Stat_t
	if err := unix.Fstat(dir, &top); err != nil {
		return couldNotTry("stat the top: %s", errnoText(err))
	}
	if err := unix.Stat("/", &root); err != nil {
		return couldNotTry("stat /: %s", errnoText(err))
	}
	if top.Dev == root.Dev && top.Ino == root.Ino {
		return refused("the working directory is inside the container's root")
	}
	names, _ := listDirectory(dir, 8)
	return succeeded("the working directory climbs to a root other than the container's, holding %s", strings.Join(names, " "))
}

// sameFile reports whether two descriptors are the same file.
func sameFile(a, b int) bool {
	var sa, sb unix.Stat_t
	return unix.Fstat(a, &sa) == nil && unix.Fstat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// listDirectory returns up to most names in the directory dir (an O_PATH
// descriptor), sorted.
func listDirectory(dir, most int) ([]string, error) {
	fd, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var names []string
	buf := make([]byte, 8192)
	for len(names) < most {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], most-len(names), names)
	}
	sort.Strings(names)
	return names, nil
}

// tryDescriptors reports the descriptors this program started with beyond
// 0, 1 and 2: from the runtime, they may be a pipe, a directory or a file
// of the host, outside every namespace.
func tryDescriptors(string) verdict {
	if len(inherited) > 0 {
		return succeeded("started with %s", strings.Join(inherited, ", "))
	}
	return refused("started with only 0, 1 and 2")
}

// listInheritedDescriptors reads /proc/self/fd with raw system calls (no
// os.File, which could start Go's poller and its descriptors) and returns
// each descriptor above 2 but its own, with what it refers to.
func listInheritedDescriptors() []string {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{"(cannot list /proc/self/fd: " + errnoText(err) + ")"}
	}
	defer unix.Close(dir)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var found []string
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd <= 2 || fd == dir {
			continue
		}
		target := make([]byte, 4096)
		n, err := unix.Readlink("/proc/self/fd/"+name, target)
		if err != nil {
			found = append(found, name)
			continue
		}
		found = append(found, name+" -> "+string(target[:n]))
	}
	return found
}

// exe-watch: the runtime's own binary, seen from inside (CVE-2019-5736).
//
// A runtime runs its own binary inside the container for a moment: the
// container's first process before it execs the command, and exec's
// process that joins the container. While one runs, /proc/PID/exe is a
// link to the binary it runs, and a process of the container that opens
// it holds a descriptor of the host's runtime binary, outside the
// container's root. Once no process runs that file any more (until then,
// the kernel refuses to open it for writing: ETXTBSY, "text file busy"),
// it can be opened for writing through that descriptor (/proc/self/fd/N),
// and the next run of the runtime, as root on the host, runs what the
// container wrote. So a runtime runs from a copy that cannot be written:
// a copy in memory sealed against writing (memfd_create(2), F_SEAL_WRITE),
// or the binary on a read-only mount of its own.
//
// exe-watch polls /proc for SECONDS, for every process but itself: each
// one whose argv[0] is "tinyrun", or whose executable is neither busybox
// nor this program, is a runtime process; it opens its /proc/PID/exe with
// O_PATH (no access to the file's data: only a handle) and keeps it. Then,
// for each, it opens /proc/self/fd/N for writing, without O_TRUNC, and
// closes it at once: never a byte written. If that fails only because the
// file is being run (ETXTBSY), which is no defence (it lasts while some
// process runs the file), it looks for the defence that would hold after:
// a read-only mount under the handle (fstatfs(2), ST_RDONLY), or seals.

// runtimeName is the argv[0] the runtime's processes show.
const runtimeName = "tinyrun"

// mostKept bounds the handles exe-watch keeps.
const mostKept = 256

// watched is a process exe-watch has seen.
type watched struct {
	pid     int
	argv0   string
	exe     int    // an O_PATH descriptor of its executable, or -1
	target  string // where /proc/PID/exe pointed, once opened
	err     error  // why its executable could not be opened, if not
	runtime bool   // a process of the runtime, to report
	done    bool   // nothing more to learn about it
}

func tryExeWatch(value string) []verdict {
	seconds := 10
	if value != "" {
		n, err := strconv.Atoi(value)
		if err != nil || n <= 0 {
			return []verdict{couldNotTry("exe-watch=%q: want a number of seconds", value)}
		}
		seconds = n
	}
	ordinary, err := ordinaryExecutables()
	if err != nil {
		return []verdict{couldNotTry("%v", err)}
	}
	self := os.Getpid()
	seen := map[int]*watched{}
	var order []*watched
	kept := 0
	for deadline := time.Now().Add(time.Duration(seconds) * time.Second); time.Now().Before(deadline); {
		for _, pid := range listProcesses() {
			if pid == self {
				continue
			}
			w := seen[pid]
			if w == nil {
				w = &watched{pid: pid, exe: -1}
				seen[pid] = w
				order = append(order, w)
			}
			if !w.done && kept < mostKept {
				if look(w, ordinary) {
					kept++
				}
			}
		}
		runtime.Gosched()
	}
	var verdicts []verdict
	caught := 0
	for _, w := range order {
		if !w.runtime {
			continue
		}
		caught++
		verdicts = append(verdicts, attackExecutable(w))
	}
	verdicts = append(verdicts, verdict{"", fmt.Sprintf("caught %d runtime processes (argv[0] %q, or an executable other than busybox and this program) in %d s", caught, runtimeName, seconds)})
	return verdicts
}

// look learns what it can about w: its argv[0] and a handle of its
// executable. It returns whether it kept a new handle.
func look(w *watched, ordinary []unix.Stat_t) bool {
	before, err := argv0(w.pid)
	if err != nil {
		w.done = true // gone
		return false
	}
	fd, openErr := unix.Open(fmt.Sprintf("/proc/%d/exe", w.pid), unix.O_PATH|unix.O_CLOEXEC, 0)
	after, _ := argv0(w.pid)
	if before != after { // it ran execve(2) meanwhile: which executable this is, is unknown
		if openErr == nil {
			unix.Close(fd)
		}
		return false
	}
	if before == runtimeName {
		w.runtime, w.argv0 = true, before
	}
	if openErr != nil {
		// Kernel threads and zombies have no executable; a process with
		// capabilities this one lacks cannot be looked into (EACCES):
		// keep trying while it is the runtime, it may drop them.
		w.err = openErr
		w.done = !w.runtime
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err == nil {
		for _, o := range ordinary {
			if st.Dev == o.Dev && st.Ino == o.Ino {
				unix.Close(fd)
				w.done = true
				return false
			}
		}
	}
	target := make([]byte, 4096)
	if n, err := unix.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd), target); err == nil {
		w.target = string(target[:n])
	}
	w.exe, w.argv0, w.runtime, w.done, w.err = fd, before, true, true, nil
	return true
}

// attackExecutable opens w's executable for writing through the handle
// exe-watch kept, closes it at once, and says how that went.
func attackExecutable(w *watched) verdict {
	who := fmt.Sprintf("pid %d, argv[0] %q", w.pid, w.argv0)
	if w.exe < 0 {
		return refused("%s: open its /proc/PID/exe: %s", who, errnoText(w.err))
	}
	who += fmt.Sprintf(", exe %q", w.target)
	handle := fmt.Sprintf("/proc/self/fd/%d", w.exe)
	fd, err := unix.Open(handle, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		sealed := sealedAgainstWriting(fd)
		unix.Close(fd) // not a byte written
		if sealed {
			return refused("%s: sealed against writing (F_SEAL_WRITE)", who)
		}
		return succeeded("%s: opened its executable for writing (and closed it unwritten)", who)
	}
	if !errors.Is(err, unix.ETXTBSY) {
		return refused("%s: open for writing: %s", who, errnoText(err))
	}
	// Running now: what would stop the write once nothing runs it?
	var fs unix.Statfs_t
	if unix.Fstatfs(w.exe, &fs) == nil && fs.Flags&unix.ST_RDONLY != 0 {
		return refused("%s: open for writing: %s, and it is on a read-only mount", who, errnoText(err))
	}
	if fd, err := unix.Open(handle, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		sealed := sealedAgainstWriting(fd)
		unix.Close(fd)
		if sealed {
			return refused("%s: open for writing: ETXTBSY, and it is sealed against writing (F_SEAL_WRITE)", who)
		}
	}
	return succeeded("%s: held a handle on a writable file, refused for writing only while a process runs it (%s)", who, errnoText(err))
}

// sealedAgainstWriting reports whether the open file fd is a memfd sealed
// against writing (man 2 memfd_create, "File sealing").
func sealedAgainstWriting(fd int) bool {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	return err == nil && seals&unix.F_SEAL_WRITE != 0
}

// ordinaryExecutables are the files whose processes exe-watch ignores:
// busybox and this program.
func ordinaryExecutables() ([]unix.Stat_t, error) {
	var files []unix.Stat_t
	for _, path := range []string{"/bin/busybox", "/proc/self/exe"} {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			if path == "/bin/busybox" {
				continue // an image without busybox
			}
			return nil, fmt.Errorf("stat %s: %s", path, errnoText(err))
		}
		files = append(files, st)
	}
	return files, nil
}

// listProcesses returns the PIDs in /proc, read with raw system calls, as
// fast as they can be: the window exe-watch looks for lasts milliseconds.
func listProcesses() []int {
	dir, err := unix.Open("/proc", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dir)
	var names []string
	buf := make([]byte, 32768)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var pids []int
	for _, name := range names {
		if pid, err := strconv.Atoi(name); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// argv0 returns the first argument of pid's command line.
func argv0(pid int) (string, error) {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/cmdline", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	buf := make([]byte, 256)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return "", err
	}
	first, _, _ := bytes.Cut(buf[:n], []byte{0})
	return string(first), nil
}
