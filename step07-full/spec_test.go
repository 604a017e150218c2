package main

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestOwnSpecIsCarriedOut checks that every spec newSpec makes passes
// checkSpec, and that its limits read back as they were given.
func TestOwnSpecIsCarriedOut(t *testing.T) {
	l := limits{memory: 64 << 20, cpuQuota: 50000, pids: 100, cpusetCPUs: "0"}
	for _, c := range []containerConfig{
		{id: "0123456789ab", hostname: "box", command: []string{"sh"}, security: security{Seccomp: true, Capabilities: defaultCapabilities}},
		{id: "0123456789ab", hostname: "box", command: []string{"sh"}, limits: l, volumes: []volume{{host: "/srv", container: "/data", readOnly: true}},
			security: security{Privileged: true, Capabilities: []string{"SYS_ADMIN"}}},
	} {
		spec, err := newSpec(c, nil)
		if err != nil {
			t.Fatalf("newSpec: %v", err)
		}
		if err := checkSpec(spec); err != nil {
			t.Errorf("checkSpec of newSpec's own spec: %v", err)
		}
		got, err := limitsOf(spec.Linux.Resources)
		if err != nil || got != c.limits {
			t.Errorf("limitsOf(resourcesOf(%+v)) = %+v, %v", c.limits, got, err)
		}
	}
}

// TestCheckSpecRefusesByName checks that a field tinyrun does not carry
// out is refused, and named.
func TestCheckSpecRefusesByName(t *testing.T) {
	spec, err := newSpec(containerConfig{id: "0123456789ab", hostname: "box", command: []string{"sh"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1, Soft: 1}}
	spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: "/tmp", Options: []string{"rbind", "rshared"}})
	err = checkSpec(spec)
	for _, want := range []string{"process.rlimits", "linux.sysctl", `"rshared"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkSpec: want an error naming %s, got %v", want, err)
		}
	}
	spec, _ = newSpec(containerConfig{id: "0123456789ab", hostname: "box", command: []string{"sh"}}, nil)
	spec.Linux.Namespaces = spec.Linux.Namespaces[:3] // no uts, no mount
	if err := checkSpec(spec); err == nil || !strings.Contains(err.Error(), "UTS") {
		t.Errorf("checkSpec of a hostname without a UTS namespace: want it refused, got %v", err)
	}
}
