// Network namespace: the container's own interfaces, addresses, routes and ports.
//
// A new network namespace holds nothing but a loopback interface, down
// (man 7 network_namespaces). To reach anything, the container needs a link
// to the host. The classic one, Docker's default, is a bridge on the host (a
// virtual switch with the containers' gateway address) and, per container, a
// veth pair (man 4 veth): two interfaces joined like the ends of a cable, one
// end on the bridge, the other in the container as eth0. Traffic leaving the
// subnet is masqueraded behind the host's address, and published ports are
// forwarded to the container (firewall.go). What a container holds (its
// address, veth and ports) is in its record (state.go).
//
// Order: the parent does it all, while the child waits on a pipe:
//
//	parseNetworkOptions   check --network, --subnet and -p before anything exists
//	reserveNetwork        (under the lock) lease an address, record it with the
//	                      ports; syncNetwork: the bridge and NAT if first, the
//	                      port rules; write the /etc files
//	(clone the child with CLONE_NEWNET; it waits for "go" on its channel)
//	connect               veth pair, eth0's address and route, loopback up
//	"go"                  the child goes on: the spec's mounts, the
//	                      network files among them (channel.go, spec.go)
//	syncNetwork           (release, under the lock) the port rules, and with
//	                      the last container the bridge and NAT
//
// The veth pair needs no undoing: when the container's last process exits,
// the kernel destroys its network namespace, and with it both ends of the
// pair (man 4 veth). Deleting the host's end first would only make the
// runtime wait for what the kernel does anyway (an RCU grace period, some
// 10 ms). Until the kernel gets to it, the dying namespace's eth0 may still
// answer for its address on the bridge: so addresses are given in turn
// (freeAddress), never straight back to the next container.
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
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netCloneFlags asks clone(2) for a new network namespace for the child.
const netCloneFlags = unix.CLONE_NEWNET

// bridgeName is the host's bridge of the default network, "bridge"; a
// network made with "network create" has one of its own (networks.go).
const bridgeName = "tinyrun0"

// defaultSubnet is the containers' subnet. It avoids Docker's 172.17.0.0/16,
// VirtualBox's NAT 10.0.2.0/24 and the usual home and office ranges.
const defaultSubnet = "10.77.0.0/24"

var (
	networkFlag = &cli.StringFlag{
		Name:  "network",
		Usage: "bridge (a bridge, NAT and an address of its own), none (loopback only), or a network of 'network ls'",
		Value: "bridge",
	}
	subnetFlag = &cli.StringFlag{
		Name:  "subnet",
		Usage: "the default bridge's subnet, gateway first, e.g. 10.78.0.0/24",
		Value: defaultSubnet,
	}
	publishFlag = &cli.StringSliceFlag{
		Name:    "publish",
		Aliases: []string{"p"},
		Usage:   "publish a container port on the host: HOSTPORT:CONTAINERPORT[/tcp|/udp] (repeatable)",
	}
)

// networkOptions is what the user asked for, checked.
type networkOptions struct {
	mode   string       // "bridge", "none", or a network's name
	bridge string       // the bridge to plug into; "" with none
	subnet netip.Prefix // the bridge's
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
	opts := networkOptions{mode: ctx.String("network"), bridge: bridgeName}
	subnet, err := parseSubnet(ctx.String("subnet"))
	if err != nil {
		return opts, err
	}
	opts.subnet = subnet
	switch opts.mode {
	case "bridge":
	case "none":
		opts.bridge = ""
	default:
		n, err := findNetwork(opts.mode)
		if err != nil {
			return opts, err
		}
		if ctx.IsSet("subnet") {
			return opts, fmt.Errorf("--subnet with --network %s: the network has its subnet, %s; leave out --subnet", n.Name, n.Subnet)
		}
		opts.bridge, opts.subnet = n.bridge(), n.Subnet
	}
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

// parseSubnet checks a bridge's subnet: private (RFC 1918) only, since a
// public, loopback or multicast range on a bridge would hijack the host's
// routes to it.
func parseSubnet(text string) (netip.Prefix, error) {
	subnet, err := netip.ParsePrefix(text)
	if err != nil || !subnet.Addr().Is4() || !subnet.Addr().IsPrivate() || subnet.Bits() > 30 || subnet.Bits() < 8 || subnet.Masked() != subnet {
		return subnet, fmt.Errorf("--subnet %q is not a private IPv4 network (10/8, 172.16/12, 192.168/16) of at least 4 addresses, such as %s", text, defaultSubnet)
	}
	return subnet, nil
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

// networkRecord is the container's place on the network, in its record
// (state.go): what reserveNetwork leased, and syncNetwork gives back.
type networkRecord struct {
	Namespace string        `json:"namespace"` // the host's network namespace it was made in (networkNamespace)
	Network   string        `json:"network"`   // bridge (the default), or a network's name
	Bridge    string        `json:"bridge"`
	Subnet    netip.Prefix  `json:"subnet"`
	Address   netip.Addr    `json:"address"`
	HostVeth  string        `json:"hostVeth"`
	Ports     []portMapping `json:"ports"`
}

// reserveNetwork leases the container an address and publishes its ports:
// it records them in rec, then brings the bridge and its firewall rules in
// line (syncNetwork). It also writes the container's /etc files. live are
// the other containers' records. The caller holds the lock; on error,
// teardown and settle undo what was made.
func reserveNetwork(rec *record, opts networkOptions, hostname string, live []*record) error {
	if opts.bridge != "" {
		// Checked here, under the lock: a network may have been made or
		// removed since parseNetworkOptions.
		if err := checkNetworkStill(opts); err != nil {
			return err
		}
		here := onBridge(live, opts.bridge)
		setup, _ := readBridgeSetup() // none yet: start from the gateway
		b := setup.Bridges[opts.bridge]
		if b == nil {
			b = &bridgeInfo{}
		}
		if len(here) > 0 && b.Subnet != opts.subnet {
			return fmt.Errorf("bridge %s has subnet %s, in use by running containers: --subnet %s must wait until they exit", opts.bridge, b.Subnet, opts.subnet)
		}
		if err := checkPortsFree(opts.ports, onThisNetwork(live)); err != nil {
			return err
		}
		address, err := freeAddress(opts.subnet, here, b.LastGiven)
		if err != nil {
			return err
		}
		rec.Network = &networkRecord{Namespace: networkNamespace, Network: opts.mode, Bridge: opts.bridge, Subnet: opts.subnet,
			Address: address, HostVeth: "veth" + rec.ID[:8], Ports: opts.ports}
		if err := rec.save(); err != nil {
			return err
		}
		if err := syncNetwork(append(live, rec)); err != nil {
			return err
		}
		if err := rememberGiven(opts.bridge, address); err != nil {
			return err
		}
	}
	return writeNetworkFiles(rec.dir(), hostname, rec.Network)
}

// onBridge returns the records of containers on bridge, here.
func onBridge(records []*record, bridge string) []*record {
	var on []*record
	for _, rec := range onThisNetwork(records) {
		if rec.Network.Bridge == bridge {
			on = append(on, rec)
		}
	}
	return on
}

// onThisNetwork returns the records of containers on this network
// namespace's bridges.
func onThisNetwork(records []*record) []*record {
	var here []*record
	for _, rec := range records {
		if rec.Network != nil && rec.Network.Namespace == networkNamespace {
			here = append(here, rec)
		}
	}
	return here
}

// freeAddress returns the first address of subnet after the one given last
// that no container here holds, going round: not the network's, the
// gateway's or the broadcast address. Taking turns, as Docker does, keeps an
// address that a container just gave back unused for a while: its dying
// namespace may still answer for it (net.go's overview).
func freeAddress(subnet netip.Prefix, here []*record, last netip.Addr) (netip.Addr, error) {
	used := map[netip.Addr]bool{}
	for _, rec := range here {
		used[rec.Network.Address] = true
	}
	first, broadcast := gatewayOf(subnet).Next(), broadcastAddress(subnet)
	a := last
	if !subnet.Contains(a) || a.Less(first) || !a.Less(broadcast) {
		a = gatewayOf(subnet)
	}
	// At most once round the subnet's host addresses.
	for n := 1 << (32 - subnet.Bits()); n > 0; n-- {
		if a = a.Next(); a == broadcast {
			a = first
		}
		if !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free address left in %s: stop a container, or choose a larger --subnet", subnet)
}

// rememberGiven records address as the one given last on bridge, for freeAddress.
func rememberGiven(bridge string, address netip.Addr) error {
	setup, err := readBridgeSetup()
	if err != nil {
		return err
	}
	setup.Bridges[bridge].LastGiven = address
	return writeJSON(bridgeState, setup)
}

// broadcastAddress returns the last address of an IPv4 subnet.
func broadcastAddress(subnet netip.Prefix) netip.Addr {
	a := subnet.Masked().Addr().As4()
	host := uint32(1)<<(32-subnet.Bits()) - 1
	for i := 0; i < 4; i++ {
		a[3-i] |= byte(host >> (8 * i))
	}
	return netip.AddrFrom4(a)
}

// connect plugs the container whose network namespace is pinned at nsPath
// (makeNetworkNamespace) into the bridge: a veth pair with one end on the
// bridge and the other, eth0, in the container, with its address and
// default route. With --network none (n is nil) it only brings up lo.
func connect(n *networkRecord, nsPath string) error {
	// Inside the container's namespace, through a netlink socket opened
	// there (like ip netns exec NAME).
	containerNS, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", nsPath, err)
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
	if n == nil {
		return nil
	}
	bridge, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
	}
	// ip link add vethID master tinyrun0 type veth peer name eth0 netns NAME
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: n.HostVeth, MasterIndex: bridge.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(containerNS)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth pair %s/eth0: %w", n.HostVeth, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil { // ip link set vethID up
		return fmt.Errorf("set %s up: %w", n.HostVeth, err)
	}
	return configureEth0(inside, n.Address, n.Subnet)
}

// netnsFileName is the container's network namespace, pinned in its
// directory. The caller makes the namespace, and the runtime joins it by
// this path (joinNamespaces, runtime.go), as Docker's libnetwork and CNI
// hand runc a path: the network is the caller's business, set up before
// or while the runtime makes the container.
const netnsFileName = "netns"

// makeNetworkNamespace makes a new network namespace and pins it at path, a
// new file: a bind mount of the namespace's own file keeps it alive with no
// process in it, as "ip netns add" does in /run/netns (man 8 ip-netns).
// unshare(2) moves only the calling thread into it: a goroutine does it on
// a thread of its own, locked and never unlocked, which Go then ends with
// the goroutine, so that nothing else ever runs in the new namespace.
func makeNetworkNamespace(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o400)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	f.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, ""); err != nil {
			done <- fmt.Errorf("bind mount the new network namespace on %s: %w", path, err)
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		return errors.Join(fmt.Errorf("make the container's network namespace: %w", err), os.Remove(path))
	}
	return nil
}

// removeNetworkNamespace unpins the network namespace at path: the kernel
// frees it once no process is in it either. Safe to repeat.
func removeNetworkNamespace(path string) error {
	if path == "" {
		return nil
	}
	// EINVAL: not a mount point (its mount never happened, or is undone).
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount the network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
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

// networkFileNames are the files of /etc that describe the network, which the
// parent writes per container and the spec binds over the rootfs's,
// read-only, as Docker does: the files live in the host's /run, which a
// container that could write them could fill.
var networkFileNames = []string{"hosts", "hostname", "resolv.conf"}

// writeNetworkFiles writes the container's /etc/hosts, /etc/hostname and
// /etc/resolv.conf into dir.
func writeNetworkFiles(dir, hostname string, n *networkRecord) error {
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if n != nil {
		hosts += fmt.Sprintf("%s\t%s\n", n.Address, hostname)
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

// openFileMountPoint opens the regular file name in the directory dir (at
// path in the container), creating it empty if missing, and returns its
// descriptor, which the caller closes. A symlink is refused (ELOOP), as in
// openMountPoint; O_CREAT|O_EXCL|O_NOFOLLOW creates a new file or nothing,
// never through a symlink (man 2 open).
func openFileMountPoint(dir *os.File, path, name string) (*os.File, error) {
	where := filepath.Join(path, name)
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(int(dir.Fd()), name, &how)
	if errors.Is(err, unix.ENOENT) {
		// EEXIST: made meanwhile; opening it checks what it is.
		created, createErr := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if createErr != nil && !errors.Is(createErr, unix.EEXIST) {
			return nil, fmt.Errorf("create mount point %s: %w", where, createErr)
		}
		if createErr == nil {
			unix.Close(created)
		}
		fd, err = unix.Openat2(int(dir.Fd()), name, &how)
	}
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("mount point %s is a symlink: refused, not followed (it could lead anywhere): a mount point must be a regular file", where)
	}
	if err != nil {
		return nil, fmt.Errorf("mount point %s: %w", where, err)
	}
	target := os.NewFile(uintptr(fd), where)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		target.Close()
		return nil, fmt.Errorf("stat mount point %s: %w", where, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		target.Close()
		return nil, fmt.Errorf("mount point %s is not a regular file: refused: make it one", where)
	}
	return target, nil
}

// bindMount bind-mounts source, with the mounts under it, on target, with
// the attributes attr (MOUNT_ATTR_RDONLY...) on every one of them; both are
// descriptors. open_tree(2) makes a copy of source's mounts that is attached
// nowhere yet, mount_setattr(2) sets its attributes (Linux 5.12), and
// move_mount(2) attaches it to target's descriptor: the mount is never
// seen without its attributes, and target is not resolved again. (A bind
// remount, mount(2) with MS_REMOUNT|MS_BIND|MS_RDONLY, would come after the
// mount, resolve the path again, change only the top mount, and clear
// nosuid, nodev and noexec unless they are passed again.)
func bindMount(source, target *os.File, attr uint64) error {
	tree, err := unix.OpenTree(int(source.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("bind mount %s on %s: open_tree: %w", source.Name(), target.Name(), err)
	}
	defer unix.Close(tree)
	err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: attr})
	if errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("bind mount %s on %s: mount_setattr: %w: it needs Linux 5.12 or newer", source.Name(), target.Name(), err)
	}
	if err != nil {
		return fmt.Errorf("bind mount %s on %s: mount_setattr: %w", source.Name(), target.Name(), err)
	}
	if err := unix.MoveMount(tree, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("bind mount %s on %s: move_mount: %w", source.Name(), target.Name(), err)
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

// networkNamespace names the network namespace the runtime runs in, for as
// long as the machine is up: a bridge and its rules belong to one network
// namespace, so their state and the containers' places on them do too. The
// name is the namespace's inode number (/proc/self/ns/net) and its cookie
// (SO_NETNS_COOKIE, Linux 5.14; man 7 socket). The inode alone would not do:
// once a namespace is gone the kernel gives its inode to a new one, which
// would then inherit the dead one's state, and restore its ip_forward. The
// cookie is never given twice before a reboot.
var networkNamespace = func() string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return "unknown"
	}
	cookie := uint64(0) // older kernels: the inode alone, with the weakness above
	if fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err == nil {
		cookie, _ = unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
		unix.Close(fd)
	}
	return fmt.Sprintf("%d-%d", st.Ino, cookie)
}()

// networkDir holds the state of this network namespace's bridges.
var (
	networkDir  = filepath.Join(stateDir, "net-"+networkNamespace)
	bridgeState = filepath.Join(networkDir, "bridge.json")
)

// forgetDeadNamespaces removes the bridge state of namespaces that had this
// namespace's inode: two namespaces that exist never share one, so those are
// gone, and their bridge and rules with them. Nothing of theirs is restored.
func forgetDeadNamespaces() error {
	inode, _, _ := strings.Cut(networkNamespace, "-")
	dirs, _ := filepath.Glob(filepath.Join(stateDir, "net-"+inode+"-*"))
	for _, dir := range dirs {
		if dir == networkDir {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove the state of a network namespace that is gone: %w", err)
		}
	}
	return nil
}

// bridgeSetup is what setUpBridge and writeChains changed on the host, kept
// in bridgeState for the runtime that takes it down, maybe another one: the
// bridges, and what they share, ip_forward and the firewall's chains.
type bridgeSetup struct {
	Bridges   map[string]*bridgeInfo `json:"bridges"`   // by name: those set up
	IPForward string                 `json:"ipForward"` // ip_forward before, to restore
	Iptables  string                 `json:"iptables"`  // the iptables-restore that adds the rules (firewall.go)
	Rules     string                 `json:"rules"`     // the runtime's chains as last written
}

// bridgeInfo is one bridge's part of the setup.
type bridgeInfo struct {
	Subnet    netip.Prefix `json:"subnet"`
	LastGiven netip.Addr   `json:"lastGiven"` // the address given last (freeAddress)
}

// The sysctls the bridges need (the kernel's ip-sysctl.rst): forwarding
// between interfaces at all, and 127.0.0.1 as a source on a bridge, for
// published ports reached through the host's loopback.
const ipForwardSysctl = "/proc/sys/net/ipv4/ip_forward"

func routeLocalnetSysctl(bridge string) string {
	return "/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet"
}

// syncNetwork makes the bridges and the firewall rules match the
// containers of records: it sets a bridge up for its first container,
// rewrites the rules when the containers' ports or bridges change, takes a
// bridge down after its last, and what the bridges share after the last of
// all. The caller holds the lock.
func syncNetwork(records []*record) error {
	if err := forgetDeadNamespaces(); err != nil {
		return err
	}
	here := onThisNetwork(records)
	setup, err := readBridgeSetup()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	exists := err == nil
	wanted := map[string]netip.Prefix{} // bridge: subnet, from its first container
	for _, rec := range here {
		if _, ok := wanted[rec.Network.Bridge]; !ok {
			wanted[rec.Network.Bridge] = rec.Network.Subnet
		}
	}
	// A bridge left by containers reclaimed just now may have another
	// subnet, or be half made: start it again.
	for name, b := range setup.Bridges {
		if subnet, ok := wanted[name]; !ok || subnet != b.Subnet || !linkExists(name) {
			if err := deleteBridge(name); err != nil {
				return err
			}
			delete(setup.Bridges, name)
		}
	}
	if len(wanted) == 0 {
		if exists {
			return tearDownNetwork(setup)
		}
		return nil
	}
	if !exists {
		// Recorded first, for tearDownNetwork: the host as it was.
		setup = bridgeSetup{Bridges: map[string]*bridgeInfo{}, IPForward: readTrimmed(ipForwardSysctl)}
		if err := os.MkdirAll(networkDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", networkDir, err)
		}
	}
	for _, name := range sortedKeys(wanted) {
		if setup.Bridges[name] != nil {
			continue
		}
		setup.Bridges[name] = &bridgeInfo{Subnet: wanted[name]}
		if err := writeJSON(bridgeState, setup); err != nil {
			return err
		}
		if err := setUpBridge(name, wanted[name]); err != nil {
			// Half a bridge is worse than none: undo what was done.
			return errors.Join(err, deleteBridge(name))
		}
	}
	return writeChains(&setup, here)
}

// setUpBridge creates the bridge called name with the subnet's gateway
// address, and turns on forwarding; writeChains adds the rules.
func setUpBridge(name string, subnet netip.Prefix) error {
	// ip link add tinyrun0 type bridge
	bridge := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(bridge); err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	// ip addr add 10.77.0.1/24 dev tinyrun0
	gateway := &netlink.Addr{IPNet: prefixToIPNet(netip.PrefixFrom(gatewayOf(subnet), subnet.Bits()))}
	if err := netlink.AddrAdd(bridge, gateway); err != nil {
		return fmt.Errorf("add address %s to %s: %w", gatewayOf(subnet), name, err)
	}
	if err := netlink.LinkSetUp(bridge); err != nil { // ip link set tinyrun0 up
		return fmt.Errorf("set %s up: %w", name, err)
	}
	for _, sysctl := range []string{ipForwardSysctl, routeLocalnetSysctl(name)} {
		if err := os.WriteFile(sysctl, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enable %s: %w", sysctl, err)
		}
	}
	return nil
}

// deleteBridge deletes the bridge called name, if it is there.
func deleteBridge(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil // gone already
	}
	if err := netlink.LinkDel(link); err != nil { // ip link del tinyrun0
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

// tearDownNetwork undoes, after the last bridge, what the bridges shared:
// the rules, the sysctl, and the state.
func tearDownNetwork(setup bridgeSetup) error {
	err := removeChains(setup)
	// Put ip_forward back as it was, so the host is left as found. (Docker
	// leaves it on: software started meanwhile may have come to rely on it.)
	if setup.IPForward != "" {
		if wErr := os.WriteFile(ipForwardSysctl, []byte(setup.IPForward), 0o644); wErr != nil {
			err = errors.Join(err, fmt.Errorf("restore %s: %w", ipForwardSysctl, wErr))
		}
	}
	if err != nil {
		return err
	}
	for _, path := range []string{bridgeState, networkDir} {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
	}
	return nil
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
	if setup.Bridges == nil {
		setup.Bridges = map[string]*bridgeInfo{}
	}
	return setup, nil
}

// sortedKeys returns the keys of m in order, so that the rules written
// from m are the same each time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func linkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

func readTrimmed(path string) string {
	data, _ := os.ReadFile(path)
	return strings.TrimSpace(string(data))
}

// prefixToIPNet converts for netlink, which speaks the older net package.
func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
