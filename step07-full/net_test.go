package main

import (
	"net/netip"
	"testing"
)

func TestFreeAddressTakesTurns(t *testing.T) {
	subnet := netip.MustParsePrefix("10.77.0.0/29") // .1 gateway, .2-.6, .7 broadcast
	rec := func(a string) *record { return &record{Network: &networkRecord{Address: netip.MustParseAddr(a)}} }
	for _, tt := range []struct {
		last string
		here []*record
		want string
	}{
		{"", nil, "10.77.0.2"},
		{"10.77.0.2", nil, "10.77.0.3"},
		{"10.77.0.6", nil, "10.77.0.2"},
		{"10.77.0.3", []*record{rec("10.77.0.4"), rec("10.77.0.5")}, "10.77.0.6"},
		{"10.77.0.5", []*record{rec("10.77.0.6"), rec("10.77.0.2")}, "10.77.0.3"},
		{"10.77.0.4", []*record{rec("10.77.0.2"), rec("10.77.0.3"), rec("10.77.0.5"), rec("10.77.0.6")}, "10.77.0.4"},
		{"10.99.0.9", nil, "10.77.0.2"},
	} {
		var last netip.Addr
		if tt.last != "" {
			last = netip.MustParseAddr(tt.last)
		}
		got, err := freeAddress(subnet, tt.here, last)
		if err != nil || got.String() != tt.want {
			t.Errorf("freeAddress after %s with %d taken: got %v, %v; want %s", tt.last, len(tt.here), got, err, tt.want)
		}
	}
	full := []*record{rec("10.77.0.2"), rec("10.77.0.3"), rec("10.77.0.4"), rec("10.77.0.5"), rec("10.77.0.6")}
	if got, err := freeAddress(subnet, full, netip.Addr{}); err == nil {
		t.Errorf("a full subnet: got %v, want an error", got)
	}
}
