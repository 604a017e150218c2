// Address allocation (IPAM): a free address of the subnet for each container,
// correct when runtimes start at the same moment and after a runtime is killed.
//
// Every address in use has a lease, a small JSON file under /run/tinyrun/net-*/leases
// named after the address, holding the container's ID, the runtime's PID and
// start time, its veth and its published ports: all that must be undone when
// it ends. Every change to the leases, the bridge or the NAT rules happens
// under an exclusive flock(2) on /run/tinyrun/lock, so two runtimes never
// pick the same address or set up the bridge twice.
//
// A runtime killed with SIGKILL cannot release its lease (its container dies
// with it, see pid.go, and the kernel removes the veth with the container's
// namespace). So every runtime that takes the lock first reclaims the leases
// whose runtime is gone: a PID that no longer exists, or exists with another
// start time (PIDs are reused).
//
// The first container sets up the bridge and NAT (setUpBridge); the last one
// to leave removes them and the state directory (tearDownBridge), so the host
// is left as it was found.
//
// Read: man 2 flock, man 5 proc (/proc/PID/stat, field 22: starttime).
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
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The runtime's state lives in /run, a tmpfs: it does not outlive a reboot,
// and neither do the containers it describes.
const (
	stateDir      = "/run/tinyrun"
	lockPath      = stateDir + "/lock"
	containersDir = stateDir + "/containers"
)

// networkDir holds the leases and the bridge's state of the network namespace
// the runtime runs in (net-INODE, the namespace's inode number): a bridge and
// its firewall rules belong to one network namespace, so their bookkeeping
// does too, and runtimes started in two namespaces do not mix them up.
var networkDir = func() string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return filepath.Join(stateDir, "net")
	}
	return filepath.Join(stateDir, fmt.Sprintf("net-%d", st.Ino))
}()

var (
	leasesDir   = filepath.Join(networkDir, "leases")
	bridgeState = filepath.Join(networkDir, "bridge.json")
)

// lease is one container's hold on an address, and what to undo when it ends.
type lease struct {
	Address   netip.Addr    `json:"address"`
	Container string        `json:"container"`
	PID       int           `json:"pid"`       // the runtime's
	StartTime uint64        `json:"startTime"` // the runtime's, from /proc/PID/stat
	HostVeth  string        `json:"hostVeth"`
	Ports     []portMapping `json:"ports"`
}

// lockState takes the exclusive lock on the runtime's state; call the
// returned function to release it.
func lockState() (unlock func(), err error) {
	for {
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", stateDir, err)
		}
		f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the last runtime removed the directory just now
		}
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", lockPath, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		// The runtime that held the lock before may have removed the file
		// (removeStateDir): then this lock guards nothing. Try again.
		var held, named unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(lockPath, &named) == nil && held.Ino == named.Ino {
			return func() { f.Close() }, nil
		}
		f.Close()
	}
}

// leaseAddress reclaims stale leases, sets up the bridge if this is the
// first container, and leases a free address with the published ports.
// The caller holds the lock.
func leaseAddress(id string, opts networkOptions) (*lease, error) {
	leases, err := liveLeases()
	if err != nil {
		return nil, err
	}
	if len(leases) == 0 {
		if err := setUpBridge(opts.subnet); err != nil {
			// Half a bridge is worse than none: undo what was done.
			return nil, errors.Join(err, tearDownBridge())
		}
	} else if subnet := bridgeSubnet(); subnet != opts.subnet {
		return nil, fmt.Errorf("bridge %s has subnet %s, in use by running containers: --subnet %s must wait until they exit", bridgeName, subnet, opts.subnet)
	}
	if err := checkPortsFree(opts.ports, leases); err != nil {
		return nil, err
	}
	address, err := freeAddress(opts.subnet, leases)
	if err != nil {
		return nil, err
	}
	startTime, err := processStartTime(os.Getpid())
	if err != nil {
		return nil, err
	}
	l := &lease{Address: address, Container: id, PID: os.Getpid(), StartTime: startTime,
		HostVeth: "veth" + id[:8], Ports: opts.ports}
	if err := publishPorts(l); err != nil {
		return nil, errors.Join(err, removeLeaseRules(l))
	}
	if err := writeLease(l); err != nil {
		return nil, errors.Join(err, removeLeaseRules(l))
	}
	return l, nil
}

// releaseAddress undoes leaseAddress. The caller holds the lock.
func releaseAddress(l *lease) error {
	err := removeLeaseRules(l)
	if rmErr := os.Remove(leasePath(l.Address)); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("remove lease: %w", rmErr))
	}
	return err
}

// tearDownIfUnused removes the bridge and NAT when no live lease is left,
// also after a run that failed before it took one. The caller holds the lock.
func tearDownIfUnused() error {
	leases, err := liveLeases()
	if err != nil || len(leases) > 0 {
		return err
	}
	return tearDownBridge()
}

// removeLeaseRules removes what a lease holds on the host besides its file:
// its port rules and, if the kernel has not removed it already, its veth.
func removeLeaseRules(l *lease) error {
	err := unpublishPorts(l)
	if link, lookupErr := netlink.LinkByName(l.HostVeth); lookupErr == nil {
		// ENODEV: the kernel removed it meanwhile, with the container's namespace.
		if delErr := netlink.LinkDel(link); delErr != nil && !errors.Is(delErr, unix.ENODEV) { // ip link del vethID
			err = errors.Join(err, fmt.Errorf("delete %s: %w", l.HostVeth, delErr))
		}
	}
	return err
}

// runtimeAlive reports whether the runtime that wrote a lease or an owner
// file, as PID and start time, still runs.
func runtimeAlive(pid int, startTime uint64) bool {
	start, err := processStartTime(pid)
	return err == nil && start == startTime
}

// reclaimStale removes the leases and container directories whose runtime is
// gone. The caller holds the lock.
func reclaimStale() error {
	if _, err := liveLeases(); err != nil {
		return err
	}
	entries, err := os.ReadDir(containersDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", containersDir, err)
	}
	for _, e := range entries {
		dir := filepath.Join(containersDir, e.Name())
		var pid int
		var start uint64
		data, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err == nil {
			_, err = fmt.Sscan(string(data), &pid, &start)
		}
		if err == nil && runtimeAlive(pid, start) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("reclaim %s: %w", dir, err)
		}
	}
	return nil
}

// liveLeases reads every lease, reclaiming those whose runtime is gone.
func liveLeases() ([]*lease, error) {
	entries, err := os.ReadDir(leasesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", leasesDir, err)
	}
	var live []*lease
	for _, e := range entries {
		l, err := readLease(filepath.Join(leasesDir, e.Name()))
		if err != nil {
			return nil, err
		}
		if runtimeAlive(l.PID, l.StartTime) {
			live = append(live, l)
			continue
		}
		// Stale: its runtime died without releasing it.
		if err := errors.Join(removeLeaseRules(l), os.Remove(leasePath(l.Address)),
			os.RemoveAll(filepath.Join(containersDir, l.Container))); err != nil {
			return nil, fmt.Errorf("reclaim the lease of %s: %w", l.Address, err)
		}
	}
	return live, nil
}

// freeAddress returns the lowest address of subnet that is not the network's,
// the gateway's, the broadcast address or leased.
func freeAddress(subnet netip.Prefix, leases []*lease) (netip.Addr, error) {
	taken := map[netip.Addr]bool{}
	for _, l := range leases {
		taken[l.Address] = true
	}
	broadcast := lastAddress(subnet)
	for a := gatewayOf(subnet).Next(); a.IsValid() && a.Less(broadcast); a = a.Next() {
		if !taken[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free address left in %s: stop a container, or choose a larger --subnet", subnet)
}

// lastAddress returns the broadcast address of an IPv4 subnet.
func lastAddress(subnet netip.Prefix) netip.Addr {
	a := subnet.Masked().Addr().As4()
	host := uint32(1)<<(32-subnet.Bits()) - 1
	for i := 0; i < 4; i++ {
		a[3-i] |= byte(host >> (8 * i))
	}
	return netip.AddrFrom4(a)
}

func leasePath(a netip.Addr) string { return filepath.Join(leasesDir, a.String()) }

func writeLease(l *lease) error {
	if err := os.MkdirAll(leasesDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", leasesDir, err)
	}
	return writeJSON(leasePath(l.Address), l)
}

func readLease(path string) (*lease, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read lease: %w", err)
	}
	var l lease
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("lease %s is damaged (%v): remove it by hand", path, err)
	}
	return &l, nil
}

// processStartTime returns when pid started, in clock ticks after boot
// (field 22 of /proc/PID/stat): a PID and its start time name one process.
func processStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Field 2, the command name, is in parentheses and may hold spaces.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// removeStateDir removes the state directory once no container uses it. The
// caller holds the lock, and so removes the lock file while holding it (see
// lockState for why that is safe).
func removeStateDir() error {
	leases, _ := os.ReadDir(leasesDir)
	containers, _ := os.ReadDir(containersDir)
	if len(leases) > 0 || len(containers) > 0 {
		return nil
	}
	for _, path := range []string{leasesDir, networkDir, containersDir, lockPath, stateDir} {
		// ENOTEMPTY: a file this runtime does not know of; leave it be.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
	}
	return nil
}

// prefixToIPNet converts for netlink, which speaks the older net package.
func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
