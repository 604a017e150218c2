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
// Every rule lives in a chain of the runtime's own; the built-in chains hold
// only one jump each to them (jumps), added with the bridge and removed with
// it. The runtime's chains are always written whole, from the records of the
// containers on the bridge, as one input to iptables-restore --noflush: it
// declares each chain (which empties it, or creates it), fills it, and the
// kernel swaps in each table's new rules at once (man 8 iptables-restore).
// So a start or an exit runs at most two iptables commands: iptables-save,
// to see which jumps are there, and iptables-restore, only when the bridge
// comes or goes; one iptables-restore when the published ports change; and
// none otherwise. `iptables -S` and `iptables -t nat -S` show the result.
//
//	raw    TINYRUN-PREROUTING   drop what comes for 127/8 other than on lo
//	nat    TINYRUN-DNAT         -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.77.0.2:80
//	nat    TINYRUN-POSTROUTING  masquerade what leaves the subnet
//	filter TINYRUN-FORWARD      what the bridge may forward (a host whose FORWARD
//	                            policy is DROP, as with Docker, would drop it all)
//
// With more than one bridge (a network of "network create" has its own),
// each gets the same rules, and one more thing: what one bridge forwards to
// another is dropped, so that containers of two networks cannot reach each
// other (except through a published port, as from anywhere else).
//
// Order: syncNetwork (net.go) calls writeChains whenever the containers on
// the bridges change, and tearDownNetwork calls removeChains after the last.
//
// Read: man 8 iptables, man 8 iptables-restore, man 8 iptables-extensions
// (MASQUERADE, DNAT, addrtype, conntrack), the kernel's ip-sysctl.rst
// (ip_forward, route_localnet).
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
	localnetChain   = "TINYRUN-PREROUTING"  // raw
	dnatChain       = "TINYRUN-DNAT"        // nat
	masqueradeChain = "TINYRUN-POSTROUTING" // nat
	forwardChain    = "TINYRUN-FORWARD"     // filter
)

// chain is one of the runtime's chains, in its table.
type chain struct{ table, name string }

var chains = []chain{{"raw", localnetChain}, {"nat", dnatChain}, {"nat", masqueradeChain}, {"filter", forwardChain}}

// rule is one line of iptables-restore input for a table: "-A CHAIN ..."
// in the form iptables-save prints it, or a chain's declaration.
type rule struct {
	table, line string
}

// jumps are the rules in the built-in chains that lead to the runtime's.
var jumps = []rule{
	{"raw", "-A PREROUTING -j " + localnetChain},
	{"nat", "-A PREROUTING -m addrtype --dst-type LOCAL -j " + dnatChain},
	{"nat", "-A OUTPUT -m addrtype --dst-type LOCAL -j " + dnatChain},
	{"nat", "-A POSTROUTING -j " + masqueradeChain},
	{"filter", "-A FORWARD -j " + forwardChain},
}

// chainRules are the runtime's chains, whole, for the bridges of setup and
// the containers here.
func chainRules(setup *bridgeSetup, here []*record) []rule {
	rules := []rule{
		// route_localnet (net.go) lets 127.0.0.0/8 through the bridge; a
		// container must not use that to reach the host's loopback services
		// (CVE-2020-8558): drop what comes in addressed to 127/8 elsewhere than lo.
		{"raw", "-A " + localnetChain + " -d 127.0.0.0/8 ! -i lo -j DROP"},
	}
	bridges := sortedKeys(setup.Bridges)
	for _, bridge := range bridges {
		rules = append(rules,
			// Containers reach the outside behind the host's address.
			rule{"nat", "-A " + masqueradeChain + " -s " + setup.Bridges[bridge].Subnet.String() + " ! -o " + bridge + " -j MASQUERADE"},
			// The host's 127.0.0.1 reaches a published port: the container
			// could not answer 127.0.0.1, so it sees the gateway instead.
			rule{"nat", "-A " + masqueradeChain + " -s 127.0.0.0/8 -o " + bridge + " -j MASQUERADE"},
			// Between the containers of one bridge.
			rule{"filter", "-A " + forwardChain + " -i " + bridge + " -o " + bridge + " -j ACCEPT"},
			// Into the bridge, only replies come back, and the published
			// ports, below: nothing else, even from a machine of the
			// host's network that routes the subnet through the host.
			rule{"filter", "-A " + forwardChain + " -o " + bridge + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"})
		for _, rec := range onBridge(here, bridge) {
			n := rec.Network
			for _, p := range n.Ports {
				match := fmt.Sprintf("-p %s -m %s --dport ", p.Protocol, p.Protocol)
				rules = append(rules,
					rule{"nat", "-A " + dnatChain + " " + match + strconv.Itoa(int(p.HostPort)) +
						" -j DNAT --to-destination " + n.Address.String() + ":" + strconv.Itoa(int(p.ContainerPort))},
					rule{"filter", "-A " + forwardChain + " -d " + n.Address.String() + "/32 -o " + bridge + " " +
						match + strconv.Itoa(int(p.ContainerPort)) + " -j ACCEPT"})
			}
		}
		// Whatever else is forwarded to the bridge, from outside or from
		// another bridge, is dropped, whatever the FORWARD chain's policy
		// (Docker 28 closed the same gap).
		rules = append(rules, rule{"filter", "-A " + forwardChain + " -o " + bridge + " -j DROP"})
	}
	// Last, so that the drops above come first: containers may send
	// anywhere else.
	for _, bridge := range bridges {
		rules = append(rules, rule{"filter", "-A " + forwardChain + " -i " + bridge + " -j ACCEPT"})
	}
	return rules
}

// writeChains writes the runtime's chains for the containers here, if they
// changed, and with the first container the jumps to them. It records what
// it wrote in setup.
func writeChains(setup *bridgeSetup, here []*record) error {
	rules := chainRules(setup, here)
	text := restoreInput(rules)
	if text == setup.Rules {
		return nil // the same rules: nothing to run
	}
	if setup.Rules == "" {
		// First: choose the iptables, and add the jumps that are missing
		// (a runtime killed half-way may have added some).
		present, err := chooseIptables(setup)
		if err != nil {
			return err
		}
		for _, j := range jumps {
			if !present[j] {
				// FORWARD's goes first (-I), ahead of rules that would
				// drop the containers' traffic.
				rules = append(rules, rule{j.table, strings.Replace(j.line, "-A FORWARD", "-I FORWARD 1", 1)})
			}
		}
	}
	if err := iptablesRestore(setup.Iptables, restoreInput(rules)); err != nil {
		return err
	}
	setup.Rules = text
	return writeJSON(bridgeState, setup)
}

// removeChains removes the jumps and the runtime's chains: those of setup,
// and any that a runtime killed half-way left.
func removeChains(setup bridgeSetup) error {
	if setup.Iptables == "" {
		return nil // no rule was ever written
	}
	present, err := savedJumps(setup.Iptables)
	if err != nil {
		return err
	}
	var rules []rule
	for _, j := range jumps {
		if present[j] {
			rules = append(rules, rule{j.table, strings.Replace(j.line, "-A ", "-D ", 1)})
		}
	}
	// Declared first, so that each exists (empty) when -X deletes it.
	for _, c := range chains {
		rules = append(rules, rule{c.table, "-X " + c.name})
	}
	return iptablesRestore(setup.Iptables, restoreInput(rules))
}

// restoreInput is iptables-restore's input for rules: per table, the
// runtime's chains declared (":CHAIN - [0:0]", which empties a chain that
// exists), then the rules, then COMMIT.
func restoreInput(rules []rule) string {
	var b strings.Builder
	for _, table := range []string{"raw", "nat", "filter"} {
		fmt.Fprintf(&b, "*%s\n", table)
		for _, c := range chains {
			if c.table == table {
				fmt.Fprintf(&b, ":%s - [0:0]\n", c.name)
			}
		}
		for _, r := range rules {
			if r.table == table {
				b.WriteString(r.line + "\n")
			}
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}

// chooseIptables records in setup the first iptables that works here: the
// distribution's default, then each back end by name. Its iptables-save is
// the test, and tells which jumps are there already.
func chooseIptables(setup *bridgeSetup) (present map[rule]bool, err error) {
	var tried []string
	for _, name := range []string{"iptables", "iptables-nft", "iptables-legacy"} {
		restore, err := exec.LookPath(name + "-restore")
		if err != nil {
			tried = append(tried, name+"-restore: not installed")
			continue
		}
		if present, err = savedJumps(restore); err != nil {
			tried = append(tried, err.Error())
			continue
		}
		// Recorded before it adds anything, for tearDownNetwork.
		setup.Iptables = restore
		return present, writeJSON(bridgeState, setup)
	}
	return nil, fmt.Errorf("no working iptables (%s): install the iptables package, and check that the kernel has NAT (nf_nat)", strings.Join(tried, "; "))
}

// savedJumps runs the iptables-save beside restore and returns which jumps
// it lists.
func savedJumps(restore string) (map[rule]bool, error) {
	save := strings.TrimSuffix(restore, "-restore") + "-save"
	out, err := exec.Command(save).Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return nil, fmt.Errorf("%s: %s", save, firstLine(strings.TrimSpace(string(exitErr.Stderr))))
		}
		return nil, fmt.Errorf("%s: %w", save, err)
	}
	present := map[rule]bool{}
	table := ""
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, "*"); ok {
			table = name
		}
		present[rule{table, line}] = true
	}
	return present, nil
}

// iptablesRestore feeds input to iptables-restore --noflush, which changes
// only the chains the input names. -w waits for the lock that iptables takes
// against other programs changing rules at the same time.
func iptablesRestore(restore, input string) error {
	cmd := exec.Command(restore, "-w", "--noflush")
	cmd.Stdin = strings.NewReader(input)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s --noflush: %s (its input was: %s)", restore, firstLine(strings.TrimSpace(string(out))), strings.ReplaceAll(strings.TrimSpace(input), "\n", " | "))
	}
	return nil
}

// checkPortsFree fails if a host port of ports is published by a running
// container or in use on the host. It runs before the container starts.
func checkPortsFree(ports []portMapping, here []*record) error {
	for _, p := range ports {
		for _, rec := range here {
			for _, q := range rec.Network.Ports {
				if q.HostPort == p.HostPort && q.Protocol == p.Protocol {
					return fmt.Errorf("host port %d/%s is already published by container %s: choose another -p", p.HostPort, p.Protocol, rec.ID)
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

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
