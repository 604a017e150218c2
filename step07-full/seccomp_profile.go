// Seccomp profiles: Docker's JSON format, turned into the spec's linux.seccomp.
//
// A Docker profile is the spec's linux.seccomp with conditions: a rule may
// apply only when the container keeps a capability ("includes": {"caps":
// ["CAP_SYS_ADMIN"]}), only on some architectures, or only from a kernel
// version on ("minKernel"); "archMap" lists, for each architecture, the
// others its processes may call in (amd64's: i386 and x32). Docker resolves
// the conditions when it makes a container, and hands runc a plain
// linux.seccomp; so does tinyrun (dockerProfile.forContainer), for its own
// default and for a file given with --security-opt seccomp=FILE.
//
// tinyrun's default is Docker's default profile, moby's default.json,
// kept as Go values in seccomp_docker.go, which scripts/seccompgen
// generates from the module github.com/moby/profiles/seccomp. That module
// has the same converter (LoadProfile); tinyrun does not import it because
// it needs Go 1.23, where this project promises 1.22, and because the
// converter, some sixty lines here, is part of the lesson. Then tinyrun
// refuses a few calls more than Docker does (refusedBeyondDocker).
//
// The default, as the spec says it (run --dry-run shows it):
//
//	defaultAction SCMP_ACT_ERRNO, defaultErrnoRet 1 (EPERM): refuse
//	    whatever no rule allows
//	about 360 calls: SCMP_ACT_ALLOW, in one rule
//	rules with a condition, resolved for the container's capabilities:
//	    mount, unshare, setns ... only with CAP_SYS_ADMIN; clone only
//	    without CLONE_NEW* flags (SCMP_CMP_MASKED_EQ); clone3 ENOSYS,
//	    since its flags are in memory, where a filter cannot look
//	less refusedBeyondDocker's calls: clock_adjtime and name_to_handle_at,
//	    which Docker allows to all; the keyrings, userfaultfd and io_uring,
//	    whatever another release of Docker's profile says
//
// Read: moby's profiles/seccomp (default.json, seccomp_linux.go), "Seccomp
// security profiles for Docker", the runtime spec's config-linux.md.
package main

//go:generate go run ../scripts/seccompgen .

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// dockerProfile is a seccomp profile in Docker's format: the spec's
// linux.seccomp, with archMap and rules that have conditions.
type dockerProfile struct {
	DefaultAction    specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet  *uint                    `json:"defaultErrnoRet,omitempty"`
	Architectures    []specs.Arch             `json:"architectures,omitempty"`
	ArchMap          []dockerArchitecture     `json:"archMap,omitempty"`
	Flags            []specs.LinuxSeccompFlag `json:"flags,omitempty"`
	ListenerPath     string                   `json:"listenerPath,omitempty"`
	ListenerMetadata string                   `json:"listenerMetadata,omitempty"`
	Syscalls         []dockerRule             `json:"syscalls"`
}

// dockerArchitecture is an architecture and those its processes may also
// make calls in (subArchitectures).
type dockerArchitecture struct {
	Arch      specs.Arch   `json:"architecture"`
	SubArches []specs.Arch `json:"subArchitectures"`
}

// dockerRule is the spec's rule, with conditions; Name is the one name of
// older profiles.
type dockerRule struct {
	Names    []string                 `json:"names,omitempty"`
	Name     string                   `json:"name,omitempty"`
	Action   specs.LinuxSeccompAction `json:"action"`
	ErrnoRet *uint                    `json:"errnoRet,omitempty"`
	Args     []specs.LinuxSeccompArg  `json:"args,omitempty"`
	Comment  string                   `json:"comment,omitempty"`
	Includes *dockerCondition         `json:"includes,omitempty"`
	Excludes *dockerCondition         `json:"excludes,omitempty"`
}

// dockerCondition is when a rule applies (includes) or does not (excludes):
// every capability of Caps kept (CAP_ names), this architecture among
// Arches (libseccomp's names: amd64, arm64, x86...), a kernel of MinKernel
// ("5.8") or newer.
type dockerCondition struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// errnoValue is n as errnoRet, for seccomp_docker.go's values.
func errnoValue(n uint) *uint { return &n }

// refusedBeyondDocker are the calls tinyrun's default refuses although
// Docker's allows them, or may in another release of its profile, each
// with the capability that lets it through again ("": none does). They
// are the rules of tinyrun's older deny-list that were stricter than
// Docker's; the capabilities and Docker's profile already refuse the rest.
var refusedBeyondDocker = []struct{ name, capability string }{
	// The kernel's keyrings are not namespaced: keys of the host's users.
	{"keyctl", ""}, {"add_key", ""}, {"request_key", ""},
	// The clock of the whole machine: Docker allows clock_adjtime, which
	// also reads it, to all; tinyrun only with CAP_SYS_TIME.
	{"clock_adjtime", "SYS_TIME"},
	// The first half of the "shocker" escape (open_by_handle_at is the
	// second): Docker allows it to all; tinyrun with CAP_DAC_READ_SEARCH.
	{"name_to_handle_at", "DAC_READ_SEARCH"},
	// Page faults handled by the program, a way to stop the kernel
	// mid-copy that exploits use to win races; and io_uring, whose
	// operations run without a system call this filter would see. Docker's
	// profile refuses these and the keyrings too (io_uring since 2023);
	// they stay here whatever another release of it says.
	{"userfaultfd", ""},
	{"io_uring_setup", ""}, {"io_uring_enter", ""}, {"io_uring_register", ""},
}

// seccompOf is linux.seccomp for security s: the profile given with
// --security-opt seccomp=FILE, or tinyrun's default for a container that
// keeps s's capabilities, or nil for none.
func seccompOf(s security) *specs.LinuxSeccomp {
	if !s.Seccomp {
		return nil
	}
	if s.SeccompProfile != nil {
		return s.SeccompProfile
	}
	filter := dockerDefaultProfile.forContainer(s.Capabilities)
	keeps := map[string]bool{}
	for _, name := range s.Capabilities {
		keeps[name] = true
	}
	var refused []string
	for _, call := range refusedBeyondDocker {
		if call.capability == "" || !keeps[call.capability] {
			refused = append(refused, call.name)
		}
	}
	// Out of every rule that allows them: the default action refuses them.
	var rules []specs.LinuxSyscall
	for _, rule := range filter.Syscalls {
		if rule.Action == specs.ActAllow {
			rule.Names = slices.DeleteFunc(slices.Clone(rule.Names), func(name string) bool { return slices.Contains(refused, name) })
		}
		if len(rule.Names) > 0 {
			rules = append(rules, rule)
		}
	}
	filter.Syscalls = rules
	return filter
}

// loadSeccompProfile reads the Docker profile in file and resolves it for
// a container that keeps capabilities, as Docker does with
// --security-opt seccomp=FILE.
func loadSeccompProfile(file string, capabilities []string) (*specs.LinuxSeccomp, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	decoder := json.NewDecoder(bytes.NewReader(text))
	decoder.DisallowUnknownFields() // a misspelt field would change nothing, silently
	var p dockerProfile
	if err := decoder.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a seccomp profile in Docker's JSON format: %w", err)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p.forContainer(capabilities), nil
}

// check says what is wrong with p, as forContainer would read it.
func (p dockerProfile) check() error {
	if p.DefaultAction == "" {
		return fmt.Errorf("no defaultAction: the profile must say what happens to the calls no rule names")
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		return fmt.Errorf("both architectures and archMap: give one of them")
	}
	for i, rule := range p.Syscalls {
		if len(rule.Names) > 0 && rule.Name != "" || len(rule.Names) == 0 && rule.Name == "" {
			return fmt.Errorf("syscalls[%d]: give either name or names", i)
		}
		for _, c := range []*dockerCondition{rule.Includes, rule.Excludes} {
			if _, ok := parseKernelVersion(c); c != nil && c.MinKernel != "" && !ok {
				return fmt.Errorf("syscalls[%d]: minKernel %q: want a version such as \"5.8\"", i, c.MinKernel)
			}
		}
	}
	return nil
}

// forContainer is p resolved for a container that keeps capabilities
// (names without CAP_), on this machine: the rules whose conditions hold,
// without their conditions; the architectures of archMap's entry for this
// one. p must have passed check.
func (p dockerProfile) forContainer(capabilities []string) *specs.LinuxSeccomp {
	filter := &specs.LinuxSeccomp{DefaultAction: p.DefaultAction, DefaultErrnoRet: p.DefaultErrnoRet,
		Architectures: p.Architectures, Flags: p.Flags, ListenerPath: p.ListenerPath, ListenerMetadata: p.ListenerMetadata}
	native := libseccompArchitectures[runtime.GOARCH]
	for _, a := range p.ArchMap {
		if a.Arch == native.arch {
			filter.Architectures = append([]specs.Arch{a.Arch}, a.SubArches...)
		}
	}
	keeps := func(capability string) bool {
		return slices.Contains(capabilities, strings.TrimPrefix(capability, "CAP_"))
	}
	for _, rule := range p.Syscalls {
		if rule.Includes.holds(native.name, keeps, false) && !rule.Excludes.holds(native.name, keeps, true) {
			names := rule.Names
			if rule.Name != "" {
				names = []string{rule.Name}
			}
			filter.Syscalls = append(filter.Syscalls, specs.LinuxSyscall{Names: names, Action: rule.Action,
				ErrnoRet: rule.ErrnoRet, Args: rule.Args})
		}
	}
	return filter
}

// holds says whether the condition c holds on architecture arch for a
// container whose capabilities keeps says. As in Docker's converter, an
// include holds when all of its parts do, and an exclude (anyPart) when
// any does; an absent or empty include holds, an exclude does not.
func (c *dockerCondition) holds(arch string, keeps func(string) bool, anyPart bool) bool {
	if c == nil || len(c.Caps) == 0 && len(c.Arches) == 0 && c.MinKernel == "" {
		return !anyPart
	}
	var parts []bool
	if len(c.Arches) > 0 {
		parts = append(parts, slices.Contains(c.Arches, arch))
	}
	if len(c.Caps) > 0 {
		all, some := true, false
		for _, capability := range c.Caps {
			all, some = all && keeps(capability), some || keeps(capability)
		}
		parts = append(parts, all && !anyPart || some && anyPart)
	}
	if c.MinKernel != "" {
		parts = append(parts, kernelAtLeast(c))
	}
	if anyPart {
		return slices.Contains(parts, true)
	}
	return !slices.Contains(parts, false)
}

// libseccompArchitectures are, for Go's names of the architectures, the
// spec's and libseccomp's (the names of a profile's "arches").
var libseccompArchitectures = map[string]struct {
	arch specs.Arch
	name string
}{
	"amd64": {specs.ArchX86_64, "amd64"}, "arm64": {specs.ArchAARCH64, "arm64"},
	"386": {specs.ArchX86, "x86"}, "arm": {specs.ArchARM, "arm"},
	"ppc64le": {specs.ArchPPC64LE, "ppc64le"}, "riscv64": {specs.ArchRISCV64, "riscv64"},
	"s390x": {specs.ArchS390X, "s390x"}, "loong64": {specs.ArchLOONGARCH64, "loong64"},
}

// parseKernelVersion reads c's minKernel, "MAJOR.MINOR".
func parseKernelVersion(c *dockerCondition) ([2]int, bool) {
	var v [2]int
	if c == nil {
		return v, false
	}
	n, err := fmt.Sscanf(c.MinKernel, "%d.%d", &v[0], &v[1])
	return v, err == nil && n == 2 && fmt.Sprintf("%d.%d", v[0], v[1]) == c.MinKernel
}

// kernelAtLeast says whether this kernel is c's minKernel or newer, by
// uname(2)'s release ("6.1.0-18-amd64"); a release it cannot read counts
// as older.
func kernelAtLeast(c *dockerCondition) bool {
	want, ok := parseKernelVersion(c)
	var uts unix.Utsname
	if !ok || unix.Uname(&uts) != nil {
		return false
	}
	var have [2]int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &have[0], &have[1]); err != nil {
		return false
	}
	return have[0] > want[0] || have[0] == want[0] && have[1] >= want[1]
}
