package tests

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// testImage is the image the checks of step 06 on run: the busybox rootfs,
// imported by the step's own import command before the checks and removed
// after them.
const testImage = "tinyrun-test-busybox"

// imageStep is the step that imports and removes testImage: the first step
// under test that has images, if any.
var imageStep *step

func importTestImage() error {
	for i := range stepsUnderTest {
		if stepsUnderTest[i].number >= 6 {
			imageStep = &stepsUnderTest[i]
			break
		}
	}
	if imageStep == nil {
		return nil
	}
	tarball, err := tarDirectory(rootfsDir)
	if err != nil {
		return err
	}
	defer os.Remove(tarball)
	_ = exec.Command(imageStep.bin, "rmi", testImage).Run() // left over from a killed suite
	if out, err := exec.Command(imageStep.bin, "import", tarball, testImage).CombinedOutput(); err != nil {
		return fmt.Errorf("%s import %s %s: %v: %s", imageStep.name, tarball, testImage, err, out)
	}
	return nil
}

func removeTestImage() error {
	if imageStep == nil {
		return nil
	}
	if out, err := exec.Command(imageStep.bin, "rmi", testImage).CombinedOutput(); err != nil {
		return fmt.Errorf("%s rmi %s: %v: %s", imageStep.name, testImage, err, out)
	}
	return nil
}

// tarDirectory writes dir as a tarball in a temporary file, with tar(1).
func tarDirectory(dir string) (string, error) {
	f, err := os.CreateTemp("", "tinyrun-rootfs-*.tar")
	if err != nil {
		return "", err
	}
	f.Close()
	if out, err := exec.Command("tar", "-C", dir, "-cf", f.Name(), ".").CombinedOutput(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("tar %s: %v: %s", dir, err, out)
	}
	return f.Name(), nil
}

// tarEntry is one entry of a tarball a check makes.
type tarEntry struct {
	name, body, link string
	kind             byte
	mode             int64 // 0: 0644 for a file, 0755 for a directory
}

// writeTar makes a tarball of entries in the check's temporary directory.
func writeTar(t *testing.T, entries ...tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.kind, Linkname: e.link, Size: int64(len(e.body))}
		switch e.kind {
		case tar.TypeDir:
			hdr.Mode = 0o755
		case tar.TypeChar:
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if e.kind != tar.TypeReg {
			hdr.Size = 0
		}
		if e.mode != 0 {
			hdr.Mode = e.mode
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.kind == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkWritesDoNotChangeTheImage(t *testing.T, s step) {
	r := s.runContainer(t, nil, "sh", "-c", "echo new > /etc/tinyrun-new && echo changed >> /etc/os-release && rm /etc/group")
	if r.status != 0 {
		t.Fatalf("writing in the container: %v", r)
	}
	want := readFileString(filepath.Join(rootfsDir, "etc", "os-release"))
	r = s.runContainer(t, nil, "sh", "-c", "cat /etc/os-release; test -e /etc/group && echo group is there; test -e /etc/tinyrun-new && echo new is there; exit 0")
	if r.status != 0 || r.stdout != want+"group is there\n" {
		t.Errorf("a second container should see the image as it was (os-release unchanged, group there, no new file), got %v", r)
	}
}

func checkUpperDirHoldsChangesAndWhiteouts(t *testing.T, s step) {
	c := s.start(t, nil, "sh", "-c", "echo new > /etc/tinyrun-new && rm /etc/group && hostname && echo ready; read line; exit 0")
	lines := c.waitForLine(t, "ready")
	if len(lines) != 1 {
		t.Fatalf("want the container's hostname, its ID, before ready; got %q", lines)
	}
	upper := filepath.Join("/var/lib/tinyrun/containers", lines[0], "upper", "etc")
	if got := readFileString(filepath.Join(upper, "tinyrun-new")); got != "new\n" {
		t.Errorf("%s/tinyrun-new: want the container's new file, got %q", upper, got)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(upper, "group"), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFCHR || st.Rdev != 0 {
		t.Errorf("%s/group: want a whiteout (a character device 0/0) for the deleted file, got mode %o rdev %d (%v)", upper, st.Mode, st.Rdev, err)
	}
	if status, _ := c.finish(t); status != 0 {
		t.Errorf("the container exited with %d, stderr %q", status, c.stderr.String())
	}
}

func checkTwoLayerImageShowsTheUpperVersion(t *testing.T, s step) {
	layer := writeTar(t, tarEntry{name: "etc/", kind: tar.TypeDir},
		tarEntry{name: "etc/os-release", body: "NAME=\"the second layer\"\n", kind: tar.TypeReg})
	if r := s.run(t, "import", "--base", testImage, layer, "tinyrun-test-two-layers"); r.status != 0 {
		t.Fatalf("import --base %s: %v", testImage, r)
	}
	defer s.run(t, "rmi", "tinyrun-test-two-layers")
	r := s.run(t, append(s.runOf(), "tinyrun-test-two-layers", "sh", "-c", "cat /etc/os-release; cat /etc/passwd | head -n 1")...)
	if r.status != 0 || r.stdout != "NAME=\"the second layer\"\nroot:x:0:0:root:/root:/bin/sh\n" {
		t.Errorf("a two-layer image: want the upper layer's os-release and the base's passwd, got %v", r)
	}
}

func checkVolumesPersistAndRoRefusesWrites(t *testing.T, s step) {
	dir := t.TempDir()
	r := s.runContainer(t, []string{"-v", dir + ":/data"}, "sh", "-c", "echo kept > /data/file")
	if r.status != 0 || readFileString(filepath.Join(dir, "file")) != "kept\n" {
		t.Errorf("-v %s:/data: want /data/file on the host after the container is gone, got %v", dir, r)
	}
	r = s.runContainer(t, []string{"-v", dir + ":/data:ro"}, "sh", "-c",
		"cat /data/file; echo x > /data/other && echo written; mount -o remount,rw /data 2>/dev/null; echo y > /data/other2 && echo written after a remount")
	if r.stdout != "kept\n" || pathExists(filepath.Join(dir, "other")) || pathExists(filepath.Join(dir, "other2")) {
		t.Errorf("-v %s:/data:ro: want the file readable and writes refused, even after mount -o remount,rw, got %v", dir, r)
	}
}

func checkBadImportsAreRefused(t *testing.T, s step) {
	outside := filepath.Join(t.TempDir(), "evil")
	for _, c := range []struct {
		what    string
		entries []tarEntry
	}{
		{"an entry with ../", []tarEntry{{name: "../../../../../../../.." + outside, body: "evil", kind: tar.TypeReg}}},
		{"an absolute path", []tarEntry{{name: outside, body: "evil", kind: tar.TypeReg}}},
		{"a symlink leading out", []tarEntry{{name: "link", link: filepath.Dir(outside), kind: tar.TypeSymlink},
			{name: "link/evil", body: "evil", kind: tar.TypeReg}}},
	} {
		r := s.run(t, "import", writeTar(t, c.entries...), "tinyrun-test-evil")
		wantOneLineError(t, "import of a tarball with "+c.what, r, "refused")
		if pathExists(outside) {
			t.Errorf("import of a tarball with %s wrote %s, outside the layer", c.what, outside)
			os.Remove(outside)
		}
		assertHostAsFound(t, "import of a tarball with "+c.what)
	}
}

func checkDeviceNodesAreSkippedWithANote(t *testing.T, s step) {
	layer := writeTar(t, tarEntry{name: "dev/", kind: tar.TypeDir}, tarEntry{name: "dev/null", kind: tar.TypeChar},
		tarEntry{name: "hello", body: "hi\n", kind: tar.TypeReg})
	r := s.run(t, "import", "--base", testImage, layer, "tinyrun-test-devices")
	defer s.run(t, "rmi", "tinyrun-test-devices")
	if r.status != 0 || !strings.Contains(r.stderr, "dev/null") {
		t.Errorf("import of a tarball with a device node: want success and a note naming it, got %v", r)
	}
}

func checkImportNameClashIsAnError(t *testing.T, s step) {
	layer := writeTar(t, tarEntry{name: "hello", body: "hi\n", kind: tar.TypeReg})
	r := s.run(t, "import", layer, testImage)
	wantOneLineError(t, "import under the name of an existing image", r, testImage, "exists")
	assertHostAsFound(t, "import under an existing name")
}

func checkBadVolumesAreErrors(t *testing.T, s step) {
	for _, spec := range []string{"relative:/path", "/nonexistent:/x", "/x", "/tmp:/x:rx"} {
		r := s.runContainer(t, []string{"-v", spec}, "true")
		wantOneLineError(t, "run -v "+spec, r, spec)
		assertHostAsFound(t, "run -v "+spec)
	}
}

// pathExists reports whether path exists.
func pathExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func checkImportNeverWritesThroughSymlinks(t *testing.T, s step) {
	outside := t.TempDir()
	if err := os.Chmod(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("original\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A symlink, then an entry of the same name: tar replaces the link; an
	// extractor that opens the path would write through it instead.
	layer := writeTar(t, tarEntry{name: "x", link: victim, kind: tar.TypeSymlink},
		tarEntry{name: "x", body: "owned\n", kind: tar.TypeReg},
		tarEntry{name: "y", link: outside, kind: tar.TypeSymlink},
		tarEntry{name: "y/", kind: tar.TypeDir})
	r := s.run(t, "import", layer, "tinyrun-test-links")
	if r.status == 0 {
		defer s.run(t, "rmi", "tinyrun-test-links")
	}
	if got := readFileString(victim); got != "original\n" {
		t.Errorf("import of a tarball with a symlink and then a file of the same name wrote through the link: %s now holds %q", victim, got)
	}
	if info, err := os.Stat(outside); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("import of a tarball with a symlink and then a directory of the same name changed %s: %v %v", outside, info.Mode(), err)
	}
}

func checkRmiRefusesAnImageInUse(t *testing.T, s step) {
	c := s.start(t, nil, "sh", "-c", "echo ready; read line; exit 0")
	c.waitForLine(t, "ready")
	r := s.run(t, "rmi", testImage)
	wantOneLineError(t, "rmi of the image a running container uses", r, "in use")
	if status, _ := c.finish(t); status != 0 {
		t.Errorf("the container exited with %d, stderr %q", status, c.stderr.String())
	}
}

// runOf returns the start of a "run" of an image other than testImage:
// from step 07 on with --rm, so that the container is gone when it exits,
// as in the steps before (runArgs explains why).
func (s step) runOf() []string {
	if s.number >= 7 {
		return []string{"run", "--rm"}
	}
	return []string{"run"}
}
