package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The checks of step 07's configuration: the OCI runtime spec
// (github.com/opencontainers/runtime-spec, config.md and config-linux.md).
// "run --dry-run" prints the config.json a container would be made from
// and makes nothing; a real run writes the same file into the container's
// directory, the bundle, where it stays while the container does.
//
//	ConfigIsAnOCISpec                  both decode, strictly, into specs.Spec, and describe the container asked for
//	DryRunFollowsTheRunFlags           each run flag lands in its field
//	RuncRunsTinyrunsBundle             runc, given tinyrun's config.json, makes the container tinyrun makes
//	EnvValuesNeverInArgvOrHostEnviron  -e's values reach the container, and no other process of the host
//
// runc is Debian's package (apt-get install runc; scripts/provision.sh
// installs it): without it the comparison fails, it never skips.

// The runtime's directories, as the spec names them: a container's state
// and bundle (config.json and its network files), and its layer, whose
// merged directory is the container's root.
const (
	containersStateDir = "/run/tinyrun/containers"
	containerLayersDir = "/var/lib/tinyrun/containers"
)

// dryRunArgs are the arguments of "run --dry-run flags IMAGE command".
func dryRunArgs(flags []string, command ...string) []string {
	args := append(append([]string{"run", "--dry-run"}, flags...), testImage)
	return append(args, command...)
}

// dryRun runs "run --dry-run flags IMAGE command" and returns what it
// printed, decoded, and as printed.
func (s step) dryRun(t *testing.T, flags []string, command ...string) (*specs.Spec, string) {
	t.Helper()
	args := dryRunArgs(flags, command...)
	r := s.run(t, args...)
	if r.status != 0 || !strings.HasPrefix(r.stdout, "{\n") {
		t.Fatalf("%s: want exit status 0 and config.json, indented JSON, on stdout, got %v", strings.Join(args, " "), r)
	}
	return decodeSpec(t, strings.Join(args, " "), r.stdout), r.stdout
}

// decodeSpec decodes text, from where, as one runtime spec, refusing any
// field that specs.Spec does not have (a misspelt "mount" for "mounts"
// would otherwise decode as nothing), and anything after it.
func decodeSpec(t *testing.T, where, text string) *specs.Spec {
	t.Helper()
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.DisallowUnknownFields()
	var spec specs.Spec
	if err := decoder.Decode(&spec); err != nil {
		t.Fatalf("%s: want config.json, a runtime spec that specs-go %s decodes with no field it does not know, got %v in %q", where, specs.Version, err, clip(text))
	}
	if _, err := decoder.Token(); err != io.EOF {
		t.Fatalf("%s: want config.json alone, got more after it (%v) in %q", where, err, clip(text))
	}
	if spec.Process == nil || spec.Root == nil || spec.Linux == nil {
		t.Fatalf("%s: want a spec with process, root and linux, got %q", where, clip(text))
	}
	return &spec
}

// specRootPattern is root.path of a container: its layer's merged directory.
var specRootPattern = regexp.MustCompile(`^` + regexp.QuoteMeta(containerLayersDir) + `/([0-9a-f]{12})/merged$`)

// specContainerID returns the container's ID, from the spec's root.path.
func specContainerID(t *testing.T, where string, spec *specs.Spec) string {
	t.Helper()
	m := specRootPattern.FindStringSubmatch(spec.Root.Path)
	if m == nil {
		t.Fatalf("%s: root.path is %q, want %s/ID/merged, the container's overlay (an absolute path, ID its 12-hex ID)", where, spec.Root.Path, containerLayersDir)
	}
	return m[1]
}

// capabilityNames are the names of man 7 capabilities the spec writes, by number.
var capabilityNames = map[int]string{
	unix.CAP_CHOWN: "CAP_CHOWN", unix.CAP_DAC_OVERRIDE: "CAP_DAC_OVERRIDE", unix.CAP_FSETID: "CAP_FSETID",
	unix.CAP_FOWNER: "CAP_FOWNER", unix.CAP_NET_RAW: "CAP_NET_RAW", unix.CAP_SETGID: "CAP_SETGID",
	unix.CAP_SETUID: "CAP_SETUID", unix.CAP_SETFCAP: "CAP_SETFCAP", unix.CAP_SETPCAP: "CAP_SETPCAP",
	unix.CAP_NET_BIND_SERVICE: "CAP_NET_BIND_SERVICE", unix.CAP_SYS_CHROOT: "CAP_SYS_CHROOT",
	unix.CAP_KILL: "CAP_KILL", unix.CAP_AUDIT_WRITE: "CAP_AUDIT_WRITE",
}

// defaultCapabilityNames are defaultCapabilities as the spec names them, sorted.
func defaultCapabilityNames() []string {
	var names []string
	for _, c := range defaultCapabilities {
		names = append(names, capabilityNames[c])
	}
	sort.Strings(names)
	return names
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// The container that checkConfigIsAnOCISpec asks for, and what its spec
// must then say.
const (
	specHostname = "spec-check"
	specEnv      = "GREETING=hello from -e"
	specMemory   = 64 << 20
)

// wantContainerSpec fails t for each field of spec, the config.json of
// container id (from where), that does not describe what
// checkConfigIsAnOCISpec asked for: the hostname, command, -e, the volume
// volume on /data read-only and -m, with tinyrun's defaults for the rest.
func wantContainerSpec(t *testing.T, where string, spec *specs.Spec, id, volume string, command []string) {
	t.Helper()
	if spec.Version != specs.Version {
		t.Errorf("%s: ociVersion is %q, want %q, the version of the specs-go types it is written with", where, spec.Version, specs.Version)
	}
	if want := filepath.Join(containerLayersDir, id, "merged"); spec.Root.Path != want {
		t.Errorf("%s: root.path is %q, want %q, the overlay the container's root is", where, spec.Root.Path, want)
	}
	if spec.Hostname != specHostname {
		t.Errorf("%s: hostname is %q, want %q (--hostname)", where, spec.Hostname, specHostname)
	}

	p := spec.Process
	if !slices.Equal(p.Args, command) {
		t.Errorf("%s: process.args is %q, want the command, %q", where, p.Args, command)
	}
	path, host, home, asked := -1, slices.Index(p.Env, "HOSTNAME="+specHostname), slices.Index(p.Env, "HOME=/root"), slices.Index(p.Env, specEnv)
	for i, v := range p.Env {
		if strings.HasPrefix(v, "PATH=") {
			path = i
		}
	}
	if path < 0 || host < 0 || home < 0 || asked < max(path, host, home) {
		t.Errorf("%s: process.env is %q, want PATH=..., HOSTNAME=%s and HOME=/root, then -e's %q", where, p.Env, specHostname, specEnv)
	}
	if p.Cwd != "/" || p.User.UID != 0 || p.User.GID != 0 || p.Terminal || p.NoNewPrivileges {
		t.Errorf("%s: process.cwd %q, user %d:%d, terminal %v, noNewPrivileges %v: want \"/\", 0:0 (root), false and false, as asked (no -w, -u, -t, --security-opt)",
			where, p.Cwd, p.User.UID, p.User.GID, p.Terminal, p.NoNewPrivileges)
	}
	if caps := p.Capabilities; caps == nil {
		t.Errorf("%s: process.capabilities is missing: want Docker's defaults, without CAP_MKNOD", where)
	} else {
		for set, names := range map[string][]string{"bounding": caps.Bounding, "effective": caps.Effective, "permitted": caps.Permitted} {
			if !sameSet(names, defaultCapabilityNames()) {
				t.Errorf("%s: process.capabilities.%s is %q, want %q: Docker's defaults without CAP_MKNOD", where, set, names, defaultCapabilityNames())
			}
		}
		if len(caps.Inheritable) > 0 || len(caps.Ambient) > 0 {
			t.Errorf("%s: process.capabilities.inheritable %q and ambient %q: want both empty", where, caps.Inheritable, caps.Ambient)
		}
	}

	wantContainerMounts(t, where, spec.Mounts, id, volume)

	l := spec.Linux
	var namespaces []string
	for _, ns := range l.Namespaces {
		namespaces = append(namespaces, string(ns.Type))
		// The network namespace is the caller's, made before init and
		// joined by its path in the container's directory; the others new.
		want := ""
		if ns.Type == specs.NetworkNamespace {
			want = "/run/tinyrun/containers/" + id + "/netns"
		}
		if ns.Path != want {
			t.Errorf("%s: the %s namespace has the path %q: want %q", where, ns.Type, ns.Path, want)
		}
	}
	if want := []string{"pid", "network", "ipc", "uts", "mount"}; !sameSet(namespaces, want) {
		t.Errorf("%s: linux.namespaces are %q, want %q", where, namespaces, want)
	}
	if r := l.Resources; r == nil || r.Memory == nil || r.Memory.Limit == nil || *r.Memory.Limit != specMemory {
		t.Errorf("%s: want linux.resources.memory.limit %d (-m 64m), got resources %s", where, specMemory, jsonOf(r))
	}
	if want := "/tinyrun/" + id; l.CgroupsPath != want {
		t.Errorf("%s: linux.cgroupsPath is %q, want %q", where, l.CgroupsPath, want)
	}
	var devices []string
	for _, d := range l.Devices {
		devices = append(devices, d.Path)
	}
	if want := []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}; !sameSet(devices, want) {
		t.Errorf("%s: linux.devices are %q, want %q", where, devices, want)
	}
	// An allow-list, Docker's: refuse what no rule names, allow the common calls.
	if sc := l.Seccomp; sc == nil || sc.DefaultAction != specs.ActErrno || !slices.ContainsFunc(sc.Syscalls, func(c specs.LinuxSyscall) bool {
		return c.Action == specs.ActAllow && slices.Contains(c.Names, "read") && slices.Contains(c.Names, "execve")
	}) {
		t.Errorf("%s: want linux.seccomp with defaultAction SCMP_ACT_ERRNO and the common calls (read, execve...) allowed with SCMP_ACT_ALLOW, got %s", where, clip(jsonOf(sc)))
	}
	for _, c := range []struct {
		field     string
		got, want []string
	}{{"maskedPaths", l.MaskedPaths, maskedPaths}, {"readonlyPaths", l.ReadonlyPaths, readOnlyPaths}} {
		for _, path := range c.want {
			if !slices.Contains(c.got, path) {
				t.Errorf("%s: linux.%s is %q, want %s among them", where, c.field, c.got, path)
			}
		}
	}
}

// wantContainerMounts fails t unless mounts are, in order, the kernel's
// file systems, the network files from the bundle of container id, and
// volume, read-only, on /data.
func wantContainerMounts(t *testing.T, where string, mounts []specs.Mount, id, volume string) {
	t.Helper()
	var got []string
	for _, m := range mounts {
		got = append(got, m.Destination+" "+m.Type)
	}
	want := []string{"/proc proc", "/dev tmpfs", "/dev/pts devpts", "/dev/shm tmpfs", "/sys sysfs",
		"/etc/hosts bind", "/etc/hostname bind", "/etc/resolv.conf bind", "/data bind"}
	if !slices.Equal(got, want) {
		t.Errorf("%s: the mounts (destination and type) are %q, want, in this order, %q", where, got, want)
		return
	}
	if !slices.Contains(mounts[4].Options, "ro") {
		t.Errorf("%s: /sys has the options %q, want ro among them", where, mounts[4].Options)
	}
	for _, m := range mounts[5:8] {
		if dir := filepath.Join(containersStateDir, id); filepath.Dir(m.Source) != dir {
			t.Errorf("%s: %s is bound from %q, want a file of the container's directory, %s", where, m.Destination, m.Source, dir)
		}
	}
	if v := mounts[8]; v.Source != volume || !slices.Contains(v.Options, "rbind") || !slices.Contains(v.Options, "nodev") || !slices.Contains(v.Options, "ro") {
		t.Errorf("%s: the volume on /data is bound from %q with the options %q, want %q (-v) with rbind, nodev and ro (:ro)", where, v.Source, v.Options, volume)
	}
}

// jsonOf is v as JSON, for a failure's message.
func jsonOf(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(data)
}

// checkConfigIsAnOCISpec fails if run --dry-run prints anything but one
// spec that specs-go decodes strictly, if that spec or the config.json of
// the same container run for real misses what was asked (a namespace, the
// hostname, the command, -e, the volume, -m), if the two differ other than
// by the container's ID, or if the dry run made the container's
// directories (the snapshot around the check sees anything else it made).
func checkConfigIsAnOCISpec(t *testing.T, s step) {
	volume := t.TempDir()
	command := []string{"sleep", markedSleep()}
	flags := []string{"--hostname", specHostname, "-e", specEnv, "-v", volume + ":/data:ro", "-m", "64m"}

	where := "run --dry-run " + strings.Join(flags, " ")
	dry, printed := s.dryRun(t, flags, command...)
	dryID := specContainerID(t, where, dry)
	wantContainerSpec(t, where, dry, dryID, volume, command)
	for _, dir := range []string{filepath.Join(containersStateDir, dryID), filepath.Join(containerLayersDir, dryID)} {
		if pathExists(dir) {
			t.Errorf("%s: want nothing made, but %s, the directory of the container it printed, exists", where, dir)
		}
	}

	id := s.detached(t, flags, command...)
	path := filepath.Join(containersStateDir, id, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("run -d %s: want the container's spec in %s while it runs: %v", strings.Join(flags, " "), path, err)
	}
	written := decodeSpec(t, path, string(data))
	wantContainerSpec(t, path, written, id, volume, command)

	// The same spec: the dry run's, with the ID of the container that ran.
	same := decodeSpec(t, where, strings.ReplaceAll(printed, dryID, id))
	if !reflect.DeepEqual(same, written) {
		t.Errorf("the dry run's spec (its ID %s replaced by %s) and %s differ, for the same flags: %s", dryID, id, path, firstDifference(same, written))
	}
}

// firstDifference names the first line where a and b, indented as JSON, differ.
func firstDifference(a, b *specs.Spec) string {
	textA, _ := json.MarshalIndent(a, "", "  ")
	textB, _ := json.MarshalIndent(b, "", "  ")
	linesA, linesB := strings.Split(string(textA), "\n"), strings.Split(string(textB), "\n")
	for i := 0; i < max(len(linesA), len(linesB)); i++ {
		var lineA, lineB string
		if i < len(linesA) {
			lineA = linesA[i]
		}
		if i < len(linesB) {
			lineB = linesB[i]
		}
		if lineA != lineB {
			return fmt.Sprintf("line %d is %q in the first, %q in the second", i+1, strings.TrimSpace(lineA), strings.TrimSpace(lineB))
		}
	}
	return "they differ in a way JSON does not show"
}

// checkDryRunFollowsTheRunFlags fails if a run flag the spec has a field
// for does not land in it: -u NAME as the image's uid and gid, -w, the
// limits, no-new-privileges; or if --privileged or seccomp=unconfined
// leave a seccomp profile in, or --privileged the masks.
func checkDryRunFollowsTheRunFlags(t *testing.T, s step) {
	flags := []string{"-u", "nobody", "-w", "/srv/work", "--cpus", "0.5", "--pids-limit", "64", "--cpuset-cpus", "0", "--security-opt", "no-new-privileges"}
	where := "run --dry-run " + strings.Join(flags, " ")
	spec, _ := s.dryRun(t, flags, "true")
	if u := spec.Process.User; u.UID != 65534 || u.GID != 65534 {
		t.Errorf("%s: process.user is %d:%d, want 65534:65534, nobody's in the image's /etc/passwd", where, u.UID, u.GID)
	}
	if spec.Process.Cwd != "/srv/work" {
		t.Errorf("%s: process.cwd is %q, want /srv/work (-w)", where, spec.Process.Cwd)
	}
	if !spec.Process.NoNewPrivileges {
		t.Errorf("%s: process.noNewPrivileges is false, want true (--security-opt no-new-privileges)", where)
	}
	r := spec.Linux.Resources
	if r == nil || r.CPU == nil || r.CPU.Quota == nil || *r.CPU.Quota != 50000 || r.CPU.Period == nil || *r.CPU.Period != 100000 || r.CPU.Cpus != "0" {
		t.Errorf("%s: want linux.resources.cpu quota 50000 and period 100000 (--cpus 0.5), cpus \"0\" (--cpuset-cpus), got resources %s", where, jsonOf(r))
	}
	if r == nil || r.Pids == nil || r.Pids.Limit != 64 {
		t.Errorf("%s: want linux.resources.pids.limit 64 (--pids-limit), got resources %s", where, jsonOf(r))
	}

	spec, _ = s.dryRun(t, []string{"--security-opt", "seccomp=unconfined"}, "true")
	where = "run --dry-run --security-opt seccomp=unconfined"
	if spec.Linux.Seccomp != nil {
		t.Errorf("%s: want no linux.seccomp, got %s", where, clip(jsonOf(spec.Linux.Seccomp)))
	}
	if caps := spec.Process.Capabilities; caps == nil || !sameSet(caps.Bounding, defaultCapabilityNames()) || len(spec.Linux.MaskedPaths) == 0 {
		t.Errorf("%s: want the default capabilities and masks still, got process.capabilities %s and linux.maskedPaths %q", where, jsonOf(caps), spec.Linux.MaskedPaths)
	}

	spec, _ = s.dryRun(t, []string{"--privileged"}, "true")
	where = "run --dry-run --privileged"
	if l := spec.Linux; l.Seccomp != nil || len(l.MaskedPaths) > 0 || len(l.ReadonlyPaths) > 0 {
		t.Errorf("%s: want no linux.seccomp, maskedPaths or readonlyPaths, got seccomp %s, maskedPaths %q, readonlyPaths %q", where, clip(jsonOf(l.Seccomp)), l.MaskedPaths, l.ReadonlyPaths)
	}
}

// runcBinary finds runc: on PATH, or where Debian puts it.
func runcBinary(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("runc"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/sbin/runc"); err == nil {
		return "/usr/sbin/runc"
	}
	hintFromFailure("install runc, which this check compares tinyrun with: apt-get install runc (sudo make deps installs it)")
	t.Fatalf("runc is not installed (not on PATH, not /usr/sbin/runc): apt-get install runc; this check compares tinyrun with it and cannot pass without it")
	return ""
}

// probeScript prints what the comparison with runc looks at: the hostname,
// the mount table and the process's security state (man 5 proc).
const probeScript = "hostname; echo mountinfo; cat /proc/self/mountinfo; echo status; cat /proc/self/status"

// probeMountPoints are the kernel's file systems the spec mounts, whose
// file system type and mount options (the per-mount ones: ro, nosuid, nodev,
// noexec, the atime) the comparison looks at.
var probeMountPoints = []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"}

// probeStatusFields are the lines of /proc/self/status it compares.
var probeStatusFields = []string{"CapBnd", "CapEff", "CapPrm", "Seccomp", "NoNewPrivs"}

// probe reads the output of probeScript into what the comparison looks
// at, by name ("hostname", "mount /proc", "CapBnd" ...).
func probe(t *testing.T, out string) map[string]string {
	t.Helper()
	hostname, rest := splitAt(t, out, "mountinfo")
	mountinfo, status := splitAt(t, rest, "status")
	seen := map[string]string{"hostname": strings.TrimSpace(hostname)}
	for _, point := range probeMountPoints {
		seen["mount "+point] = mountOf(mountinfo, point)
	}
	fields := processStatus(t, status)
	for _, key := range probeStatusFields {
		seen[key] = fields[key]
	}
	return seen
}

// mountOf returns the file system type and per-mount options of the mount
// on point in mountinfo (man 5 proc): the last one listed, the one on top.
func mountOf(mountinfo, point string) string {
	found := "not mounted"
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		separator := slices.Index(f, "-") // the optional fields end here
		if len(f) > 5 && f[4] == point && separator > 0 && separator+1 < len(f) {
			found = f[separator+1] + " " + f[5]
		}
	}
	return found
}

// runcBundle makes a bundle for runc in a temporary directory from spec,
// tinyrun's config.json, with what only tinyrun's caller makes replaced
// by the check's own: root.path a copy of the rootfs the test image is
// imported from, each bind mount whose source is missing (the network
// files, which a real run writes) a file of the check, a namespace path
// that is missing (the network namespace) a new namespace, and cgroupsPath
// container id under a parent of the check, removed when it ends. It
// returns the bundle's directory.
func runcBundle(t *testing.T, spec *specs.Spec, id string) string {
	t.Helper()
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	if out, err := exec.Command("cp", "-a", rootfsDir, rootfs).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v: %s", rootfsDir, rootfs, err, out)
	}
	spec.Root.Path = rootfs
	// The network namespace run makes and pins before init: runc makes
	// a new one instead, as init would find in a fresh one.
	for i, ns := range spec.Linux.Namespaces {
		if ns.Path != "" && !pathExists(ns.Path) {
			spec.Linux.Namespaces[i].Path = ""
		}
	}
	for i, m := range spec.Mounts {
		if m.Type != "bind" || pathExists(m.Source) {
			continue
		}
		file := filepath.Join(bundle, fmt.Sprintf("mount-%d-%s", i, filepath.Base(m.Destination)))
		writeFiles(t, map[string]string{file: "written by the check for runc\n"})
		spec.Mounts[i].Source = file
	}
	// runc leaves the parents of a container's cgroup: the check removes
	// its own (man 7 cgroups: a cgroup without processes or children
	// goes with rmdir).
	parent := "tinyrun-test-runc-" + strconv.FormatUint(uint64(rand.Uint32()), 16)
	spec.Linux.CgroupsPath = "/" + parent + "/" + id
	t.Cleanup(func() { removeCgroupTrees(t, parent) })
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// removeCgroupTrees removes the cgroup name, a child of each hierarchy's
// root, in every hierarchy (v1's and v2's), with the cgroups inside it.
func removeCgroupTrees(t *testing.T, name string) {
	t.Helper()
	trees, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	trees = append(trees, "/sys/fs/cgroup/"+name)
	for _, tree := range trees {
		if err := removeCgroup(tree); err != nil {
			t.Errorf("remove the cgroup runc was given: %v", err)
		}
	}
}

// removeCgroup removes the cgroup dir and those inside it, innermost
// first; one already gone (a v1 hierarchy named twice: cpu and
// cpu,cpuacct) is no error.
func removeCgroup(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroup(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("rmdir %s: %w", dir, err)
	}
	return nil
}

// runRunc runs the container id of bundle with runc, in the foreground,
// from the test's network namespace that stands for the host (as the step
// binary runs), with a state directory of its own, and returns its output.
func runRunc(t *testing.T, runc, bundle, id string) string {
	t.Helper()
	state := t.TempDir()
	t.Cleanup(func() {
		if !pathExists(filepath.Join(state, id)) {
			return // runc run removed it as the container exited
		}
		if out, err := exec.Command(runc, "--root", state, "delete", "--force", id).CombinedOutput(); err != nil {
			t.Errorf("runc delete --force %s: %v: %s", id, err, out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", inNetns(testHostNS, runc, "--root", state, "run", "--bundle", bundle, id)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("runc run --bundle %s %s did not finish within %s", bundle, id, commandTimeout)
	}
	if err != nil {
		if strings.Contains(stderr.String(), "/dev/") && strings.Contains(stderr.String(), "operation not permitted") {
			hintFromFailure("runc could not open a device of the container's /dev: linux.devices only makes the nodes; whether the container may open them is linux.resources.devices, the device cgroup's rules, where runc allows only what is listed (and its own defaults, minus any device linux.devices names again). Say there what tinyrun does: no device policy is one rule, {\"allow\": true, \"access\": \"rwm\"}; Docker's is a deny of all, then an allow per device")
		}
		t.Fatalf("runc run --bundle %s %s, of tinyrun's config.json: %v; stderr %q; stdout %q (runc refusing the spec is the check failing: the spec is for every runtime)",
			bundle, id, err, clip(stderr.String()), clip(stdout.String()))
	}
	return stdout.String()
}

// checkRuncRunsTinyrunsBundle fails if runc cannot run tinyrun's own
// config.json, or if runc's container differs from tinyrun's, made from
// the same flags, in its hostname, the file system type or the mount
// options of /proc, /dev, /dev/pts, /dev/shm or /sys, its capability
// sets, its seccomp mode or its no_new_privs: each is a field of the spec
// that tinyrun writes and does not carry out as written, or carries out
// from something other than the spec.
func checkRuncRunsTinyrunsBundle(t *testing.T, s step) {
	runc := runcBinary(t)
	flags := []string{"--hostname", "spec-probe", "--network", "none"}
	command := []string{"sh", "-c", probeScript}
	spec, _ := s.dryRun(t, flags, command...)
	if spec.Process.Terminal {
		t.Fatalf("run --dry-run without -t: process.terminal is true, want false")
	}
	// Hooks are programs the caller asks the runtime to run; none belongs
	// to the container's own setup, which is what is compared.
	spec.Hooks = nil

	id := "tinyrun-test-" + strconv.FormatUint(uint64(rand.Uint32()), 16)
	fromRunc := probe(t, runRunc(t, runc, runcBundle(t, spec, id), id))
	r := s.runContainer(t, flags, command...)
	if r.status != 0 {
		t.Fatalf("run %s sh -c '%s': %v", strings.Join(flags, " "), probeScript, r)
	}
	fromTinyrun := probe(t, r.stdout)
	keys := []string{"hostname"}
	for _, point := range probeMountPoints {
		keys = append(keys, "mount "+point)
	}
	for _, key := range append(keys, probeStatusFields...) {
		if fromTinyrun[key] != fromRunc[key] {
			t.Errorf("%s: tinyrun's container has %q; runc's, run from tinyrun's config.json for the same flags, has %q", key, fromTinyrun[key], fromRunc[key])
		}
	}
}

// secretValue returns a value for -e that no other process holds.
func secretValue() string {
	return fmt.Sprintf("tinyrun-test-secret-%d", rand.Int63())
}

// processesHolding describes each process of the host that holds one of
// values where it must not: in its command line, unless it is one of
// callers (the check's own runs of the step binary, whose command line is
// the user's, -e and all); in its environment, unless it is in the PID
// namespace pidNS (the container's, whose command is given them on
// purpose). It returns none if none does.
func processesHolding(values []string, pidNS string, callers ...int) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline := readFileString(fmt.Sprintf("/proc/%d/cmdline", pid))
		environ := readFileString(fmt.Sprintf("/proc/%d/environ", pid))
		namespace, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
		parent, _ := processParent(pid)
		for _, value := range values {
			if strings.Contains(cmdline, value) && !slices.Contains(callers, pid) {
				found = append(found, fmt.Sprintf("PID %d (parent %d), running %q, has %q in its command line", pid, parent, commandLine(pid), value))
			}
			if strings.Contains(environ, value) && namespace != pidNS {
				found = append(found, fmt.Sprintf("PID %d (parent %d), running %q, outside the container (PID namespace %s), has %q in its environment", pid, parent, commandLine(pid), namespace, value))
			}
		}
	}
	return found
}

// wantEnvironment fails t unless the process pid has variable in its environment.
func wantEnvironment(t *testing.T, where string, pid int, variable string) {
	t.Helper()
	environ := strings.Split(readFileString(fmt.Sprintf("/proc/%d/environ", pid)), "\x00")
	if !slices.Contains(environ, variable) {
		t.Fatalf("%s: the container's process (PID %d) does not have %q in its environment, so nothing here shows where -e's value goes; its environment: %q", where, pid, variable, environ)
	}
}

// wantNoHolders fails t for each process that holds values where it must
// not (processesHolding), in the container whose first process is init.
func wantNoHolders(t *testing.T, where string, values []string, init int, callers ...int) {
	t.Helper()
	pidNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", init))
	if err != nil {
		t.Fatalf("the container's first process (PID %d): %v", init, err)
	}
	for _, leak := range processesHolding(values, pidNS, callers...) {
		t.Errorf("%s: %s: an -e value goes to the container alone, through the spec (over the socketpair to init, then execve's environment)", where, leak)
	}
}

// checkEnvValuesNeverInArgvOrHostEnviron fails if a value given with -e
// is, while its container runs, in the command line of any process but
// the run or exec that the user typed it on (a monitor, init or exec's
// helper given it as an argument), or in the environment of any process
// outside the container (a runtime process given it in its environment),
// for run, run -d and exec -e alike. It also fails if the value does not
// reach the container's command, where it must.
func checkEnvValuesNeverInArgvOrHostEnviron(t *testing.T, s step) {
	// run, in the foreground: its first process holds the value.
	foreground := secretValue()
	marker := markedSleep()
	c := s.start(t, []string{"-e", "SECRET=" + foreground}, "sleep", marker)
	init := findMarked(t, marker)
	where := "run -e SECRET=... " + testImage + " sleep " + marker
	wantEnvironment(t, where, init, "SECRET="+foreground)
	wantNoHolders(t, where, []string{foreground}, init, c.cmd.Process.Pid)
	if err := syscall.Kill(init, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.wait(t)

	// run -d: its monitor and the container outlive the run typed.
	detached := secretValue()
	marker = markedSleep()
	id := s.detached(t, []string{"-e", "SECRET=" + detached}, "sleep", marker)
	init = findMarked(t, marker)
	where = "run -d -e SECRET=... " + testImage + " sleep " + marker
	wantEnvironment(t, where, init, "SECRET="+detached)
	wantNoHolders(t, where, []string{detached}, init)

	// exec -e, into that container, while the command exec started runs.
	execed := secretValue()
	marker = markedSleep()
	e := s.startArgs(t, "exec", "-e", "EXEC_SECRET="+execed, id, "sleep", marker)
	command := findMarked(t, marker)
	where = "exec -e EXEC_SECRET=... " + id + " sleep " + marker
	wantEnvironment(t, where, command, "EXEC_SECRET="+execed)
	wantNoHolders(t, where, []string{detached, execed}, init, e.cmd.Process.Pid)
	if err := syscall.Kill(command, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.wait(t)
}
