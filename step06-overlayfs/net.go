// Network namespace: the container's own interfaces, addresses, routes and ports.
//
// A new network namespace holds nothing but a loopback interface, down
// (man 7 network_namespaces). To reach anything, the container needs a link
// to the host. The classic one, Docker's default, is a bridge on the host (a
// virtual switch with the containers' gateway address) and, per container, a
// veth pair (man 4 veth): two interfaces joined like the ends of a cable, one
// end on the bridge, the other in the container as eth0. Traffic leaving the
// subnet is masqueraded behind the host's address, and published ports are
// forwarded to the container (firewall.go); addresses come from ipam.go.
//
// Order: the parent does it all, while the child waits on a pipe:
//
//	parseNetworkOptions   check --network, --subnet and -p before anything exists
//	reserveNetwork        take the lock; set up the bridge and NAT if first;
//	                      lease an address; publish ports; write /etc files
//	(clone the child with CLONE_NEWNET; it blocks in waitForNetwork)
//	connect               veth pair, eth0's address and route, loopback up
//	signalReady           the child goes on: bindNetworkFiles, then exec
//	release               on exit: ports, veth, lease; the bridge and NAT
//	                      with the last container
//
// Each netlink call corresponds to one ip(8) command, named beside it.
//
// Read: man 7 network_namespaces, man 4 veth, man 8 ip-link, man 8 ip-address,
// man 8 ip-route, man 8 bridge, man 5 hosts, man 5 resolv.conf.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netCloneFlags asks clone(2) for a new network namespace for the child.
const netCloneFlags = unix.CLONE_NEWNET

// bridgeName is the host's bridge that every container's veth is plugged into.
const bridgeName = "tinyrun0"

// defaultSubnet is the containers' subnet. It avoids Docker's 172.17.0.0/16,
// VirtualBox's NAT 10.0.2.0/24 and the usual home and office ranges.
const defaultSubnet = "10.77.0.0/24"

var (
	networkFlag = &cli.StringFlag{
		Name:  "network",
		Usage: "bridge (a bridge, NAT and an address of its own) or none (loopback only)",
		Value: "bridge",
	}
	subnetFlag = &cli.StringFlag{
		Name:  "subnet",
		Usage: "the bridge's subnet, gateway first, e.g. 10.78.0.0/24",
		Value: defaultSubnet,
	}
	publishFlag = &cli.StringSliceFlag{
		Name:    "publish",
		Aliases: []string{"p"},
		Usage:   "publish a container port on the host: HOSTPORT:CONTAINERPORT[/tcp|/udp] (repeatable)",
	}
	// networkFilesFlag tells init where the parent wrote /etc/hosts and friends.
	networkFilesFlag = &cli.StringFlag{Name: "network-files", Hidden: true}
)

// networkOptions is what the user asked for, checked.
type networkOptions struct {
	mode   string       // "bridge" or "none"
	subnet netip.Prefix // with mode bridge
	ports  []portMapping
}

// portMapping is one -p: traffic to HostPort on the host goes to
// ContainerPort in the container.
type portMapping struct {
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"` // "tcp" or "udp"
}

func (p portMapping) String() string {
	return fmt.Sprintf("%d:%d/%s", p.HostPort, p.ContainerPort, p.Protocol)
}

// parseNetworkOptions checks --network, --subnet and -p. It runs in the parent
// before anything is created.
func parseNetworkOptions(ctx *cli.Context) (networkOptions, error) {
	opts := networkOptions{mode: ctx.String("network")}
	if opts.mode != "bridge" && opts.mode != "none" {
		return opts, fmt.Errorf("unknown --network %q: use bridge or none", opts.mode)
	}
	subnet, err := netip.ParsePrefix(ctx.String("subnet"))
	// Private (RFC 1918) only: a public, loopback or multicast range on the
	// bridge would hijack the host's routes to it.
	if err != nil || !subnet.Addr().Is4() || !subnet.Addr().IsPrivate() || subnet.Bits() > 30 || subnet.Bits() < 8 || subnet.Masked() != subnet {
		return opts, fmt.Errorf("--subnet %q is not a private IPv4 network (10/8, 172.16/12, 192.168/16) of at least 4 addresses, such as %s", ctx.String("subnet"), defaultSubnet)
	}
	opts.subnet = subnet
	for _, spec := range ctx.StringSlice("publish") {
		p, err := parsePortMapping(spec)
		if err != nil {
			return opts, err
		}
		for _, q := range opts.ports {
			if q.HostPort == p.HostPort && q.Protocol == p.Protocol {
				return opts, fmt.Errorf("-p %s: host port %d/%s is published twice", spec, p.HostPort, p.Protocol)
			}
		}
		opts.ports = append(opts.ports, p)
	}
	if opts.mode == "none" && len(opts.ports) > 0 {
		return opts, errors.New("-p needs a network: leave out --network none")
	}
	return opts, nil
}

// parsePortMapping parses HOSTPORT:CONTAINERPORT[/tcp|/udp].
func parsePortMapping(spec string) (portMapping, error) {
	usage := fmt.Errorf("-p %q: want HOSTPORT:CONTAINERPORT[/tcp|/udp], such as -p 8080:80", spec)
	ports, protocol, hasProtocol := strings.Cut(spec, "/")
	if !hasProtocol {
		protocol = "tcp"
	}
	hostPort, containerPort, ok := strings.Cut(ports, ":")
	if !ok || (protocol != "tcp" && protocol != "udp") {
		return portMapping{}, usage
	}
	p := portMapping{Protocol: protocol}
	for _, port := range []struct {
		text string
		into *uint16
	}{{hostPort, &p.HostPort}, {containerPort, &p.ContainerPort}} {
		n, err := strconv.Atoi(port.text)
		if err != nil {
			return portMapping{}, usage
		}
		if n < 1 || n > 65535 {
			return portMapping{}, fmt.Errorf("-p %q: port %d is not between 1 and 65535", spec, n)
		}
		*port.into = uint16(n)
	}
	return p, nil
}

// attachment is one container's place on the network: what reserveNetwork
// took and release gives back.
type attachment struct {
	id       string
	opts     networkOptions
	lease    *lease // nil with --network none
	filesDir string // holds hosts, hostname and resolv.conf for the container
}

// reserveNetwork sets up the host's side of the container's network, before
// the container exists: the bridge and NAT if no container has them up yet,
// an address, the published ports, and the files for /etc. On error nothing
// is left behind.
func reserveNetwork(id, hostname string, opts networkOptions) (*attachment, error) {
	unlock, err := lockState()
	if err != nil {
		return nil, err
	}
	defer unlock()
	// What runtimes killed with SIGKILL left behind goes first.
	if err := reclaimStale(); err != nil {
		return nil, err
	}
	a := &attachment{id: id, opts: opts, filesDir: filepath.Join(containersDir, id)}
	if err := makeContainerDir(a.filesDir); err != nil {
		return nil, errors.Join(err, a.releaseLocked())
	}
	if opts.mode == "bridge" {
		if a.lease, err = leaseAddress(id, opts); err != nil {
			return nil, errors.Join(err, a.releaseLocked())
		}
	}
	if err := writeNetworkFiles(a.filesDir, hostname, a.lease); err != nil {
		return nil, errors.Join(err, a.releaseLocked())
	}
	return a, nil
}

// makeContainerDir creates the container's state directory, with an owner
// file naming this runtime, so that reclaimStale can tell, should this
// runtime be killed, that the directory is left over.
func makeContainerDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	start, err := processStartTime(os.Getpid())
	if err != nil {
		return err
	}
	owner := fmt.Sprintf("%d %d\n", os.Getpid(), start)
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(owner), 0o644); err != nil {
		return fmt.Errorf("write %s/owner: %w", dir, err)
	}
	return nil
}

// cleanup removes what runtimes killed with SIGKILL left behind: their
// leases, port rules and state, and the bridge and NAT if no container is
// left. The next run does the same on its way; this is for when there is none.
func cleanup() error {
	unlock, err := lockState()
	if err != nil {
		return err
	}
	defer unlock()
	if err := reclaimStale(); err != nil {
		return err
	}
	if leases, err := liveLeases(); err != nil || len(leases) > 0 {
		return err
	}
	return errors.Join(tearDownBridge(), removeStateDir())
}

// connect plugs the container whose PID 1 is pid into the bridge: a veth
// pair with one end on the bridge and the other, eth0, in the container, with
// its address and default route. With --network none it only brings up lo.
func (a *attachment) connect(pid int) error {
	// Inside the container's namespace, through a netlink socket opened
	// there (like ip netns exec, or nsenter --net --target PID).
	containerNS, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open network namespace of PID %d: %w", pid, err)
	}
	defer containerNS.Close()
	inside, err := netlink.NewHandleAt(containerNS)
	if err != nil {
		return fmt.Errorf("netlink in the container's network namespace: %w", err)
	}
	defer inside.Close()
	if err := setLinkUp(inside, "lo"); err != nil { // ip link set lo up
		return err
	}
	if a.lease == nil {
		return nil
	}
	bridge, err := netlink.LinkByName(bridgeName)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", bridgeName, err)
	}
	// ip link add vethID master tinyrun0 type veth peer name eth0 netns PID
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: a.lease.HostVeth, MasterIndex: bridge.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsPid(pid),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth pair %s/eth0: %w", a.lease.HostVeth, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil { // ip link set vethID up
		return fmt.Errorf("set %s up: %w", a.lease.HostVeth, err)
	}
	return configureEth0(inside, a.lease.Address, a.opts.subnet)
}

// configureEth0 gives the container's eth0 its address, brings it up and
// routes everything else through the gateway, the bridge's address.
func configureEth0(inside *netlink.Handle, address netip.Addr, subnet netip.Prefix) error {
	eth0, err := inside.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("find eth0 in the container: %w", err)
	}
	// ip addr add 10.77.0.2/24 dev eth0
	addr := &netlink.Addr{IPNet: prefixToIPNet(netip.PrefixFrom(address, subnet.Bits()))}
	if err := inside.AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("add address %s to eth0: %w", address, err)
	}
	if err := setLinkUp(inside, "eth0"); err != nil { // ip link set eth0 up
		return err
	}
	// ip route add default via 10.77.0.1
	route := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: gatewayOf(subnet).AsSlice()}
	if err := inside.RouteAdd(route); err != nil {
		return fmt.Errorf("add default route via %s: %w", gatewayOf(subnet), err)
	}
	return nil
}

// signalReady tells the child, blocked in waitForNetwork, to go on.
func signalReady(pipe *os.File) error {
	if _, err := pipe.Write([]byte{1}); err != nil {
		return fmt.Errorf("tell the container its network is ready: %w", err)
	}
	return pipe.Close()
}

// release undoes reserveNetwork and connect: the published ports, the veth
// (if the container's end did not take it away already), the lease, and
// with the last container the bridge and NAT. It is safe to call twice.
func (a *attachment) release() error {
	unlock, err := lockState()
	if err != nil {
		return err
	}
	defer unlock()
	return a.releaseLocked()
}

// releaseLocked is release for a caller that holds the lock.
func (a *attachment) releaseLocked() error {
	var err error
	if a.lease != nil {
		err = releaseAddress(a.lease)
		a.lease = nil
	}
	if rmErr := os.RemoveAll(a.filesDir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove %s: %w", a.filesDir, rmErr))
	}
	return errors.Join(err, reclaimStale(), tearDownIfUnused(), removeStateDir())
}

// waitForNetwork blocks the child until the parent has set up its network:
// it reads one byte from the pipe the parent passed as fd 3. End of file
// instead means the parent failed and will kill us: run nothing.
func waitForNetwork() error {
	pipe := os.NewFile(3, "network-ready")
	defer pipe.Close()
	buf := make([]byte, 1)
	if _, err := io.ReadFull(pipe, buf); err != nil {
		return fmt.Errorf("wait for the network: the runtime gave up (%w)", err)
	}
	return nil
}

// networkFileNames are the files of /etc that describe the network, which the
// parent writes per container and the child bind-mounts over the rootfs's,
// as Docker does: the rootfs is shared by every container of steps 03-05.
var networkFileNames = []string{"hosts", "hostname", "resolv.conf"}

// writeNetworkFiles writes the container's /etc/hosts, /etc/hostname and
// /etc/resolv.conf into dir.
func writeNetworkFiles(dir, hostname string, l *lease) error {
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if l != nil {
		hosts += fmt.Sprintf("%s\t%s\n", l.Address, hostname)
	}
	files := map[string]string{
		"hosts":       hosts,
		"hostname":    hostname + "\n",
		"resolv.conf": containerResolvConf(),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// containerResolvConf returns the resolv.conf the container gets: the host's,
// unless it names a resolver on the host's loopback (systemd-resolved's
// 127.0.0.53), which the container's own loopback does not have. Then
// systemd-resolved's list of upstream servers, and as a last resort public
// resolvers, as Docker does.
func containerResolvConf() string {
	for _, path := range []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"} {
		data, err := os.ReadFile(path)
		if err == nil && hasNameserver(string(data)) && !usesLoopbackResolver(string(data)) {
			return string(data)
		}
	}
	return "# the host's resolver is on its loopback, out of the container's reach\nnameserver 8.8.8.8\nnameserver 1.1.1.1\n"
}

func hasNameserver(conf string) bool {
	return strings.Contains(conf, "nameserver")
}

// usesLoopbackResolver reports whether resolv.conf text names a nameserver on 127.0.0.0/8 or ::1.
func usesLoopbackResolver(conf string) bool {
	for _, line := range strings.Split(conf, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if addr, err := netip.ParseAddr(fields[1]); err == nil && addr.IsLoopback() {
				return true
			}
		}
	}
	return false
}

// bindNetworkFiles bind-mounts the files the parent wrote in dir over the
// rootfs's /etc/hosts, /etc/hostname and /etc/resolv.conf. It runs in the
// child before pivot_root, while dir (on the host) can still be reached.
func bindNetworkFiles(rootfs, dir string) error {
	// Paths are resolved on the host here: a symlinked etc (to /etc, say)
	// would point these mounts, and the files created for them, at the host.
	etc := filepath.Join(rootfs, "etc")
	if info, err := os.Lstat(etc); err != nil || !info.IsDir() {
		return fmt.Errorf("%s is not a directory: cannot mount the container's network files in it", etc)
	}
	for _, name := range networkFileNames {
		target := filepath.Join(rootfs, "etc", name)
		// A symlink would be followed by mount(2), perhaps out of the rootfs.
		if info, err := os.Lstat(target); err == nil && !info.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file: cannot mount the container's %s over it", target, name)
		}
		// The mount point must exist; a rootfs without one gets an empty file.
		f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return fmt.Errorf("create mount point %s: %w", target, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("create mount point %s: %w", target, err)
		}
		source := filepath.Join(dir, name)
		if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind mount %s on %s: %w", source, target, err)
		}
	}
	return nil
}

// setLinkUp brings the link called name up, through handle h.
func setLinkUp(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// gatewayOf returns the subnet's first address, which the bridge holds.
func gatewayOf(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}

// bridgeSetup is what setUpBridge changed on the host, kept in bridgeState
// for the runtime that tears the bridge down, maybe another one.
type bridgeSetup struct {
	Subnet    netip.Prefix `json:"subnet"`
	IPForward string       `json:"ipForward"` // ip_forward before, to restore
}

// The sysctls the bridge needs (the kernel's ip-sysctl.rst): forwarding
// between interfaces at all, and 127.0.0.1 as a source on the bridge, for
// published ports reached through the host's loopback.
const (
	ipForwardSysctl     = "/proc/sys/net/ipv4/ip_forward"
	routeLocalnetSysctl = "/proc/sys/net/ipv4/conf/" + bridgeName + "/route_localnet"
)

// setUpBridge creates the bridge with the subnet's gateway address, turns on
// forwarding and adds the NAT rules. The caller holds the lock, and no
// container is on the bridge.
func setUpBridge(subnet netip.Prefix) error {
	setup := bridgeSetup{Subnet: subnet, IPForward: "0"}
	// A runtime killed before it could tear down left the state: keep what
	// it recorded of the host as it was before.
	if old, err := readBridgeSetup(); err == nil {
		setup.IPForward = old.IPForward
		if err := tearDownBridge(); err != nil {
			return err
		}
	} else if data, err := os.ReadFile(ipForwardSysctl); err == nil {
		setup.IPForward = strings.TrimSpace(string(data))
	}
	if err := os.MkdirAll(networkDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", networkDir, err)
	}
	if err := writeJSON(bridgeState, setup); err != nil {
		return err
	}
	// ip link add tinyrun0 type bridge
	bridge := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := netlink.LinkAdd(bridge); err != nil {
		return fmt.Errorf("create bridge %s: %w", bridgeName, err)
	}
	// ip addr add 10.77.0.1/24 dev tinyrun0
	gateway := &netlink.Addr{IPNet: prefixToIPNet(netip.PrefixFrom(gatewayOf(subnet), subnet.Bits()))}
	if err := netlink.AddrAdd(bridge, gateway); err != nil {
		return fmt.Errorf("add address %s to %s: %w", gatewayOf(subnet), bridgeName, err)
	}
	if err := netlink.LinkSetUp(bridge); err != nil { // ip link set tinyrun0 up
		return fmt.Errorf("set %s up: %w", bridgeName, err)
	}
	for _, sysctl := range []string{ipForwardSysctl, routeLocalnetSysctl} {
		if err := os.WriteFile(sysctl, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enable %s: %w", sysctl, err)
		}
	}
	return addNetworkRules(subnet.String())
}

// tearDownBridge undoes setUpBridge: the rules, the bridge, the sysctl.
func tearDownBridge() error {
	setup, err := readBridgeSetup()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = removeNetworkRules(setup.Subnet.String())
	if link, lookupErr := netlink.LinkByName(bridgeName); lookupErr == nil {
		if delErr := netlink.LinkDel(link); delErr != nil { // ip link del tinyrun0
			err = errors.Join(err, fmt.Errorf("delete bridge %s: %w", bridgeName, delErr))
		}
	}
	// Put ip_forward back as it was, so the host is left as found. (Docker
	// leaves it on: software started meanwhile may have come to rely on it.)
	if wErr := os.WriteFile(ipForwardSysctl, []byte(setup.IPForward), 0o644); wErr != nil {
		err = errors.Join(err, fmt.Errorf("restore %s: %w", ipForwardSysctl, wErr))
	}
	if err != nil {
		return err
	}
	return os.Remove(bridgeState)
}

// bridgeSubnet returns the subnet the bridge was set up with.
func bridgeSubnet() netip.Prefix {
	setup, err := readBridgeSetup()
	if err != nil {
		return netip.Prefix{}
	}
	return setup.Subnet
}

func readBridgeSetup() (bridgeSetup, error) {
	var setup bridgeSetup
	data, err := os.ReadFile(bridgeState)
	if err != nil {
		return setup, err
	}
	if err := json.Unmarshal(data, &setup); err != nil {
		return setup, fmt.Errorf("%s is damaged (%v): remove it by hand", bridgeState, err)
	}
	return setup, nil
}

// writeJSON writes v to path as JSON, atomically: into a new file first,
// then renamed over path, so that a runtime killed while writing leaves the
// old file or the new one, never half of one (man 2 rename).
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
