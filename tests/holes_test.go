package tests

import (
	"archive/tar"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Checks that attack what no step may leave open, whatever it does not
// isolate yet (docs/00-introduction.md): the host's environment, its
// terminal, its network and its disks.

func checkEnvironmentIsTheContainersOwn(t *testing.T, s step) {
	env := append(os.Environ(), "TINYRUN_TEST_SECRET=hunter2")
	r := s.runWithEnv(t, env, s.runArgs(nil, "env")...)
	if r.status != 0 {
		t.Fatalf("env in the container: %v", r)
	}
	if strings.Contains(r.stdout, "hunter2") {
		t.Errorf("a variable of the runtime's environment (TINYRUN_TEST_SECRET) reached the container: its environment must be its own; got:\n%s", r.stdout)
	}
	for _, want := range []string{"PATH=", "HOSTNAME=", "HOME=/root"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("want %s... in the container's environment, got:\n%s", want, r.stdout)
		}
	}
}

func checkContainerHasASessionOfItsOwn(t *testing.T, s step) {
	// The command is PID 1 itself: its /proc/self/stat gives its PID, its
	// session and its controlling terminal (man 5 proc: fields 1, 6, 7).
	r := s.runContainer(t, nil, "cat", "/proc/self/stat")
	if r.status != 0 {
		t.Fatalf("cat /proc/self/stat in the container: %v", r)
	}
	pid, _, _ := strings.Cut(r.stdout, " ")
	fields := strings.Fields(r.stdout[strings.LastIndexByte(r.stdout, ')')+1:])
	if len(fields) < 5 {
		t.Fatalf("cannot read /proc/self/stat: %q", r.stdout)
	}
	if session, tty := fields[3], fields[4]; session != pid || tty != "0" {
		t.Errorf("the container's first process is in session %s with terminal %s: want a session of its own (%s) and no controlling terminal (0)", session, tty, pid)
	}
}

func checkNetworkFilesAreReadOnly(t *testing.T, s step) {
	r := s.runContainer(t, nil, "sh", "-c", "for f in hosts hostname resolv.conf; do echo x 2>/dev/null >> /etc/$f && echo wrote $f; done; echo tried")
	if r.status != 0 || !strings.Contains(r.stdout, "tried") {
		t.Fatalf("the container did not run: %v", r)
	}
	if strings.Contains(r.stdout, "wrote") {
		t.Errorf("the container could write its network files, which live in the host's /run: want them read-only; got %v", r)
	}
}

func checkUnpublishedPortsAreUnreachableFromTheLAN(t *testing.T, s step) {
	server, address := startServer(t, s, "--hostname", "unpublished")
	defer stopServer(t, server)
	// A machine of the host's network that routes the containers' subnet
	// through the host, as a LAN's router could.
	subnet := address[:strings.LastIndexByte(address, '.')] + ".0/24"
	if out, err := inOutside("ip", "route", "add", subnet, "via", testHostAddr); err != nil {
		t.Fatalf("ip route add %s via %s in the outside: %v: %s", subnet, testHostAddr, err, out)
	}
	defer func() {
		if out, err := inOutside("ip", "route", "del", subnet, "via", testHostAddr); err != nil {
			t.Errorf("ip route del %s: %v: %s", subnet, err, out)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := fromOutside(ctx, "busybox", "wget", "-q", "-O", "-", "http://"+address+"/hostname")
	if err == nil {
		t.Errorf("a machine of the host's network reached port 80 of container %s, which publishes nothing (got %q): only published ports and replies may enter the bridge", address, out)
	}
}

func checkImageStoreIsPrivate(t *testing.T, s step) {
	c := s.start(t, nil, "sh", "-c", "cp /bin/busybox /tmp/suid && chmod 4755 /tmp/suid && echo ready; read line; exit 0")
	c.waitForLine(t, "ready")
	uppers, _ := filepath.Glob("/var/lib/tinyrun/containers/*/upper/tmp/suid")
	if len(uppers) == 0 {
		t.Fatalf("cannot find the setuid file the container wrote under /var/lib/tinyrun/containers/*/upper/tmp")
	}
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	for _, try := range [][]string{
		{uppers[0], "id", "-u"},
		{"/bin/ls", "/var/lib/tinyrun/layers"},
		{"/bin/ls", filepath.Dir(filepath.Dir(uppers[0]))},
	} {
		cmd := exec.Command(try[0], try[1:]...)
		cmd.SysProcAttr = nobody
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("another user of the host (uid 65534) ran %s: want the store closed to all but root; got %q", strings.Join(try, " "), out)
		} else if !strings.Contains(string(out)+err.Error(), "ermission denied") {
			t.Errorf("another user of the host (uid 65534) ran %s: want it refused for permission, got %v: %q", strings.Join(try, " "), err, out)
		}
	}
	if status, _ := c.finish(t); status != 0 {
		t.Errorf("the container exited with %d, stderr %q", status, c.stderr.String())
	}
}

func checkImportKeepsSetuidSetgidAndSticky(t *testing.T, s step) {
	layer := writeTar(t,
		tarEntry{name: "tmp/", kind: tar.TypeDir, mode: 0o1777},
		tarEntry{name: "bin/", kind: tar.TypeDir},
		tarEntry{name: "bin/su", body: "#!/bin/sh\n", kind: tar.TypeReg, mode: 0o4755},
		tarEntry{name: "bin/sg", body: "#!/bin/sh\n", kind: tar.TypeReg, mode: 0o2755})
	const name = "tinyrun-test-modes"
	if r := s.run(t, "import", "--base", testImage, layer, name); r.status != 0 {
		t.Fatalf("import: %v", r)
	}
	defer func() {
		if r := s.run(t, "rmi", name); r.status != 0 {
			t.Errorf("rmi %s: %v", name, r)
		}
	}()
	r := s.run(t, append(s.runOf(), "--network", "none", name, "stat", "-c", "%a %n", "/tmp", "/bin/su", "/bin/sg")...)
	if want := "1777 /tmp\n4755 /bin/su\n2755 /bin/sg\n"; r.status != 0 || r.stdout != want {
		t.Errorf("modes after import: want %q (sticky, setuid, setgid kept), got %v", want, r)
	}
}

func checkRoVolumeIsReadOnlyAllTheWayDown(t *testing.T, s step) {
	// The volume's source is a mount with nosuid and nodev, and has a
	// mount of its own inside.
	source := t.TempDir()
	sub := filepath.Join(source, "sub")
	if err := unix.Mount("tmpfs", source, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", source, err)
	}
	defer unmount(t, source)
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", sub, err)
	}
	defer unmount(t, sub)
	r := s.runContainer(t, []string{"--network", "none", "-v", source + ":/data:ro"}, "sh", "-c",
		"touch /data/x 2>/dev/null && echo wrote /data; touch /data/sub/x 2>/dev/null && echo wrote /data/sub; grep ' /data ' /proc/self/mountinfo")
	if strings.Contains(r.stdout, "wrote") {
		t.Errorf("a :ro volume could be written (%q): want it read-only, its submounts too", strings.TrimSpace(r.stdout))
	}
	if options := mountOptions(r.stdout); !strings.Contains(options, "nosuid") || !strings.Contains(options, "nodev") || !strings.HasPrefix(options, "ro") {
		t.Errorf("the :ro volume's mount has options %q: want ro, and the source's nosuid and nodev kept", options)
	}
}

// mountOptions returns the mount options (the sixth field) of the first
// line of mountinfo text.
func mountOptions(mountinfo string) string {
	fields := strings.Fields(mountinfo)
	if len(fields) < 6 {
		return ""
	}
	return fields[5]
}

func unmount(t *testing.T, path string) {
	t.Helper()
	if err := unix.Unmount(path, 0); err != nil {
		t.Errorf("umount %s: %v", path, err)
	}
}

func checkInheritedDescriptorsStayOutside(t *testing.T, s step) {
	// The runtime is handed an open directory of the host, as a shell's
	// "exec 5</" would: it must not reach the container's command.
	hostDir, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer hostDir.Close()
	// The shell says which of its descriptors 3 to 9 are open: a
	// redirection from a closed one fails, in a subshell. (Not /proc/$$/fd: until step 03
	// /proc is the host's, where the container's PID 1 is another process.)
	args := s.runArgs(nil, "sh", "-c", `for fd in 3 4 5 6 7 8 9; do if (true <&$fd) 2>/dev/null; then echo $fd; fi; done`)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	argv := s.argv(args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// At fds 3 to 9 of the runtime: the runtime's child gets descriptors
	// of its own at 3, 4 and 5, on top of the inherited ones there, so a
	// copy only at 3 would prove nothing.
	cmd.ExtraFiles = []*os.File{hostDir, hostDir, hostDir, hostDir, hostDir, hostDir, hostDir}
	out, err := cmd.Output()
	noteRun(args, statusOf(t, err), "")
	if err != nil {
		t.Fatalf("list the descriptors of the container's shell: %v (%s)", err, out)
	}
	for _, fd := range strings.Fields(string(out)) {
		// Shells keep descriptors of their own from 10 up; what the
		// runtime inherited would be below.
		if n, err := strconv.Atoi(fd); err == nil && n > 2 && n < 10 {
			t.Errorf("the container's shell holds descriptor %s, which the runtime inherited (an open directory of the host): mark every inherited descriptor above 2 close-on-exec (close_range with CLOSE_RANGE_CLOEXEC) before anything else", fd)
		}
	}
}
