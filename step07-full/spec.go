// The spec: the one value a container is made from.
//
// Every runtime that Docker, containerd and podman drive takes its
// container as an OCI runtime spec (github.com/opencontainers/runtime-spec,
// config.md): a JSON document, config.json, in a directory called the
// bundle, beside the container's root filesystem. It says everything the
// steps before set up, each in a field of its own:
//
//	hostname                      step 01, uts.go
//	linux.namespaces              steps 01-04: which namespaces clone(2) makes
//	root.path, mounts             steps 03 and 06: the root, /proc, /dev, /sys, binds
//	linux.resources, cgroupsPath  step 05, cgroups.go
//	process                       the command, its environment, directory, user
//	process.capabilities,         step 07's defences (security.go, seccomp.go)
//	linux.seccomp, maskedPaths,
//	readonlyPaths, devices
//
// run turns its flags, the image and Docker's defaults into one spec here
// (newSpec), writes it into the container's directory (writeBundle), and
// sends it to init (channel.go), which sets the container up from it and
// from nothing else. 'run --dry-run' prints it instead.
//
// Read: the runtime spec's config.md and config-linux.md.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// specVersion is the version of the runtime spec tinyrun writes.
const specVersion = "1.2.1"

var dryRunFlag = &cli.BoolFlag{Name: "dry-run", Usage: "print the config.json (the OCI runtime spec) the container would be made from, and make nothing"}

// namespaceCloneFlags maps the spec's namespace types to clone(2)'s flags.
var namespaceCloneFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace:     pidCloneFlags,
	specs.NetworkNamespace: netCloneFlags,
	specs.IPCNamespace:     ipcCloneFlags,
	specs.UTSNamespace:     utsCloneFlags,
	specs.MountNamespace:   mountCloneFlags,
}

// newSpec makes the spec of container c, whose image's layers are lower
// (top first). Its paths are the container's (bundlePaths), whether or not
// they exist yet: a dry run makes none. -u is looked up in the files the
// container will see (openInContainer): the image's, and the volumes'.
func newSpec(c containerConfig, lower []string) (*specs.Spec, error) {
	root, files := bundlePaths(c.id)
	spec := &specs.Spec{
		Version:  specVersion,
		Hostname: c.hostname,
		Root:     &specs.Root{Path: root},
		Mounts:   kernelMounts(),
		Linux: &specs.Linux{
			CgroupsPath: "/" + cgroupParent + "/" + c.id,
			Resources:   resourcesOf(c.limits),
			Devices:     deviceList(),
			Seccomp:     seccompOf(c.security),
		},
	}
	for _, name := range networkFileNames {
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: filepath.Join(files, name),
			Options: []string{"rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"}})
	}
	for _, v := range c.volumes {
		options := []string{"rbind", "rprivate", "nodev"}
		if v.readOnly {
			options = append(options, "ro")
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: v.container, Type: "bind", Source: v.host, Options: options})
	}
	for _, t := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace} {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: t})
	}
	// The network namespace is the caller's, made beforehand (reserve):
	// init joins it by its path (net.go).
	spec.Linux.Namespaces[1].Path = filepath.Join(files, netnsFileName)
	if !c.security.Privileged {
		spec.Linux.MaskedPaths = maskedPaths
		spec.Linux.ReadonlyPaths = readOnlyPaths
	}
	user, err := lookupUser(openInContainer(spec, lower), c.security.User)
	if err != nil {
		return nil, err
	}
	// A small environment of the container's own, as Docker gives, never
	// the runtime's, which holds whatever the shell that ran it had; TERM
	// only with a terminal. Then -e, which may replace any of them.
	env := []string{"PATH=" + containerPath, "HOSTNAME=" + c.hostname, "HOME=" + user.home}
	if c.tty {
		env = append(env, "TERM="+terminalType())
	}
	spec.Process = &specs.Process{
		Terminal:        c.tty,
		User:            specs.User{UID: uint32(user.uid), GID: uint32(user.gid), AdditionalGids: user.groups},
		Args:            c.command,
		Env:             withEnv(env, c.env),
		Cwd:             c.workdir,
		Capabilities:    capabilitiesOf(c.security, user.uid == 0),
		NoNewPrivileges: c.security.NoNewPrivileges,
	}
	return spec, nil
}

// bundlePaths are where container id's root is mounted (overlay.go) and
// where its network files are written (net.go): the bundle's two halves.
func bundlePaths(id string) (root, files string) {
	return filepath.Join(containerLayerDir, id, "merged"), filepath.Join(containersDir, id)
}

// terminalType is TERM in a container with -t: the user's, else xterm.
func terminalType() string {
	if term := os.Getenv("TERM"); term != "" {
		return term
	}
	return "xterm"
}

// kernelMounts are the file systems of the kernel's own that every
// container gets (mount.go): its /proc, a /dev with its pseudo-terminals
// and shared memory, and a read-only /sys.
func kernelMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=64k"}},
		// newinstance: pseudo-terminals of the container's own, not the
		// host's (man 4 pts); ptmxmode=0666 lets any user open
		// /dev/pts/ptmx; gid 5 is the tty group.
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
}

// deviceList is linux.devices: the character devices of /dev (mount.go).
func deviceList() []specs.LinuxDevice {
	mode := os.FileMode(0o666)
	var list []specs.LinuxDevice
	for _, d := range devices {
		list = append(list, specs.LinuxDevice{Path: "/dev/" + d.name, Type: "c", Major: int64(d.major), Minor: int64(d.minor), FileMode: &mode})
	}
	return list
}

// capabilitiesOf is process.capabilities for security s: the bounding set
// is what s keeps; a root user holds them too (permitted and effective),
// any other user none, as in Docker; inheritable and ambient stay empty
// (confine, security.go).
func capabilitiesOf(s security, root bool) *specs.LinuxCapabilities {
	var names []string
	for _, name := range s.Capabilities {
		names = append(names, "CAP_"+name)
	}
	caps := &specs.LinuxCapabilities{Bounding: names}
	if root {
		caps.Permitted, caps.Effective = names, names
	}
	return caps
}

// resourcesOf is linux.resources for the limits l. Its device rules allow
// every device: tinyrun keeps no list of devices in the cgroup (that is why
// it never gives CAP_MKNOD, security.go), and a runtime that reads the spec,
// runc, would otherwise allow only its own short list.
func resourcesOf(l limits) *specs.LinuxResources {
	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}
	if l.memory > 0 {
		// swap, in the spec, is memory and swap together: no swap beyond the limit.
		r.Memory = &specs.LinuxMemory{Limit: &l.memory, Swap: &l.memory}
	}
	if l.cpuQuota > 0 || l.cpusetCPUs != "" {
		r.CPU = &specs.LinuxCPU{Cpus: l.cpusetCPUs}
		if l.cpuQuota > 0 {
			period := uint64(cpuPeriod)
			r.CPU.Quota, r.CPU.Period = &l.cpuQuota, &period
		}
	}
	if l.pids > 0 {
		r.Pids = &specs.LinuxPids{Limit: l.pids}
	}
	return r
}

// limitsOf reads the limits back from linux.resources, for createCgroup,
// and refuses by name what tinyrun cannot set.
func limitsOf(r *specs.LinuxResources) (limits, error) {
	var l limits
	if r == nil {
		return l, nil
	}
	for _, d := range r.Devices {
		if !d.Allow || d.Type != "" && d.Type != "a" || d.Major != nil || d.Minor != nil || d.Access != "rwm" {
			return l, errors.New("linux.resources.devices: tinyrun keeps no device list in the cgroup: the one rule it takes allows every device (rwm)")
		}
	}
	if r.BlockIO != nil || len(r.HugepageLimits) > 0 || r.Network != nil || len(r.Rdma) > 0 || len(r.Unified) > 0 {
		return l, errors.New("linux.resources: tinyrun sets memory, cpu, pids and devices only (not blockIO, hugepageLimits, network, rdma or unified)")
	}
	if m := r.Memory; m != nil && (m.Reservation != nil || m.Kernel != nil || m.KernelTCP != nil || m.Swappiness != nil || m.DisableOOMKiller != nil || m.UseHierarchy != nil || m.CheckBeforeUpdate != nil) {
		return l, errors.New("linux.resources.memory: tinyrun sets limit and swap only")
	}
	if c := r.CPU; c != nil && (c.Shares != nil || c.RealtimeRuntime != nil || c.RealtimePeriod != nil || c.Mems != "" || c.Idle != nil || c.Burst != nil) {
		return l, errors.New("linux.resources.cpu: tinyrun sets quota, period and cpus only")
	}
	if r.Memory != nil && r.Memory.Limit != nil {
		l.memory = *r.Memory.Limit
		if r.Memory.Swap == nil || *r.Memory.Swap != l.memory {
			return l, errors.New("linux.resources.memory.swap: tinyrun allows no swap beyond the limit: make it equal to memory.limit")
		}
	}
	if r.CPU != nil {
		l.cpusetCPUs = r.CPU.Cpus
		if r.CPU.Quota != nil {
			if r.CPU.Period == nil || *r.CPU.Period != cpuPeriod {
				return l, fmt.Errorf("linux.resources.cpu.period: tinyrun measures quota over %d microseconds", cpuPeriod)
			}
			l.cpuQuota = *r.CPU.Quota
		}
	}
	if r.Pids != nil {
		l.pids = r.Pids.Limit
	}
	return l, nil
}

// encodeSpec is spec as run --dry-run prints it, and as config.json holds it.
func encodeSpec(spec *specs.Spec) ([]byte, error) {
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("encode config.json: %w", err)
	}
	return append(data, '\n'), nil
}

// writeBundle writes spec as the bundle's config.json, in the container's
// directory, atomically (writeJSON's way), readable by root alone: its
// environment may hold secrets.
func writeBundle(rec *record, spec *specs.Spec) error {
	data, err := encodeSpec(spec)
	if err != nil {
		return err
	}
	return writeFileAtomically(filepath.Join(rec.dir(), "config.json"), data)
}

// checkSpec refuses, by name, each field of the spec (version 1.2) that
// tinyrun does not carry out: a runtime that ignored one would run a
// container other than the one asked for. init checks it before anything
// else. (Annotations, which the spec lets a runtime ignore, it ignores.)
func checkSpec(spec *specs.Spec) error {
	var unsupported []string
	refuse := func(set bool, field string) {
		if set {
			unsupported = append(unsupported, field)
		}
	}
	if spec.Process == nil || len(spec.Process.Args) == 0 {
		return errors.New("config.json: process.args is empty: it names the command to run")
	}
	if spec.Root == nil || spec.Linux == nil {
		return errors.New("config.json: root and linux are required")
	}
	p, l := spec.Process, spec.Linux
	refuse(!strings.HasPrefix(spec.Version, "1."), "ociVersion "+spec.Version+" (tinyrun reads 1.x)")
	refuse(spec.Hooks != nil, "hooks")
	refuse(p.ConsoleSize != nil, "process.consoleSize")
	refuse(len(p.Rlimits) > 0, "process.rlimits")
	refuse(p.OOMScoreAdj != nil, "process.oomScoreAdj")
	refuse(p.ApparmorProfile != "", "process.apparmorProfile")
	refuse(p.SelinuxLabel != "", "process.selinuxLabel")
	refuse(p.IOPriority != nil, "process.ioPriority")
	refuse(p.Scheduler != nil, "process.scheduler")
	refuse(p.User.Umask != nil, "process.user.umask")
	refuse(p.Capabilities != nil && (len(p.Capabilities.Inheritable) > 0 || len(p.Capabilities.Ambient) > 0), "process.capabilities.inheritable and ambient")
	refuse(spec.Root.Readonly, "root.readonly")
	refuse(len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0, "linux.uidMappings and gidMappings")
	refuse(len(l.Sysctl) > 0, "linux.sysctl")
	refuse(l.RootfsPropagation != "", "linux.rootfsPropagation")
	refuse(l.MountLabel != "", "linux.mountLabel")
	refuse(l.IntelRdt != nil, "linux.intelRdt")
	refuse(l.Personality != nil, "linux.personality")
	refuse(l.TimeOffsets != nil, "linux.timeOffsets")
	refuse(spec.Domainname != "", "domainname")
	if _, err := limitsOf(l.Resources); err != nil {
		unsupported = append(unsupported, err.Error())
	}
	if cloneFlags(spec)&utsCloneFlags == 0 && spec.Hostname != "" {
		// As runc: in the host's UTS namespace, it would rename the host.
		return errors.New("config.json: a hostname needs a UTS namespace of the container's own: add {\"type\": \"uts\"} to linux.namespaces")
	}
	for _, ns := range l.Namespaces {
		_, known := namespaceCloneFlags[ns.Type]
		refuse(!known, "linux.namespaces type "+string(ns.Type))
		refuse(ns.Path != "" && !joinableNamespaces[ns.Type], "linux.namespaces path (of "+string(ns.Type)+"; tinyrun joins network, ipc and uts ones)")
	}
	for _, path := range append(append([]string{}, l.MaskedPaths...), l.ReadonlyPaths...) {
		refuse(!strings.HasPrefix(path, "/proc/") && !strings.HasPrefix(path, "/sys/"), "linux.maskedPaths and readonlyPaths outside /proc and /sys ("+path+")")
	}
	for _, m := range spec.Mounts {
		_, _, err := mountOptions(m)
		if err != nil {
			unsupported = append(unsupported, err.Error())
		}
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		return fmt.Errorf("config.json: tinyrun does not support %s: remove it", strings.Join(unsupported, ", "))
	}
	return nil
}

// mountFlags are the options of a mount in the spec that are attributes of
// the mount (MOUNT_ATTR_*, man 2 mount_setattr) rather than options of its
// file system. Every other option with a value (mode=755) is the file
// system's, passed to fsconfig(2).
var mountFlags = map[string]uint64{
	"ro": unix.MOUNT_ATTR_RDONLY, "nosuid": unix.MOUNT_ATTR_NOSUID, "nodev": unix.MOUNT_ATTR_NODEV,
	"noexec": unix.MOUNT_ATTR_NOEXEC, "strictatime": unix.MOUNT_ATTR_STRICTATIME,
	"relatime": unix.MOUNT_ATTR_RELATIME, "noatime": unix.MOUNT_ATTR_NOATIME,
	"nodiratime": unix.MOUNT_ATTR_NODIRATIME,
	// The defaults, said out loud.
	"rw": 0, "suid": 0, "dev": 0, "exec": 0,
}

// mountOptions splits m's options into its attributes and its file
// system's options (data, comma-separated). A bind mount is always
// recursive and private here: open_tree(2) copies the whole tree into a
// namespace that shares nothing (net.go, bindMount).
func mountOptions(m specs.Mount) (attr uint64, data string, err error) {
	var fsOptions []string
	for _, o := range m.Options {
		if flag, ok := mountFlags[o]; ok {
			attr |= flag
			continue
		}
		switch {
		case o == "bind" || o == "rbind" || o == "private" || o == "rprivate":
			if m.Type != "bind" && o != "private" && o != "rprivate" {
				return 0, "", fmt.Errorf("mount option %q on %s: a bind mount's type is \"bind\"", o, m.Destination)
			}
		case m.Type == "bind":
			return 0, "", fmt.Errorf("mount option %q of the bind mount on %s", o, m.Destination)
		case strings.Contains(o, "=") || o == "newinstance":
			fsOptions = append(fsOptions, o)
		default:
			return 0, "", fmt.Errorf("mount option %q on %s", o, m.Destination)
		}
	}
	if !filepath.IsAbs(m.Destination) {
		return 0, "", fmt.Errorf("mount destination %q (want an absolute path)", m.Destination)
	}
	if m.Type == "cgroup" || m.Type == "cgroup2" {
		// runc binds the container's own cgroups there; a fresh cgroup
		// file system would show the host's whole tree, or fail (EBUSY).
		return 0, "", fmt.Errorf("the %s mount on %s (tinyrun does not show a container its cgroups yet)", m.Type, m.Destination)
	}
	return attr, strings.Join(fsOptions, ","), nil
}

// cloneFlags are clone(2)'s flags for the namespaces spec asks for.
func cloneFlags(spec *specs.Spec) uintptr {
	var flags uintptr
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path == "" { // else joined, by joinNamespaces (runtime.go)
			flags |= namespaceCloneFlags[ns.Type]
		}
	}
	return flags
}

// capabilityNames turns the spec's capability names (CAP_CHOWN) back into
// capabilityNumbers' (CHOWN), refusing those the runtime does not know.
func capabilityNames(list []string) ([]string, error) {
	var names []string
	for _, c := range list {
		name := strings.TrimPrefix(c, "CAP_")
		if _, known := capabilityNumbers[name]; !known || !strings.HasPrefix(c, "CAP_") {
			return nil, fmt.Errorf("config.json: capability %q: no such capability (man 7 capabilities)", c)
		}
		names = append(names, name)
	}
	return names, nil
}

// openInContainer returns an opener of the files the container will see
// at spec's paths before it changes anything: those of a bind mount's
// source when the path is at or under its destination (the last such
// mount wins, as the last mounted covers the others), else the image's
// (openInImage). run looks its user up through it, so that -v
// passwd:/etc/passwd is the /etc/passwd it reads. What is under a
// mount's source is resolved inside it (RESOLVE_IN_ROOT).
func openInContainer(spec *specs.Spec, lower []string) func(path string) (*os.File, error) {
	inImage := openInImage(lower)
	return func(path string) (*os.File, error) {
		path = filepath.Clean(path)
		for i := len(spec.Mounts) - 1; i >= 0; i-- {
			m := spec.Mounts[i]
			rest, under := strings.CutPrefix(path, m.Destination)
			if !under || (rest != "" && !strings.HasPrefix(rest, "/")) {
				continue
			}
			if m.Type != "bind" {
				return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
			}
			if rest == "" { // the bind mount is of the file itself
				return openInLayer(filepath.Dir(m.Source), filepath.Base(m.Source))
			}
			return openInLayer(m.Source, strings.TrimPrefix(rest, "/"))
		}
		return inImage(path)
	}
}

// openInImage returns an opener of the files of an image whose layers are
// the directories lower, top first, as its overlay shows them before the
// container changes anything: a file is the topmost layer's that has it,
// unless a layer above deleted it (a whiteout: a character device 0/0) or
// made a directory above it opaque (overlay.go, commit.go). Each path is
// resolved inside its own layer (openat2's RESOLVE_IN_ROOT), so that no
// symlink of the image leads to the host's files; a symlink whose target
// is in another layer is not followed there.
func openInImage(lower []string) func(path string) (*os.File, error) {
	return func(path string) (*os.File, error) {
		name := strings.TrimPrefix(filepath.Clean(path), "/")
		for _, layer := range lower {
			f, err := openInLayer(layer, name)
			if err == nil {
				return f, nil
			}
			if !errors.Is(err, fs.ErrNotExist) || hidesBelow(layer, name) {
				return nil, err
			}
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
}

// openInLayer opens name inside the layer directory layer, for reading. A
// whiteout, or a parent that is not a directory, is a file that does not
// exist.
func openInLayer(layer, name string) (*os.File, error) {
	dir, err := os.OpenFile(layer, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	// O_PATH first: opened for reading, a FIFO would block (under the
	// state lock), and a device node would be opened, as root, on the host.
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(int(dir.Fd()), name, &how)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil, &fs.PathError{Op: "open", Path: "/" + name, Err: fs.ErrNotExist}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: "/" + name, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		// A whiteout, a directory, a FIFO, a device: no such file to read.
		return nil, &fs.PathError{Op: "open", Path: "/" + name, Err: fs.ErrNotExist}
	}
	// A regular file: read it through its descriptor, not its path.
	return os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY, 0)
}

// hidesBelow reports whether layer hides name from the layers below it: a
// whiteout at name or at one of its directories, or an opaque directory
// above it (trusted.overlay.opaque "y").
func hidesBelow(layer, name string) bool {
	path := layer
	for _, part := range strings.Split(name, "/") {
		path = filepath.Join(path, part)
		var st unix.Stat_t
		if unix.Lstat(path, &st) != nil {
			return false
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			return true
		}
		opaque := make([]byte, 1)
		if n, err := unix.Lgetxattr(path, "trusted.overlay.opaque", opaque); err == nil && n == 1 && opaque[0] == 'y' {
			return true
		}
	}
	return false
}
