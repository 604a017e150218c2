package tests

// The checks of step 07's networks: network create, ls and rm, and
// run --network NAME. Their entries are in steps_test.go.

import (
	"fmt"
	"strings"
	"testing"
)

// testNetworks are the networks the checks make, with subnets no other
// check uses; removed when the check ends.
var testNetworks = map[string]string{"tinyrun-t-a": "10.81.0.0/24", "tinyrun-t-b": "10.82.0.0/24"}

// createNetwork makes the network name of testNetworks, removed (network
// rm) when the check ends.
func (s step) createNetwork(t *testing.T, name string) {
	t.Helper()
	if r := s.run(t, "network", "create", "--subnet", testNetworks[name], name); r.status != 0 {
		t.Fatalf("network create --subnet %s %s: %v", testNetworks[name], name, r)
	}
	t.Cleanup(func() {
		if r := s.run(t, "network", "ls"); strings.Contains(r.stdout, name+" ") {
			if r := s.run(t, "network", "rm", name); r.status != 0 {
				t.Errorf("network rm %s, cleaning up after the check: %v", name, r)
			}
		}
	})
}

// canPing reports whether container id gets an answer from address.
func (s step) canPing(t *testing.T, id, address string) bool {
	t.Helper()
	r := s.run(t, "exec", id, "ping", "-c", "1", "-W", "1", address)
	return r.status == 0
}

func checkNetworksKeepTheirContainersApart(t *testing.T, s step) {
	s.createNetwork(t, "tinyrun-t-a")
	s.createNetwork(t, "tinyrun-t-b")
	a1 := s.detached(t, []string{"--network", "tinyrun-t-a"}, "sleep", "1000")
	a2 := s.detached(t, []string{"--network", "tinyrun-t-a"}, "sleep", "1000")
	b1 := s.detached(t, []string{"--network", "tinyrun-t-b"}, "sleep", "1000")
	rows := s.containers(t)
	for id, subnet := range map[string]string{a1: "10.81.0.", a2: "10.81.0.", b1: "10.82.0."} {
		if !strings.HasPrefix(rows[id].address, subnet) {
			t.Fatalf("container %s: want an address in %s0/24, its network's subnet, got %v", id, subnet, rows[id])
		}
	}
	if !s.canPing(t, a1, rows[a2].address) {
		t.Errorf("a container of network tinyrun-t-a cannot reach another of the same network (%s)", rows[a2].address)
	}
	if s.canPing(t, b1, rows[a1].address) {
		t.Errorf("a container of network tinyrun-t-b reaches one of network tinyrun-t-a (%s): two networks must be kept apart", rows[a1].address)
	}
	if s.canPing(t, a1, rows[b1].address) {
		t.Errorf("a container of network tinyrun-t-a reaches one of network tinyrun-t-b (%s): two networks must be kept apart", rows[b1].address)
	}
	ls := s.run(t, "network", "ls")
	for name, count := range map[string]int{"tinyrun-t-a": 2, "tinyrun-t-b": 1} {
		want := fmt.Sprintf("%s tr-%s %s %d", name, name, testNetworks[name], count)
		if !strings.Contains(strings.Join(strings.Fields(ls.stdout), " "), want) {
			t.Errorf("network ls: want a line %q (name, bridge, subnet, running containers), got %v", want, ls)
		}
	}
	s.wantRefused(t, []string{"network", "rm", "tinyrun-t-a"}, "tinyrun-t-a", 125)
}

func checkNetworkCommandsRefuseBadInput(t *testing.T, s step) {
	s.createNetwork(t, "tinyrun-t-a")
	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{"network", "create", "--subnet", "10.83.0.0/24", "tinyrun-t-a"}, "tinyrun-t-a"},      // the name is taken
		{[]string{"network", "create", "--subnet", "10.81.0.128/25", "tinyrun-t-c"}, "10.81.0.128/25"}, // overlaps tinyrun-t-a
		{[]string{"network", "create", "--subnet", "8.8.8.0/24", "tinyrun-t-c"}, "8.8.8.0/24"},         // not private
		{[]string{"network", "create", "--subnet", "10.83.0.0/24", "Bad_Name"}, "Bad_Name"},
		{[]string{"network", "create", "--subnet", "10.83.0.0/24", "bridge"}, "bridge"},
		{[]string{"network", "create", "tinyrun-t-c"}, "subnet"}, // no --subnet
		{[]string{"network", "rm", "tinyrun-t-nosuch"}, "tinyrun-t-nosuch"},
		{[]string{"network", "rm", "bridge"}, "bridge"},
		{s.detachedArgs([]string{"--network", "tinyrun-t-nosuch"}, "true"), "tinyrun-t-nosuch"},
		{s.detachedArgs([]string{"--network", "tinyrun-t-a", "--subnet", "10.84.0.0/24"}, "true"), "subnet"},
		{s.detachedArgs([]string{"--subnet", "10.81.0.0/24"}, "true"), "tinyrun-t-a"}, // the default bridge on a network's subnet
	} {
		s.wantRefused(t, c.args, c.mention, 125)
	}
}
