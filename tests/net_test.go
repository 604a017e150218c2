package tests

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The default subnet of step 04, and its gateway (the bridge's address).
const (
	defaultSubnet = "10.77.0.0/24"
	gateway       = "10.77.0.1"
)

// containerAddress returns the IPv4 address and prefix of eth0 printed by
// "ip -4 -o addr show eth0" in out, or "" if there is none.
func containerAddress(out string) string {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "inet" {
				return f[i+1]
			}
		}
	}
	return ""
}

func checkEth0HasAnAddressInTheSubnet(t *testing.T, s step) {
	r := s.runContainer(t, nil, "ip", "-4", "-o", "addr", "show", "eth0")
	prefix, err := netip.ParsePrefix(containerAddress(r.stdout))
	if r.status != 0 || err != nil {
		t.Fatalf("ip addr show eth0 in the container: want an IPv4 address, got %v", r)
	}
	if !netip.MustParsePrefix(defaultSubnet).Contains(prefix.Addr()) || prefix.Bits() != 24 || prefix.Addr().String() == gateway {
		t.Errorf("eth0 has %s: want a container address in %s", prefix, defaultSubnet)
	}
}

func checkLoopbackAndGatewayAnswer(t *testing.T, s step) {
	for _, address := range []string{"127.0.0.1", gateway} {
		r := s.runContainer(t, nil, "ping", "-c", "1", "-W", "2", address)
		if r.status != 0 {
			t.Errorf("ping %s from the container: want an answer, got %v", address, r)
		}
	}
}

func checkNetworkFilesDescribeTheContainer(t *testing.T, s step) {
	r := s.runContainer(t, []string{"--hostname", "netbox"}, "sh", "-c",
		"cat /etc/hostname; grep netbox /etc/hosts; grep -c '^nameserver' /etc/resolv.conf; ip -4 -o addr show eth0")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.status != 0 || len(lines) != 4 {
		t.Fatalf("want /etc/hostname, a hosts entry, nameservers and eth0's address, got %v", r)
	}
	address, _, _ := strings.Cut(containerAddress(lines[3]), "/")
	if lines[0] != "netbox" || strings.Join(strings.Fields(lines[1]), " ") != address+" netbox" || lines[2] == "0" {
		t.Errorf("want /etc/hostname %q, /etc/hosts to map %s to it, and a nameserver; got %q", "netbox", address, r.stdout)
	}
}

// startServer starts a container of step s with flags that serves its /etc
// over HTTP on port 80 until stopServer, and returns it with its address.
func startServer(t *testing.T, s step, flags ...string) (*running, string) {
	t.Helper()
	c := s.start(t, flags, "sh", "-c", "httpd -p 80 -h /etc && ip -4 -o addr show eth0 && echo ready; read line; exit 0")
	address, _, _ := strings.Cut(containerAddress(strings.Join(c.waitForLine(t, "ready"), "\n")), "/")
	if address == "" {
		t.Fatal("the server container printed no address")
	}
	return c, address
}

// stopServer ends a container started by startServer and checks it exited cleanly.
func stopServer(t *testing.T, c *running) {
	t.Helper()
	if status, _ := c.finish(t); status != 0 {
		t.Errorf("the server container exited with %d, stderr %q", status, c.stderr.String())
	}
}

// fetch runs busybox wget for url with run (inTestHost or inOutside, or a
// container) and returns what it got; wget has no working -T here, so the
// caller's context bounds it.
func fetch(t *testing.T, where func(ctx context.Context, args ...string) (string, error), url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := where(ctx, "busybox", "wget", "-q", "-O", "-", url)
	if err != nil {
		return "error: " + strings.TrimSpace(out) + " (" + err.Error() + ")"
	}
	return out
}

func fromTestHost(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "nsenter", inNetns(testHostNS, args...)...).CombinedOutput()
	return string(out), err
}

func fromOutside(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "nsenter", inNetns(testOutsideNS, args...)...).CombinedOutput()
	return string(out), err
}

func checkContainersReachEachOther(t *testing.T, s step) {
	server, address := startServer(t, s, "--hostname", "server")
	defer stopServer(t, server)
	r := s.runContainer(t, nil, "wget", "-q", "-O", "-", "http://"+address+"/hostname")
	if r.status != 0 || r.stdout != "server\n" {
		t.Errorf("a second container fetching http://%s/hostname from the first: want %q, got %v", address, "server\n", r)
	}
}

func checkOutsideSeesTheHostsAddress(t *testing.T, s step) {
	r := s.runContainer(t, nil, "wget", "-q", "-O", "-", "http://"+outsideAddr+"/cgi-bin/ip")
	if r.status != 0 || r.stdout != testHostAddr+"\n" {
		t.Errorf("the outside server, asked from a container, should see the host's address %s (NAT): got %v", testHostAddr, r)
	}
}

func checkPublishedPortAnswers(t *testing.T, s step) {
	server, _ := startServer(t, s, "--hostname", "published", "-p", "8080:80")
	defer stopServer(t, server)
	for _, c := range []struct {
		from  string
		where func(ctx context.Context, args ...string) (string, error)
		url   string
	}{
		{"the host, on 127.0.0.1", fromTestHost, "http://127.0.0.1:8080/hostname"},
		{"the host, on its own address", fromTestHost, "http://" + testHostAddr + ":8080/hostname"},
		{"another machine", fromOutside, "http://" + testHostAddr + ":8080/hostname"},
	} {
		if got := fetch(t, c.where, c.url); got != "published\n" {
			t.Errorf("from %s, %s: want the container's %q, got %q", c.from, c.url, "published\n", got)
		}
	}
}

func checkConcurrentContainersGetDistinctAddresses(t *testing.T, s step) {
	const n = 20
	// Started at once, and each held (read line) until all have printed
	// their address, so that no address could be freed and given again.
	containers := make([]*running, n)
	for i := range containers {
		containers[i] = s.start(t, nil, "sh", "-c", "ip -4 -o addr show eth0; echo ready; read line; exit 0")
	}
	seen := map[string]int{}
	for i, c := range containers {
		address := containerAddress(strings.Join(c.waitForLine(t, "ready"), "\n"))
		if address == "" {
			t.Errorf("container %d of %d started at once has no address", i+1, n)
			continue
		}
		if j, dup := seen[address]; dup {
			t.Errorf("containers %d and %d, started at once, both got %s", j+1, i+1, address)
		}
		seen[address] = i
	}
	for i, c := range containers {
		if status, _ := c.finish(t); status != 0 {
			t.Errorf("container %d exited with %d, stderr %q", i+1, status, c.stderr.String())
		}
	}
}

func checkNetworkNoneHasOnlyLoopback(t *testing.T, s step) {
	r := s.runContainer(t, []string{"--network", "none"}, "sh", "-c", "ip -o link | cut -d: -f2; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo loopback works")
	if r.status != 0 || strings.Join(strings.Fields(r.stdout), " ") != "lo loopback works" {
		t.Errorf("--network none: want only lo, up, got %v", r)
	}
}

func checkBadNetworkFlagsAreErrors(t *testing.T, s step) {
	for _, flags := range [][]string{
		{"-p", "abc"}, {"-p", "70000:80"}, {"-p", "80"}, {"-p", ":80"}, {"-p", "8080:80/sctp"},
		{"--network", "host-only"}, {"--subnet", "10.77.0.0/31"}, {"--subnet", "fish"},
	} {
		r := s.runContainer(t, flags, "true")
		wantOneLineError(t, "run "+strings.Join(flags, " "), r, flags[1])
		assertHostAsFound(t, "run "+strings.Join(flags, " "))
	}
}

func checkPortInUseIsAnError(t *testing.T, s step) {
	// A listener in the test host, on the port to publish.
	listener := exec.Command("nsenter", inNetns(testHostNS, "busybox", "nc", "-l", "-p", "8081")...)
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = listener.Process.Kill(); _ = listener.Wait() }()
	if !waitUntil(5*time.Second, func() bool {
		out, _ := inTestHost("cat", "/proc/net/tcp", "/proc/net/tcp6")
		return strings.Contains(out, ":1F91 ") // 8081 in hex
	}) {
		t.Fatal("the test's listener on port 8081 did not start")
	}
	r := s.runContainer(t, []string{"-p", "8081:80"}, "true")
	wantOneLineError(t, "run -p 8081:80 with the port in use", r, "8081", "in use")
	assertHostAsFound(t, "run -p 8081:80 with the port in use")
	// And a port another container publishes.
	server, _ := startServer(t, s, "-p", "8082:80")
	defer stopServer(t, server)
	r = s.runContainer(t, []string{"-p", "8082:80"}, "true")
	wantOneLineError(t, "run -p 8082:80 while another container publishes it", r, "8082")
}

func checkFullSubnetIsAnError(t *testing.T, s step) {
	// A /30 holds the network, the gateway, one container and the broadcast address.
	first := s.start(t, []string{"--subnet", "10.79.0.0/30"}, "sh", "-c", "echo ready; read line; exit 0")
	first.waitForLine(t, "ready")
	r := s.runContainer(t, []string{"--subnet", "10.79.0.0/30"}, "true")
	wantOneLineError(t, "a second container in a full /30", r, "no free address")
	if status, _ := first.finish(t); status != 0 {
		t.Errorf("the first container exited with %d, stderr %q", status, first.stderr.String())
	}
}

func checkKilledRuntimeIsCleanedUpByTheNextRun(t *testing.T, s step) {
	// Another container keeps the bridge up throughout, so that what the
	// next run must reclaim is the killed one's lease and rules alone.
	survivor, _ := startServer(t, s, "-p", "8084:80")
	c := s.start(t, []string{"-p", "8083:80"}, "sh", "-c", "echo ready; read line; exit 0")
	c.waitForLine(t, "ready")
	pid := c.containerPID(t)
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
	if !waitUntil(5*time.Second, func() bool { return processGone(pid) }) {
		t.Fatalf("the container outlived its runtime")
	}
	if r := s.runContainer(t, nil, "true"); r.status != 0 {
		t.Errorf("the run after a killed runtime: %v", r)
	}
	rules, err := inTestHost("iptables-save")
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	if strings.Contains(rules, "--dport 8083") || !strings.Contains(rules, "--dport 8084") {
		t.Errorf("after the next run, want the killed container's port 8083 unpublished and the running one's 8084 still there; rules:\n%s", rules)
	}
	stopServer(t, survivor)
}

func checkMissingIptablesIsAClearError(t *testing.T, s step) {
	// A PATH without the sbin directories, where iptables lives: the runtime
	// must fail before the container starts, and undo its half-made bridge.
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, dir := range strings.Split(path, ":") {
		if _, err := exec.LookPath(dir + "/iptables"); err == nil {
			t.Fatalf("%s/iptables exists: this check needs a PATH without iptables", dir)
		}
	}
	r := s.runWithEnv(t, []string{"PATH=" + path}, s.runArgs(nil, "true")...)
	wantOneLineError(t, "run with no iptables in PATH", r, "iptables")
}
