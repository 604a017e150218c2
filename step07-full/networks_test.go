package main

import (
	"net/netip"
	"strings"
	"testing"
)

// Containers of two networks must not reach each other: every bridge's
// DROP of what is forwarded to it must come before any bridge's ACCEPT of
// what it sends, or a container of one network would reach the other.
func TestRulesIsolateTheBridges(t *testing.T) {
	setup := &bridgeSetup{Bridges: map[string]*bridgeInfo{
		"tinyrun0": {Subnet: netip.MustParsePrefix("10.77.0.0/24")},
		"tr-back":  {Subnet: netip.MustParsePrefix("10.79.0.0/24")},
	}}
	lastDrop, firstAccept := -1, -1
	for i, r := range chainRules(setup, nil) {
		switch {
		case r.table != "filter":
		case strings.HasSuffix(r.line, "-j DROP"):
			lastDrop = i
		case strings.Contains(r.line, " -i ") && !strings.Contains(r.line, " -o ") && firstAccept < 0:
			firstAccept = i
		}
	}
	if lastDrop < 0 || firstAccept < 0 || lastDrop > firstAccept {
		t.Errorf("want every bridge's DROP (last at %d) before the first ACCEPT of what a bridge sends (%d)", lastDrop, firstAccept)
	}
}

func TestNetworkNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"backend": true, "a1-b2": true, "twelve-chars": true,
		"thirteen-char": false, "Upper": false, "-dash": false, "bridge": false, "none": false, "": false,
	} {
		if err := checkNetworkName(name); (err == nil) != ok {
			t.Errorf("checkNetworkName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
