package tests

import (
	"testing"
)

func checkHostnameInsideIsTheOneAsked(t *testing.T, s step) {
	r := s.runContainer(t, []string{"--hostname", "tinyrun-check"}, "hostname")
	if r.status != 0 || r.stdout != "tinyrun-check\n" {
		t.Errorf("run --hostname tinyrun-check hostname: want %q and exit status 0, got %v", "tinyrun-check\n", r)
	}
}

func checkHostnameDoesNotLeakToHost(t *testing.T, s step) {
	host := hostHostname(t)
	r := s.runContainer(t, []string{"--hostname", "tinyrun-leak-check"}, "hostname")
	if r.status != 0 {
		t.Fatalf("run --hostname tinyrun-leak-check hostname: %v", r)
	}
	if got := hostHostname(t); got != host {
		t.Errorf("the host's hostname changed from %q to %q: the container's hostname leaked to the host", host, got)
	}
}

func checkDefaultHostnameIsNotTheHosts(t *testing.T, s step) {
	r := s.runContainer(t, nil, "hostname")
	name := trimLine(r.stdout)
	if r.status != 0 || name == "" {
		t.Fatalf("run hostname: want a hostname and exit status 0, got %v", r)
	}
	if name == hostHostname(t) {
		t.Errorf("without --hostname the container's hostname is the host's (%q): want one of its own", name)
	}
}
