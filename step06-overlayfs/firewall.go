// NAT and published ports: the iptables rules that connect the bridge to the
// outside, and the outside to a container's port.
//
// The bridge's subnet is private: a packet leaving the host with a
// container's source address would get no answer. So POSTROUTING masquerades
// it, rewriting the source to the host's address on the way out, and
// conntrack rewrites the replies back (man 8 iptables-extensions, MASQUERADE).
// A published port is the reverse: a packet for the host's port is sent on to
// the container's address and port (DNAT), in PREROUTING for packets from
// other machines and in OUTPUT for the host's own.
//
// All the rules live in two chains of the runtime's own, jumped to from the
// built-in ones, so that they are easy to list and to remove:
//
//	nat    TINYRUN-DNAT     -p tcp --dport 8080 -j DNAT --to-destination 10.77.0.2:80
//	filter TINYRUN-FORWARD  what the bridge may forward (a host whose FORWARD
//	                        policy is DROP, as with Docker, would drop it all)
//
// Order: setUpBridge (net.go) calls addNetworkRules with the first container,
// leaseAddress calls publishPorts for each, releaseAddress unpublishPorts,
// and tearDownBridge removeNetworkRules with the last.
//
// The iptables command is the distribution's (nft or legacy back end);
// iptables-nft and iptables-legacy are tried if it fails.
//
// Read: man 8 iptables, man 8 iptables-extensions (MASQUERADE, DNAT, addrtype,
// conntrack), the kernel's ip-sysctl.rst (ip_forward, route_localnet).
package main

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
)

// The runtime's own chains.
const (
	dnatChain    = "TINYRUN-DNAT"
	forwardChain = "TINYRUN-FORWARD"
)

// rule is one iptables rule: its table, its chain and its match and target.
type rule struct {
	table, chain string
	spec         []string
}

// networkRules are the rules every container on the bridge needs, set up
// with the first container and removed with the last.
func networkRules(subnet string) []rule {
	return []rule{
		// Send packets for the host's own addresses through the port rules.
		{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", dnatChain}},
		{"nat", "OUTPUT", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", dnatChain}},
		// Containers reach the outside behind the host's address.
		{"nat", "POSTROUTING", []string{"-s", subnet, "!", "-o", bridgeName, "-j", "MASQUERADE"}},
		// The host's 127.0.0.1 reaches a published port: the container
		// could not answer 127.0.0.1, so it sees the gateway instead.
		{"nat", "POSTROUTING", []string{"-s", "127.0.0.0/8", "-o", bridgeName, "-j", "MASQUERADE"}},
		// route_localnet (net.go) lets 127.0.0.0/8 through the bridge; a
		// container must not use that to reach the host's loopback services
		// (CVE-2020-8558): drop what comes in addressed to 127/8 elsewhere than lo.
		{"raw", "PREROUTING", []string{"!", "-i", "lo", "-d", "127.0.0.0/8", "-j", "DROP"}},
		{"filter", "FORWARD", []string{"-j", forwardChain}},
		// Containers may send anywhere; only replies come back in,
		// and the published ports (portRules).
		{"filter", forwardChain, []string{"-i", bridgeName, "-j", "ACCEPT"}},
		{"filter", forwardChain, []string{"-o", bridgeName, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}},
	}
}

// portRules are the rules that publish one port of the container at address.
func portRules(address string, p portMapping) []rule {
	destination := address + ":" + strconv.Itoa(int(p.ContainerPort))
	return []rule{
		{"nat", dnatChain, []string{"-p", p.Protocol, "--dport", strconv.Itoa(int(p.HostPort)), "-j", "DNAT", "--to-destination", destination}},
		{"filter", forwardChain, []string{"-o", bridgeName, "-p", p.Protocol, "-d", address, "--dport", strconv.Itoa(int(p.ContainerPort)), "-j", "ACCEPT"}},
	}
}

// addNetworkRules creates the runtime's chains and the rules of networkRules.
func addNetworkRules(subnet string) error {
	for _, c := range []rule{{table: "nat", chain: dnatChain}, {table: "filter", chain: forwardChain}} {
		if !chainExists(c.table, c.chain) {
			if err := iptables("-t", c.table, "-N", c.chain); err != nil { // iptables -t nat -N TINYRUN-DNAT
				return err
			}
		}
	}
	for _, r := range networkRules(subnet) {
		if err := addRule(r); err != nil {
			return err
		}
	}
	return nil
}

// removeNetworkRules undoes addNetworkRules, rules first, then the chains.
func removeNetworkRules(subnet string) error {
	var err error
	for _, r := range networkRules(subnet) {
		err = errors.Join(err, deleteRule(r))
	}
	for _, c := range []rule{{table: "nat", chain: dnatChain}, {table: "filter", chain: forwardChain}} {
		if chainExists(c.table, c.chain) {
			// -F empties the chain (rules of containers reclaimed late), -X deletes it.
			err = errors.Join(err, iptables("-t", c.table, "-F", c.chain), iptables("-t", c.table, "-X", c.chain))
		}
	}
	return err
}

// publishPorts adds the rules of each of the lease's ports.
func publishPorts(l *lease) error {
	for _, p := range l.Ports {
		for _, r := range portRules(l.Address.String(), p) {
			if err := addRule(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// unpublishPorts removes the rules of each of the lease's ports, if present.
func unpublishPorts(l *lease) error {
	var err error
	for _, p := range l.Ports {
		for _, r := range portRules(l.Address.String(), p) {
			err = errors.Join(err, deleteRule(r))
		}
	}
	return err
}

// checkPortsFree fails if a host port of ports is published by a running
// container or in use on the host. It runs before the container starts.
func checkPortsFree(ports []portMapping, leases []*lease) error {
	for _, p := range ports {
		for _, l := range leases {
			for _, q := range l.Ports {
				if q.HostPort == p.HostPort && q.Protocol == p.Protocol {
					return fmt.Errorf("host port %d/%s is already published by container %s: choose another -p", p.HostPort, p.Protocol, l.Container)
				}
			}
		}
		// A program listening on the port would never see its packets
		// again (DNAT comes first): refuse, as Docker does.
		address := ":" + strconv.Itoa(int(p.HostPort))
		var err error
		if p.Protocol == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp", address); err == nil {
				c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen("tcp", address); err == nil {
				l.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("host port %d/%s is already in use on the host: choose another -p", p.HostPort, p.Protocol)
		}
	}
	return nil
}

// addRule appends r to its chain unless it is there already (iptables -C);
// the jump to the runtime's FORWARD chain goes first instead (-I), ahead of
// rules that would drop the containers' traffic.
func addRule(r rule) error {
	if ruleExists(r) {
		return nil
	}
	if r.chain == "FORWARD" {
		return iptables(append([]string{"-t", r.table, "-I", r.chain, "1"}, r.spec...)...)
	}
	return iptables(append([]string{"-t", r.table, "-A", r.chain}, r.spec...)...)
}

// deleteRule deletes r if it exists.
func deleteRule(r rule) error {
	if !ruleExists(r) {
		return nil
	}
	return iptables(append([]string{"-t", r.table, "-D", r.chain}, r.spec...)...)
}

func ruleExists(r rule) bool {
	return iptables(append([]string{"-t", r.table, "-C", r.chain}, r.spec...)...) == nil
}

func chainExists(table, chain string) bool {
	return iptables("-t", table, "-S", chain) == nil
}

// iptablesPath is the iptables command that works here, found by findIptables.
var iptablesPath string

// iptables runs the iptables command with args. -w waits for the lock that
// iptables takes against other programs changing rules at the same time.
func iptables(args ...string) error {
	if iptablesPath == "" {
		path, err := findIptables()
		if err != nil {
			return err
		}
		iptablesPath = path
	}
	out, err := exec.Command(iptablesPath, append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %s", iptablesPath, strings.Join(args, " "), strings.TrimSpace(string(out)))
	}
	return nil
}

// findIptables returns the first iptables command that can read the nat
// table: the distribution's default, then each back end by name.
func findIptables() (string, error) {
	var tried []string
	for _, name := range []string{"iptables", "iptables-nft", "iptables-legacy"} {
		path, err := exec.LookPath(name)
		if err != nil {
			tried = append(tried, name+": not installed")
			continue
		}
		out, err := exec.Command(path, "-w", "-t", "nat", "-S", "POSTROUTING").CombinedOutput()
		if err == nil {
			return path, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %s", name, strings.TrimSpace(firstLine(string(out)))))
	}
	return "", fmt.Errorf("no working iptables (%s): install the iptables package, and check that the kernel has NAT (nf_nat)", strings.Join(tried, "; "))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
