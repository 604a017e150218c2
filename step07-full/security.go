// Hardening: what root inside the container may still do, once it is in.
//
// The namespaces of the steps before give the container a world of its
// own, but its root is still the host's root to the kernel: a call the
// namespaces do not cover (load a module, set the clock, reboot, mount)
// acts on the whole machine. These defences, Docker's and runc's defaults,
// take those powers away, each in the container's last moment before its
// command runs (confine), so that the runtime's own setup keeps them:
//
//	capabilities     root keeps 13 of the 41 (man 7 capabilities), none
//	                 inheritable; a user given with -u keeps none
//	masked paths     /proc files that show or change the host, covered (maskPaths)
//	nodev            a device node of the image or a volume cannot be opened
//	                 (mountOverlay, bindVolumes): only /dev's few are usable
//	seccomp          an allow-list of system calls, Docker's default profile
//	                 (seccomp.go, seccomp_profile.go)
//	no_new_privs     with --security-opt no-new-privileges: no setuid program
//	                 gains anything (man 2 prctl, PR_SET_NO_NEW_PRIVS)
//	read-only binary the container's first process and exec's run from this
//	                 binary on a read-only mount of its own (readOnlyBinary)
//
// --privileged switches off the capabilities, the masked paths and the
// filter, for a classroom to watch the attacks succeed (docs/08-security.md):
// in a throwaway VM only. nodev and the read-only binary stay.
//
// Read: man 7 capabilities, man 2 capset, man 2 prctl, man 2 seccomp,
// man 2 open_tree, man 2 mount_setattr, man 5 passwd, man 5 group.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// security is what run's flags asked of the defences, checked; the record
// keeps it, and exec gives the same to the commands it runs.
type security struct {
	Capabilities    []string `json:"capabilities"` // what root keeps, by name (capabilityNumbers); all with Privileged
	Privileged      bool     `json:"privileged,omitempty"`
	NoNewPrivileges bool     `json:"noNewPrivileges,omitempty"`
	Seccomp         bool     `json:"seccomp"`        // a filter (seccomp.go); false: unconfined
	User            string   `json:"user,omitempty"` // -u as given, looked up in the container

	// The filter of --security-opt seccomp=FILE, resolved for Capabilities;
	// nil: tinyrun's default (seccompOf).
	SeccompProfile *specs.LinuxSeccomp `json:"seccompProfile,omitempty"`
}

var (
	capAddFlag      = &cli.StringSliceFlag{Name: "cap-add", Usage: "give root in the container a capability it lacks by default: NET_ADMIN, SYS_TIME, ... or ALL (man 7 capabilities)"}
	capDropFlag     = &cli.StringSliceFlag{Name: "cap-drop", Usage: "take a capability from root in the container: CHOWN, NET_RAW, ... or ALL"}
	privilegedFlag  = &cli.BoolFlag{Name: "privileged", Usage: "switch the defences off: every capability, no seccomp filter, /proc unmasked (for a throwaway VM only)"}
	securityOptFlag = &cli.StringSliceFlag{Name: "security-opt", Usage: "no-new-privileges (setuid programs gain nothing), seccomp=FILE (the system-call filter of a Docker seccomp profile, such as Docker's default.json), or seccomp=unconfined (no filter)"}
	userFlag        = &cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "run the command as UID[:GID] or NAME[:GROUP] of the container's /etc/passwd and /etc/group (default root)"}
)

// capabilityNumbers are the capabilities by name, as in man 7 capabilities
// without their CAP_ prefix; the kernel knows them by number.
var capabilityNumbers = map[string]int{
	"CHOWN": unix.CAP_CHOWN, "DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE, "DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH,
	"FOWNER": unix.CAP_FOWNER, "FSETID": unix.CAP_FSETID, "KILL": unix.CAP_KILL, "SETGID": unix.CAP_SETGID,
	"SETUID": unix.CAP_SETUID, "SETPCAP": unix.CAP_SETPCAP, "LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE,
	"NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "NET_BROADCAST": unix.CAP_NET_BROADCAST, "NET_ADMIN": unix.CAP_NET_ADMIN,
	"NET_RAW": unix.CAP_NET_RAW, "IPC_LOCK": unix.CAP_IPC_LOCK, "IPC_OWNER": unix.CAP_IPC_OWNER,
	"SYS_MODULE": unix.CAP_SYS_MODULE, "SYS_RAWIO": unix.CAP_SYS_RAWIO, "SYS_CHROOT": unix.CAP_SYS_CHROOT,
	"SYS_PTRACE": unix.CAP_SYS_PTRACE, "SYS_PACCT": unix.CAP_SYS_PACCT, "SYS_ADMIN": unix.CAP_SYS_ADMIN,
	"SYS_BOOT": unix.CAP_SYS_BOOT, "SYS_NICE": unix.CAP_SYS_NICE, "SYS_RESOURCE": unix.CAP_SYS_RESOURCE,
	"SYS_TIME": unix.CAP_SYS_TIME, "SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG, "MKNOD": unix.CAP_MKNOD,
	"LEASE": unix.CAP_LEASE, "AUDIT_WRITE": unix.CAP_AUDIT_WRITE, "AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL,
	"SETFCAP": unix.CAP_SETFCAP, "MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE, "MAC_ADMIN": unix.CAP_MAC_ADMIN,
	"SYSLOG": unix.CAP_SYSLOG, "WAKE_ALARM": unix.CAP_WAKE_ALARM, "BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND,
	"AUDIT_READ": unix.CAP_AUDIT_READ, "PERFMON": unix.CAP_PERFMON, "BPF": unix.CAP_BPF,
	"CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// defaultCapabilities are what root keeps in a container: Docker's default
// set but MKNOD. Each is a power over the container's own files, processes
// and network, not over the machine. MKNOD is left out because a device
// node made with it reaches the host's device of that number (its disk,
// say): runc keeps it only with a device list in the cgroup that decides
// which devices may be opened, and tinyrun keeps no such list.
var defaultCapabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
	"NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "AUDIT_WRITE", "SETFCAP",
}

// parseSecurity checks run's security flags, before anything is created.
func parseSecurity(ctx *cli.Context) (security, error) {
	s := security{Privileged: ctx.Bool("privileged"), Seccomp: true, User: ctx.String("user")}
	profile := "" // seccomp=FILE's file
	for _, opt := range ctx.StringSlice("security-opt") {
		file, isSeccomp := strings.CutPrefix(opt, "seccomp=")
		if !isSeccomp {
			file, isSeccomp = strings.CutPrefix(opt, "seccomp:")
		}
		switch {
		case opt == "no-new-privileges", opt == "no-new-privileges=true", opt == "no-new-privileges:true":
			s.NoNewPrivileges = true
		case opt == "no-new-privileges=false", opt == "no-new-privileges:false":
			s.NoNewPrivileges = false
		case isSeccomp && file == "unconfined":
			s.Seccomp, profile = false, ""
		case isSeccomp && file != "":
			s.Seccomp, profile = true, file
		default:
			return s, fmt.Errorf("--security-opt %q: tinyrun knows no-new-privileges, seccomp=FILE (a Docker seccomp profile) and seccomp=unconfined", opt)
		}
	}
	if err := checkUser(s.User); err != nil {
		return s, err
	}
	if s.Privileged {
		// Every capability the runtime itself may have: those of its own
		// bounding set (PR_CAPBSET_READ, man 2 prctl), as Docker gives.
		s.Seccomp = false
		for name, c := range capabilityNumbers {
			if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && in == 1 {
				s.Capabilities = append(s.Capabilities, name)
			}
		}
		sort.Strings(s.Capabilities)
		return s, nil
	}
	add, err := capabilityList("--cap-add", ctx.StringSlice("cap-add"))
	if err != nil {
		return s, err
	}
	drop, err := capabilityList("--cap-drop", ctx.StringSlice("cap-drop"))
	if err != nil {
		return s, err
	}
	// As in Docker: --cap-add ALL is every capability but those dropped;
	// otherwise the defaults (none with --cap-drop ALL), less the dropped
	// ones, plus the added ones: a capability both added and dropped stays.
	keep := map[string]bool{}
	for _, name := range defaultCapabilities {
		keep[name] = !drop["ALL"]
	}
	for name := range capabilityNumbers {
		keep[name] = (keep[name] || add["ALL"]) && !drop[name] || add[name] && !add["ALL"]
	}
	if keep["MKNOD"] {
		return s, errors.New("--cap-add: MKNOD is never given: tinyrun keeps no list of allowed devices in the cgroup, so a node made with it would open any device of the host (with --cap-add ALL, add --cap-drop MKNOD)")
	}
	s.Capabilities = sortedNames(keep)
	if s.Seccomp && profile != "" {
		// As Docker does: the profile's conditions on capabilities are
		// resolved for the ones this container keeps, here, once.
		filter, err := loadSeccompProfile(profile, s.Capabilities)
		if err == nil {
			_, err = filterProgram(filter) // what tinyrun cannot compile, refused now
		}
		if err != nil {
			return s, fmt.Errorf("--security-opt seccomp=%s: %w", profile, err)
		}
		s.SeccompProfile = filter
	}
	return s, nil
}

// capabilityList turns the names given to flag (NET_ADMIN, cap_net_admin,
// ALL) into a set of capabilityNumbers' names.
func capabilityList(flag string, names []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, n := range names {
		name := strings.TrimPrefix(strings.ToUpper(n), "CAP_")
		if _, known := capabilityNumbers[name]; !known && name != "ALL" {
			return nil, fmt.Errorf("%s %q: no such capability; the names are in man 7 capabilities (NET_ADMIN, SYS_TIME, ...)", flag, n)
		}
		set[name] = true
	}
	return set, nil
}

// sortedNames returns the names set holds, in order.
func sortedNames(set map[string]bool) []string {
	var names []string
	for name, in := range set {
		if in {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// userPattern is -u's syntax: a number or a name, then maybe ":" and a group.
var userPattern = regexp.MustCompile(`^([0-9]+|[a-z_][a-z0-9_.-]*)(:([0-9]+|[a-z_][a-z0-9_.-]*))?$`)

// checkUser checks -u's syntax; the names are looked up in the container.
func checkUser(user string) error {
	if user == "" {
		return nil
	}
	if !userPattern.MatchString(user) {
		return fmt.Errorf("-u %q: want UID[:GID] or NAME[:GROUP], such as -u 1000 or -u nobody:nogroup", user)
	}
	return nil
}

// credentials are who the command runs as, from -u and the container's
// /etc/passwd and /etc/group.
type credentials struct {
	uid, gid int
	groups   []uint32 // the supplementary groups
	home     string   // HOME, from /etc/passwd
}

// lookupUser resolves user (-u) in the container's /etc/passwd and
// /etc/group, which open opens, as Docker does: a name must be there; a
// number need not be, and then its group is 0 and its home "/". run looks
// in the image's layers (openInImage, spec.go), before the container
// exists; exec inside the container, after its chroot (os.Open).
func lookupUser(open func(path string) (*os.File, error), user string) (credentials, error) {
	if user == "" {
		return credentials{home: "/root"}, nil
	}
	name, group, _ := strings.Cut(user, ":")
	c := credentials{uid: -1, home: "/"}
	userName, gidText := "", ""
	var badID error
	err := readColonFile(open, "/etc/passwd", func(f []string) {
		if len(f) >= 6 && c.uid < 0 && badID == nil && (f[0] == name || f[2] == name) {
			c.uid, badID = parseID("/etc/passwd", f[0], f[2])
			gidText, c.home, userName = f[3], f[5], f[0]
		}
	})
	if badID == nil && c.uid >= 0 {
		c.gid, badID = parseID("/etc/passwd", name, gidText)
	}
	if badID != nil {
		return c, fmt.Errorf("-u %s: %w", user, badID)
	}
	if c.uid < 0 {
		uid, convErr := parseID("-u", name, name)
		if convErr != nil {
			return c, fmt.Errorf("-u %s: no user %q in the container's /etc/passwd%s", user, name, notRead(err))
		}
		c.uid = uid
	}
	if group != "" {
		c.gid = -1
		err := readColonFile(open, "/etc/group", func(f []string) {
			if len(f) >= 3 && c.gid < 0 && badID == nil && (f[0] == group || f[2] == group) {
				c.gid, badID = parseID("/etc/group", f[0], f[2])
			}
		})
		if badID != nil {
			return c, fmt.Errorf("-u %s: %w", user, badID)
		}
		if c.gid < 0 {
			gid, convErr := parseID("-u", group, group)
			if convErr != nil {
				return c, fmt.Errorf("-u %s: no group %q in the container's /etc/group%s", user, group, notRead(err))
			}
			c.gid = gid
		}
	}
	// Supplementary groups: those whose member list (the 4th field) names the user.
	if userName != "" {
		_ = readColonFile(open, "/etc/group", func(f []string) {
			if len(f) >= 4 {
				for _, member := range strings.Split(f[3], ",") {
					if gid, err := strconv.ParseUint(f[2], 10, 32); err == nil && member == userName {
						c.groups = append(c.groups, uint32(gid))
					}
				}
			}
		})
	}
	return c, nil
}

// parseID reads a user or group ID, text, given for name by where. An ID
// that is not a number, or is 4294967295 ((uid_t)-1, which setresuid(2)
// takes for "leave it as it is"), is refused: run as root instead, it
// would keep the capabilities.
func parseID(where, name, text string) (int, error) {
	id, err := strconv.ParseUint(text, 10, 32)
	if err != nil || id == math.MaxUint32 {
		return -1, fmt.Errorf("%s gives %s the ID %q, which is no user or group ID", where, name, text)
	}
	return int(id), nil
}

// notRead says, after a lookup that failed, why the file gave nothing.
func notRead(err error) string {
	if err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}

// readColonFile calls line with the fields of each line of path, a file
// of /etc/passwd's shape (man 5 passwd), which open opens.
func readColonFile(open func(path string) (*os.File, error), path string, line func(fields []string)) error {
	f, err := open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if text := scanner.Text(); text != "" && !strings.HasPrefix(text, "#") {
			line(strings.Split(text, ":"))
		}
	}
	return scanner.Err()
}

// maskedPaths are the files and directories of /proc and /sys that tell
// about or act on the host, not the container (Docker's list): the
// kernel's memory (kcore), its keyrings, its timers and interrupts, the
// firmware. A file is covered with /dev/null, a directory with an empty
// read-only tmpfs.
var maskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
	"/proc/timer_stats", "/sys/firmware", "/sys/devices/virtual/powercap",
}

// readOnlyPaths are the /proc files and directories that change the whole
// machine when written: its sysctls (/proc/sys/kernel/core_pattern names a
// program the host runs as root on every crash), sysrq-trigger (reboot,
// crash), interrupts' routing, filesystems' settings.
var readOnlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

// maskPaths covers the paths of masked (the spec's linux.maskedPaths:
// maskedPaths, or none with --privileged) and makes those of readOnly
// (readOnlyPaths) read-only, in the container's mount namespace, after
// its mounts; a path the kernel lacks is left alone.
//
// Each path is opened once, from the descriptor of the proc or sysfs mount
// it belongs to (openKernelPath), and the mount made onto that descriptor:
// resolved as a string, /proc/sys could lead elsewhere by the time it is
// made read-only, and the real one stay writable (runc's CVE-2019-19921).
func maskPaths(masked, readOnly []string) error {
	if len(masked) == 0 && len(readOnly) == 0 {
		return nil
	}
	// The container's /dev, a tmpfs of its own (the spec's mounts, mount.go).
	null, err := os.OpenFile("/dev/null", unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("open /dev/null to mask with: %w", err)
	}
	defer null.Close()
	for _, path := range masked {
		if err := maskPath(path, null); err != nil {
			return fmt.Errorf("mask %s: %w", path, err)
		}
	}
	for _, path := range readOnly {
		if err := makeReadOnly(path); err != nil {
			return fmt.Errorf("make %s read-only: %w", path, err)
		}
	}
	return nil
}

// makeReadOnly mounts a read-only copy of the mount at path on path itself.
func makeReadOnly(path string) error {
	target, err := openKernelPath(path)
	if target == nil || err != nil {
		return err
	}
	defer target.Close()
	return bindMount(target, target, unix.MOUNT_ATTR_RDONLY)
}

// maskPath covers the file at path with null (a descriptor of /dev/null), or
// the directory at path with an empty read-only tmpfs.
func maskPath(path string, null *os.File) error {
	target, err := openKernelPath(path)
	if target == nil || err != nil {
		return err
	}
	defer target.Close()
	info, err := target.Stat()
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return bindMount(null, target, 0)
	}
	empty, err := mountOnto(target, "tmpfs", "tmpfs", unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC, "ro,size=0")
	if err != nil {
		return err
	}
	return empty.Close()
}

// openKernelPath opens path, a path under /proc or /sys, and returns its
// descriptor (O_PATH), or nil if this kernel has no such file. /proc and
// /sys themselves are looked up by name again here, after the spec's
// mounts: they are real directories of the container's root (a link
// there was refused), nothing of the container runs yet, and no volume may
// be mounted on them (parseVolumes). fstatfs(2) checks that each is a proc
// or sysfs mount all the same. The rest of path is opened beneath that
// mount alone: RESOLVE_NO_XDEV refuses to cross into another mount, and
// RESOLVE_NO_SYMLINKS to follow a link (man 2 openat2).
func openKernelPath(path string) (*os.File, error) {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)
	magic := map[string]int64{"proc": unix.PROC_SUPER_MAGIC, "sys": unix.SYSFS_MAGIC}[parts[0]]
	if len(parts) != 2 || magic == 0 {
		return nil, fmt.Errorf("%s is not under /proc or /sys", path)
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(unix.AT_FDCWD, "/"+parts[0], &how)
	if err != nil {
		return nil, fmt.Errorf("open /%s: %w", parts[0], err)
	}
	defer unix.Close(fd)
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return nil, fmt.Errorf("statfs /%s: %w", parts[0], err)
	}
	if fs.Type != magic {
		return nil, fmt.Errorf("/%s is not the container's own %s mount: refused", parts[0], parts[0])
	}
	how = unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_SYMLINKS}
	target, err := unix.Openat2(fd, parts[1], &how)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(target), path), nil
}

// confine takes from this process what the command must not have, as the
// spec's process p and filter (linux.seccomp, nil for none) say, in the
// order each step needs the ones after it; execCommand calls it after the
// command is found, just before execve(2). The capabilities, the filter,
// no_new_privs and the groups are the calling thread's only (the user IDs,
// Go sets on every thread): it is the one that execs, main's, locked to
// it in pid.go, and execve keeps only it.
//
//  1. the bounding set: what no execve, setuid program included, can give back
//  2. the seccomp filter, while CAP_SYS_ADMIN still allows it; with
//     no_new_privs it waits until 6, when the kernel no longer asks for it
//  3. the user: groups, then gid, then uid (after setuid(2) to non-root,
//     the kernel empties the permitted and effective sets itself, and
//     forgets the parent-death signal, which is set again)
//  4. the permitted and effective sets (for root, the bounding set's;
//     for any other user, none), and none inheritable
//  5. the ambient set, empty
//  6. no_new_privs, then the filter
func confine(p *specs.Process, filter *specs.LinuxSeccomp) error {
	caps := p.Capabilities
	if caps == nil {
		caps = &specs.LinuxCapabilities{} // none at all
	}
	bounding, err := capabilityNames(caps.Bounding)
	if err != nil {
		return err
	}
	permitted, err := capabilityNames(caps.Permitted)
	if err != nil {
		return err
	}
	effective, err := capabilityNames(caps.Effective)
	if err != nil {
		return err
	}
	if err := limitBoundingSet(bounding); err != nil {
		return err
	}
	if filter != nil && !p.NoNewPrivileges {
		if err := installSeccomp(filter); err != nil {
			return err
		}
	}
	// A change of user clears the parent-death signal (man 2 prctl,
	// PR_SET_PDEATHSIG): read it now, to set it again after.
	var deathSignal int
	if err := unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&deathSignal)), 0, 0, 0); err != nil {
		return fmt.Errorf("read the parent-death signal: %w", err)
	}
	// Always, root too: the runtime's own groups are the host's.
	var groups []int
	for _, gid := range p.User.AdditionalGids {
		groups = append(groups, int(gid))
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", groups, err)
	}
	uid, gid := int(p.User.UID), int(p.User.GID)
	if err := unix.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := unix.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	// Else a -u container would outlive a runtime killed with SIGKILL.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(deathSignal), 0, 0, 0); err != nil {
		return fmt.Errorf("set the parent-death signal again: %w", err)
	}
	if err := setCapabilities(permitted, effective); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear the ambient capabilities: %w", err) // EINVAL: before Linux 4.3, there are none
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
		if filter != nil {
			return installSeccomp(filter)
		}
	}
	return nil
}

// limitBoundingSet drops from the bounding set every capability not in
// keep, up to the last one this kernel knows (a newer kernel's extra ones
// too). After it, no execve can give them back (man 7 capabilities,
// "Capability bounding set"). Needs CAP_SETPCAP, the runtime's own.
//
// The kernel itself says where its capabilities end: PR_CAPBSET_READ fails
// with EINVAL past the last one (man 2 prctl). Not a file: exec's joined
// process runs in the root of the container's PID 1, and PID 1 can chroot(2)
// into a directory where /proc/sys/kernel/cap_last_cap is a file of its
// own, saying 0; read from there, it would leave the whole set in place.
func limitBoundingSet(keep []string) error {
	kept := map[int]bool{}
	for _, name := range keep {
		kept[capabilityNumbers[name]] = true
	}
	for c := 0; ; c++ {
		_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			return nil // past the last capability
		}
		if err != nil {
			return fmt.Errorf("read capability %d of the bounding set: %w", c, err)
		}
		if kept[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
}

// setCapabilities sets the permitted and effective sets (the spec gives a
// root user the bounding set's, any other user none). The inheritable set
// is always emptied: a program with inheritable file capabilities would
// gain them from it at execve, even as a user that has none
// (CVE-2022-24769; Docker and runc leave it empty since).
func setCapabilities(permitted, effective []string) error {
	var sets [2]unix.CapUserData // capabilities 0-31, then 32-63
	for _, name := range permitted {
		c := capabilityNumbers[name]
		sets[c/32].Permitted |= 1 << (c % 32)
	}
	for _, name := range effective {
		c := capabilityNumbers[name]
		sets[c/32].Effective |= 1 << (c % 32)
	}
	header := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if err := unix.Capset(&header, &sets[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// readOnlyBinary returns this binary, opened through a mount of its own
// that is read-only and attached nowhere (open_tree(2) with
// OPEN_TREE_CLONE, then mount_setattr(2)). The container's first process
// and exec's are started from it, not from the host's path. While one of
// them runs this code inside the container, /proc/PID/exe leads a process
// of the container to the file it runs; through the host's path, root
// inside could reopen it for writing once it stops running, and replace
// the runtime every later container starts with (CVE-2019-5736, runc's).
// Through this mount, opening it for writing fails with EROFS, and no
// process of the container can reach the mount to change it (it is in no
// mount namespace). runc once made a sealed copy in memory instead
// (memfd_create(2)): 9 MB copied for each start; this costs a mount.
func readOnlyBinary() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open_tree this binary: %w (needs Linux 5.2)", err)
	}
	binary := os.NewFile(uintptr(fd), programName)
	err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	if err != nil {
		binary.Close()
		return nil, fmt.Errorf("make the mount of this binary read-only: mount_setattr: %w (needs Linux 5.12)", err)
	}
	return binary, nil
}
