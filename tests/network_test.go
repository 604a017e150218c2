package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The network checks follow the project's network safety rule: they send
// traffic only to addresses the suite creates. The runtime runs inside a
// network namespace standing for the host, linked by a veth pair to a second
// one standing for the internet, where busybox httpd serves a CGI script that
// answers with the address it sees the request come from:
//
//	[container 10.77.0.x] -- tinyrun0 -- [test host 192.0.2.1] ---- [outside 192.0.2.2, httpd]
//
// 192.0.2.0/24 is TEST-NET-1 (RFC 5737), reserved for documentation and
// never routed on the internet.
const (
	testHostNS    = "tinyrun-test-host"
	testOutsideNS = "tinyrun-test-outside"
	testHostAddr  = "192.0.2.1"
	outsideAddr   = "192.0.2.2"
)

var (
	outsideServer *exec.Cmd
	outsideWWW    string
)

// setUpTestNetwork creates the two namespaces and starts the outside's web
// server. Without a step from 04 on, there is nothing to do.
func setUpTestNetwork() error {
	needed := false
	for _, s := range stepsUnderTest {
		needed = needed || s.number >= 4
	}
	if !needed {
		return nil
	}
	// Left over from a suite that was killed: start afresh.
	_ = exec.Command("ip", "netns", "del", testHostNS).Run()
	_ = exec.Command("ip", "netns", "del", testOutsideNS).Run()
	steps := [][]string{
		{"netns", "add", testHostNS},
		{"netns", "add", testOutsideNS},
		{"-n", testHostNS, "link", "set", "lo", "up"},
		{"-n", testOutsideNS, "link", "set", "lo", "up"},
		{"link", "add", "uplink", "netns", testHostNS, "type", "veth", "peer", "name", "uplink", "netns", testOutsideNS},
		{"-n", testHostNS, "addr", "add", testHostAddr + "/24", "dev", "uplink"},
		{"-n", testOutsideNS, "addr", "add", outsideAddr + "/24", "dev", "uplink"},
		{"-n", testHostNS, "link", "set", "uplink", "up"},
		{"-n", testOutsideNS, "link", "set", "uplink", "up"},
		{"-n", testHostNS, "route", "add", "default", "via", outsideAddr},
	}
	for _, args := range steps {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("set up the test network: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	var err error
	if outsideWWW, err = os.MkdirTemp("", "tinyrun-outside-"); err != nil {
		return err
	}
	script := "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n"
	if err := os.MkdirAll(filepath.Join(outsideWWW, "cgi-bin"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outsideWWW, "cgi-bin", "ip"), []byte(script), 0o755); err != nil {
		return err
	}
	outsideServer = exec.Command("nsenter", inNetns(testOutsideNS, "busybox", "httpd", "-f", "-p", outsideAddr+":80", "-h", outsideWWW)...)
	if err := outsideServer.Start(); err != nil {
		return fmt.Errorf("start the outside's web server: %w", err)
	}
	// Ready when it answers. (No wget -T: Debian's busybox 1.35 crashes on it.)
	if !waitUntil(5*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return exec.CommandContext(ctx, "nsenter", inNetns(testHostNS, "busybox", "wget", "-q", "-O", "/dev/null", "http://"+outsideAddr+"/cgi-bin/ip")...).Run() == nil
	}) {
		return fmt.Errorf("the outside's web server does not answer on %s:80", outsideAddr)
	}
	return nil
}

// tearDownTestNetwork stops the web server and removes the namespaces.
func tearDownTestNetwork() error {
	if outsideServer != nil && outsideServer.Process != nil {
		_ = outsideServer.Process.Kill()
		_ = outsideServer.Wait()
	}
	var errs []string
	for _, ns := range []string{testHostNS, testOutsideNS} {
		if _, err := os.Stat("/run/netns/" + ns); err != nil {
			continue
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("ip netns del %s: %v: %s", ns, err, out))
		}
	}
	if outsideWWW == "" {
		// nothing was made
	} else if err := os.RemoveAll(outsideWWW); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("tear down the test network: %s", strings.Join(errs, "; "))
	}
	return nil
}

// inTestHost runs a command in the test host's network namespace and
// returns its combined output.
func inTestHost(args ...string) (string, error) {
	out, err := exec.Command("nsenter", inNetns(testHostNS, args...)...).CombinedOutput()
	return string(out), err
}

// inOutside runs a command in the outside's network namespace.
func inOutside(args ...string) (string, error) {
	out, err := exec.Command("nsenter", inNetns(testOutsideNS, args...)...).CombinedOutput()
	return string(out), err
}

// scratchNetns names the network namespace a transcript or the demo runs in.
const scratchNetns = "tinyrun-scratch"

// addScratchNetns creates a network namespace with only loopback, up.
func addScratchNetns() (string, error) {
	_ = exec.Command("ip", "netns", "del", scratchNetns).Run() // left over from a killed suite
	for _, args := range [][]string{{"netns", "add", scratchNetns}, {"-n", scratchNetns, "link", "set", "lo", "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return scratchNetns, nil
}

// deleteScratchNetns fails t if anything is left in the namespace but
// loopback (a link, a firewall rule, forwarding turned on), then removes it.
func deleteScratchNetns(t *testing.T, name string) {
	var left []string
	links, _ := exec.Command("ip", "-n", name, "-o", "link", "show").Output()
	for _, line := range strings.Split(strings.TrimSpace(string(links)), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] != "lo:" {
			left = append(left, "link "+strings.TrimSuffix(f[1], ":"))
		}
	}
	rules, _ := exec.Command("nsenter", inNetns(name, "iptables-save")...).Output()
	for _, line := range strings.Split(string(rules), "\n") {
		if strings.HasPrefix(line, "-A ") || strings.HasPrefix(line, ":TINYRUN") {
			left = append(left, "rule "+line)
		}
	}
	if forward, _ := exec.Command("nsenter", inNetns(name, "cat", "/proc/sys/net/ipv4/ip_forward")...).Output(); strings.TrimSpace(string(forward)) != "0" {
		left = append(left, "ip_forward "+strings.TrimSpace(string(forward)))
	}
	if len(left) > 0 {
		t.Errorf("left behind in the network namespace it ran in:\n  %s", strings.Join(left, "\n  "))
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		t.Errorf("ip netns del %s: %v: %s", name, err, out)
	}
}

// inNetns returns the arguments of nsenter(1) that run args in the named
// network namespace. Unlike ip netns exec, nsenter changes nothing else: ip
// netns exec also mounts a new /sys, which hides the cgroup filesystems.
// Both exec the command, so its PID is nsenter's.
func inNetns(name string, args ...string) []string {
	return append([]string{"--net=/run/netns/" + name, "--"}, args...)
}

// netnsDirState remembers whether /run/netns existed, and was a mount
// point, before the suite: ip netns add makes it a mount point on first use,
// and the suite must leave the host as it found it.
type netnsDirState struct{ existed, mounted bool }

func rememberNetnsDir() netnsDirState {
	_, err := os.Stat("/run/netns")
	return netnsDirState{existed: err == nil, mounted: isMountPoint("/run/netns")}
}

// restore undoes what ip netns add did to /run/netns, if nothing else uses it.
func (before netnsDirState) restore() error {
	if entries, _ := os.ReadDir("/run/netns"); len(entries) > 0 {
		return nil // namespaces of someone else's
	}
	if !before.mounted && isMountPoint("/run/netns") {
		if err := unix.Unmount("/run/netns", unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount /run/netns: %w", err)
		}
	}
	if !before.existed {
		if err := os.Remove("/run/netns"); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove /run/netns: %w", err)
		}
	}
	return nil
}

// isMountPoint reports whether path is the mount point of a mount.
func isMountPoint(path string) bool {
	for _, line := range strings.Split(readFileString("/proc/self/mountinfo"), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}
