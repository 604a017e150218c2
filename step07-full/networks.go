// Networks: bridges of their own, made with "network create".
//
// Every container of the steps before this one is plugged into one bridge,
// tinyrun0, the default network ("bridge"). A network made with
// "network create NAME --subnet CIDR" is another bridge, tr-NAME, with its
// own subnet; "run --network NAME" plugs a container into it. Containers of
// one network reach each other; those of two networks do not (the firewall
// drops what one bridge forwards to another, firewall.go), as with Docker's
// user-defined networks. Like an image, a network outlives its containers:
// its definition is a file of the store, /var/lib/tinyrun/networks/NAME.json.
// Its bridge, though, comes and goes with its containers, as tinyrun0 does
// (syncNetwork, net.go).
//
// Read: man 8 ip-link (type bridge), man 8 ip-route.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const networksDir = storeDir + "/networks"

// network is a network's definition.
type network struct {
	Name   string       `json:"name"`
	Subnet netip.Prefix `json:"subnet"`
}

// bridge is the name of the network's bridge: at most 15 bytes (IFNAMSIZ).
func (n network) bridge() string { return "tr-" + n.Name }

// networkNamePattern keeps names short enough for the bridge's.
var networkNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,11}$`)

var networkCommand = &cli.Command{
	Name:  "network",
	Usage: "make, list and remove networks: bridges of their own, for run --network NAME",
	Subcommands: []*cli.Command{
		{
			Name:         "create",
			Usage:        "make a network with a subnet of its own",
			ArgsUsage:    "NAME   e.g. network create --subnet 10.78.0.0/24 backend",
			Flags:        []cli.Flag{&cli.StringFlag{Name: "subnet", Usage: "its private IPv4 subnet, e.g. 10.78.0.0/24", Required: true}},
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				if ctx.NArg() != 1 {
					return fmt.Errorf("want one name: try '%s network create --subnet 10.78.0.0/24 backend'", programName)
				}
				subnet, err := parseSubnet(ctx.String("subnet"))
				if err != nil {
					return err
				}
				n := network{Name: ctx.Args().First(), Subnet: subnet}
				if err := checkNetworkName(n.Name); err != nil {
					return err
				}
				if os.Geteuid() != 0 {
					return errors.New("making a network needs root: run it with sudo")
				}
				return createNetwork(n)
			},
		},
		{
			Name:         "ls",
			Usage:        "list the networks, with the containers running on each",
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				return listNetworks()
			},
		},
		{
			Name:         "rm",
			Usage:        "remove networks that no running container uses",
			ArgsUsage:    "NAME...",
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				if ctx.NArg() == 0 {
					return fmt.Errorf("want a network: try '%s network rm backend'", programName)
				}
				if os.Geteuid() != 0 {
					return errors.New("removing a network needs root: run it with sudo")
				}
				for _, name := range ctx.Args().Slice() {
					if err := removeNetwork(name); err != nil {
						return err
					}
					fmt.Println(name)
				}
				return nil
			},
		},
	},
}

// checkNetworkName refuses names that are not a network's, or are taken by
// the built-in modes of --network.
func checkNetworkName(name string) error {
	if name == "bridge" || name == "none" || name == "host" {
		return fmt.Errorf("%s is a --network mode of its own: choose another name", name)
	}
	if !networkNamePattern.MatchString(name) {
		return fmt.Errorf("network name %q: use at most 12 lowercase letters, digits and '-', starting with a letter or digit", name)
	}
	return nil
}

func networkPath(name string) string { return filepath.Join(networksDir, name+".json") }

// findNetwork reads the definition of the network called name.
func findNetwork(name string) (network, error) {
	var n network
	if checkNetworkName(name) != nil {
		return n, fmt.Errorf("unknown --network %q: use bridge, none, or a network of 'network ls'", name)
	}
	data, err := os.ReadFile(networkPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return n, fmt.Errorf("no network %s: make it with 'network create --subnet CIDR %s', or see 'network ls'", name, name)
	}
	if errors.Is(err, fs.ErrPermission) {
		return n, fmt.Errorf("read network %s: %w: run it with sudo", name, err)
	}
	if err != nil {
		return n, fmt.Errorf("read network %s: %w", name, err)
	}
	if err := json.Unmarshal(data, &n); err != nil || n.Name != name {
		return n, fmt.Errorf("network %s is damaged: remove %s by hand", name, networkPath(name))
	}
	return n, nil
}

// allNetworks returns every network's definition, by name.
func allNetworks() ([]network, error) {
	entries, err := os.ReadDir(networksDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", networksDir, err)
	}
	var networks []network
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			n, err := findNetwork(name)
			if err != nil {
				return nil, err
			}
			networks = append(networks, n)
		}
	}
	sort.Slice(networks, func(i, j int) bool { return networks[i].Name < networks[j].Name })
	return networks, nil
}

// createNetwork writes n's definition, under the lock: its name must be
// new, and its subnet must overlap no other network's, the default one's,
// nor any route of the host (a bridge there would hijack it).
func createNetwork(n network) error {
	return withStoreLock(func() error {
		if _, err := findNetwork(n.Name); err == nil {
			return fmt.Errorf("network %s exists already: choose another name, or remove it with 'network rm'", n.Name)
		}
		others, err := allNetworks()
		if err != nil {
			return err
		}
		taken := map[string]netip.Prefix{"the default network": netip.MustParsePrefix(defaultSubnet)}
		for _, other := range others {
			taken["network "+other.Name] = other.Subnet
		}
		routes, err := netlink.RouteList(nil, unix.AF_INET) // ip -4 route
		if err != nil {
			return fmt.Errorf("list the host's routes: %w", err)
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.To4() == nil {
				continue
			}
			// Not the default route (0.0.0.0/0): it is where the subnet's
			// traffic leaves, not a network the bridge would hide.
			if bits, _ := r.Dst.Mask.Size(); bits > 0 {
				prefix, _ := netip.AddrFromSlice(r.Dst.IP.To4())
				taken[fmt.Sprintf("a route of this host (%s)", r.Dst)] = netip.PrefixFrom(prefix, bits)
			}
		}
		for what, subnet := range taken {
			if subnet.Overlaps(n.Subnet) {
				return fmt.Errorf("--subnet %s overlaps %s, %s: choose another", n.Subnet, what, subnet)
			}
		}
		if err := makeStore(); err != nil {
			return err
		}
		if err := os.MkdirAll(networksDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", networksDir, err)
		}
		return writeJSON(networkPath(n.Name), n)
	})
}

// checkNetworkStill checks, under the lock, that the network of opts is
// still there, and that the default bridge's subnet overlaps no network's:
// two bridges would claim the same addresses.
func checkNetworkStill(opts networkOptions) error {
	if opts.mode != "bridge" {
		_, err := findNetwork(opts.mode)
		return err
	}
	networks, err := allNetworks()
	if err != nil {
		return err
	}
	for _, n := range networks {
		if n.Subnet.Overlaps(opts.subnet) {
			return fmt.Errorf("--subnet %s overlaps network %s, %s: choose another, or use --network %s", opts.subnet, n.Name, n.Subnet, n.Name)
		}
	}
	return nil
}

// removeNetwork removes the network called name, unless a container that
// runs uses it (one that has exited holds no address any more).
func removeNetwork(name string) error {
	if name == "bridge" || name == "none" {
		return fmt.Errorf("%s is built in: it cannot be removed", name)
	}
	return withStoreLock(func() error {
		if _, err := findNetwork(name); err != nil {
			return err
		}
		live, err := reclaim()
		if err != nil {
			return err
		}
		for _, rec := range live {
			if rec.Network != nil && rec.Network.Network == name {
				return fmt.Errorf("network %s is in use by container %s: stop it first", name, rec.Name)
			}
		}
		if err := os.Remove(networkPath(name)); err != nil {
			return fmt.Errorf("remove network %s: %w", name, err)
		}
		if err := unix.Rmdir(networksDir); err != nil && !errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("remove %s: %w", networksDir, err)
		}
		// reclaim may have ended containers: their bridge may go.
		return errors.Join(removeEmptyStore(), settle(live))
	})
}

// listNetworks prints the networks, the default one first, with the
// number of containers running on each.
func listNetworks() error {
	networks, err := allNetworks()
	if err != nil {
		return err
	}
	records, damaged := allRecords()
	running := map[string]int{}
	for _, rec := range records {
		switch {
		case rec.status() != statusRunning:
		case rec.Network == nil:
			running["none"]++
		default:
			running[rec.Network.Network]++
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tBRIDGE\tSUBNET\tCONTAINERS")
	fmt.Fprintf(w, "bridge\t%s\t%s (or run's --subnet)\t%d\n", bridgeName, defaultSubnet, running["bridge"])
	fmt.Fprintf(w, "none\t-\t-\t%d\n", running["none"])
	for _, n := range networks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", n.Name, n.bridge(), n.Subnet, running[n.Name])
	}
	return errors.Join(w.Flush(), damaged)
}
