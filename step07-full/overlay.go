// Images and overlayfs: many containers share one read-only image, and each
// writes only to a layer of its own.
//
// An image is a stack of read-only layers, directories under
// /var/lib/tinyrun/layers, named in order (base first) by a small JSON file
// under /var/lib/tinyrun/images. A container's root is an overlay mount
// (the kernel's filesystems/overlayfs.rst) of the image's layers, the lower
// directories, under an upper directory of its own:
//
//	merged   what the container sees: the upper over the lowers
//	upper    the container's changes: new and changed files (copied up
//	         whole on the first write), and whiteouts, character devices
//	         0/0, for what it deleted
//	work     overlayfs's scratch space, on the upper's filesystem
//
// Order: importImage (the import command) makes images from tarballs. For a
// container, prepareLayers (in reserve, under the lock) finds its image,
// records the container's layer, makes upper, work and merged and mounts
// the overlay on merged (mountOverlay), on the host, before the child
// starts: that is the root its spec names (spec.go), as containerd mounts
// one for runc. The child's mount namespace is a copy of the host's, with
// the overlay in it; once the child has made its mounts private, the parent
// takes the host's copy off (unmountFromHost). The child binds its volumes
// in it (bindHostPath) before pivot_root; after the container exits the
// parent removes the three directories (teardown).
//
// Read: the kernel's filesystems/overlayfs.rst, man 8 mount (overlay), man 5
// tar, man 2 open_tree, man 2 move_mount, man 2 mount_setattr.
package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// The image store, on disk: images outlive reboots, unlike /run's state.
const (
	storeDir          = "/var/lib/tinyrun"
	imagesDir         = storeDir + "/images"
	layersDir         = storeDir + "/layers"
	containerLayerDir = storeDir + "/containers"
)

// image is an image's metadata: its name and its layers, base first.
type image struct {
	Name   string   `json:"name"`
	Layers []string `json:"layers"`
}

var volumeFlag = &cli.StringSliceFlag{
	Name:    "volume",
	Aliases: []string{"v"},
	Usage:   "bind-mount a host directory (or file) into the container: HOSTPATH:CONTAINERPATH[:ro] (repeatable)",
}

// importImage makes an image called name from the root filesystem in the
// tarball source (plain or gzipped), as one layer on top of base's, if base
// is not empty. Notes (device nodes skipped) go to notes. On error nothing
// is left in the store.
func importImage(source, name, base string, notes io.Writer) error {
	if err := checkImageName(name); err != nil {
		return err
	}
	f, err := os.Open(source)
	if err != nil {
		return err // "open SOURCE: ..." already
	}
	defer f.Close()
	return addLayer(name, base, func(dir string) error {
		if err := extractTar(f, dir, notes); err != nil {
			return fmt.Errorf("import %s: %w", source, err)
		}
		return nil
	})
}

// addLayer makes an image called name, one new layer on top of base's
// (none if base is empty), that fill writes into the directory it is given.
// On error nothing is left in the store.
//
// The slow part, fill, runs without the state lock, into a directory named
// after this process (importDir), so that containers start and stop
// meanwhile; the lock is taken only to make that directory and, at the end,
// to check the name and rename the directory into place (man 2 rename: at
// once, or not at all). What an import killed half-way leaves, the next
// import, run or cleanup removes (reclaimImports).
func addLayer(name, base string, fill func(dir string) error) error {
	self, err := thisProcess()
	if err != nil {
		return err
	}
	tmp := importDir(self)
	err = withStoreLock(func() error {
		if err := reclaimImports(); err != nil {
			return err
		}
		if err := makeStore(); err != nil {
			return err
		}
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", tmp, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	stopAfter("extracting")
	if err := fill(tmp); err != nil {
		return errors.Join(err, withStoreLock(func() error { return removeImportDir(tmp) }))
	}
	if err := withStoreLock(func() error { return addImage(tmp, name, base) }); err != nil {
		return errors.Join(err, withStoreLock(func() error { return removeImportDir(tmp) }))
	}
	return nil
}

// importDir is where the import run by process p extracts its tarball.
func importDir(p process) string {
	return filepath.Join(layersDir, fmt.Sprintf(".import-%d-%d", p.PID, p.StartTime))
}

// addImage makes the layer extracted in dir the top layer of a new image
// called name, over base's layers. The caller holds the lock.
func addImage(dir, name, base string) error {
	if _, err := findImage(name); err == nil {
		return fmt.Errorf("image %s exists already: choose another name, or remove it with rmi", name)
	}
	img := image{Name: name}
	if base != "" {
		baseImage, err := findImage(base)
		if err != nil {
			return err
		}
		img.Layers = baseImage.Layers
	}
	layer := newContainerID() // 12 random hex digits name a layer as well
	if err := os.Rename(dir, filepath.Join(layersDir, layer)); err != nil {
		return fmt.Errorf("move the new layer into place: %w", err)
	}
	img.Layers = append(img.Layers, layer)
	if err := os.MkdirAll(imagesDir, 0o755); err != nil {
		return errors.Join(fmt.Errorf("create %s: %w", imagesDir, err), os.RemoveAll(filepath.Join(layersDir, layer)))
	}
	if err := writeJSON(imagePath(name), img); err != nil {
		return errors.Join(err, os.RemoveAll(filepath.Join(layersDir, layer)))
	}
	return nil
}

// reclaimImports removes what imports killed half-way left: directories
// named by importDir whose process is gone. The caller holds the lock.
func reclaimImports() error {
	entries, err := os.ReadDir(layersDir)
	if err != nil {
		return nil // no store, nothing to reclaim
	}
	for _, e := range entries {
		var p process
		if _, err := fmt.Sscanf(e.Name(), ".import-%d-%d", &p.PID, &p.StartTime); err != nil || p.alive() {
			continue
		}
		if err := removeImportDir(filepath.Join(layersDir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// removeImportDir removes a half-imported layer, and the store if that
// leaves it empty. The caller holds the lock.
func removeImportDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove the half-imported layer %s: %w", dir, err)
	}
	return removeEmptyStore()
}

// extractTar writes the tar stream r (gzipped or not) into dir. Entries that
// would land outside dir are refused: an absolute name, a ".." in a name or
// a link target, or a path through a symlink in dir. Device nodes are
// skipped with a note: a container gets its own /dev (mount.go).
func extractTar(r io.Reader, dir string, notes io.Writer) error {
	buffered := bufio.NewReader(r)
	if magic, err := buffered.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(buffered)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	} else {
		r = buffered
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		target, err := safePath(dir, hdr.Name)
		if err != nil {
			return err
		}
		if target == dir {
			continue // "./": the layer itself
		}
		if err := extractEntry(tr, hdr, dir, target, notes); err != nil {
			return err
		}
	}
}

// safePath returns where the tar entry name goes under dir, or an error if
// it would go anywhere else.
func safePath(dir, name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("entry %q has an absolute path: refused", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q climbs out with ..: refused", name)
		}
	}
	target := filepath.Join(dir, name)
	// Each directory on the way must be a real directory of the layer: a
	// symlink there (made by an earlier entry) could lead anywhere.
	for parent := filepath.Dir(target); parent != dir && strings.HasPrefix(parent, dir); parent = filepath.Dir(parent) {
		if info, err := os.Lstat(parent); err == nil && info.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("entry %q goes through the symlink %s: refused", name, strings.TrimPrefix(parent, dir+"/"))
		}
	}
	return target, nil
}

// extractEntry creates one tar entry at target, with its mode and owner.
func extractEntry(tr *tar.Reader, hdr *tar.Header, dir, target string, notes io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(target), err)
	}
	// An entry replaces what an earlier entry put at its path, as tar(1)
	// does, unless both are directories. Never open, chmod or chown through
	// an earlier symlink: it could point anywhere on the host.
	if info, err := os.Lstat(target); err == nil && !(info.IsDir() && hdr.Typeflag == tar.TypeDir) {
		if err := os.RemoveAll(target); err != nil {
			return fmt.Errorf("replace %s: %w", target, err)
		}
	}
	// tar keeps the Unix mode bits (04000 setuid, 02000 setgid, 01000
	// sticky); Go's FileMode keeps those three elsewhere: FileInfo converts.
	mode := hdr.FileInfo().Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", target, err)
		}
	case tar.TypeReg:
		f, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("create %s: %w", target, err)
		}
		_, err = io.Copy(f, tr)
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", target, err)
		}
	case tar.TypeSymlink:
		// The link is stored as it is: it is resolved inside the container,
		// where "/" is the container's root.
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return fmt.Errorf("symlink %s: %w", target, err)
		}
		return os.Lchown(target, hdr.Uid, hdr.Gid)
	case tar.TypeLink:
		source, err := safePath(dir, hdr.Linkname)
		if err != nil {
			return err
		}
		if err := os.Link(source, target); err != nil {
			return fmt.Errorf("link %s: %w", target, err)
		}
		return nil
	case tar.TypeFifo:
		if err := unix.Mkfifo(target, uint32(mode.Perm())); err != nil {
			return fmt.Errorf("mkfifo %s: %w", target, err)
		}
	case tar.TypeChar, tar.TypeBlock:
		fmt.Fprintf(notes, "note: skipped the device node %s (a container gets its own /dev)\n", hdr.Name)
		return nil
	default:
		fmt.Fprintf(notes, "note: skipped %s, of tar type %q\n", hdr.Name, hdr.Typeflag)
		return nil
	}
	if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown %s: %w", target, err)
	}
	// After chown, which clears the setuid and setgid bits.
	if err := os.Chmod(target, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", target, err)
	}
	return nil
}

// checkImageName accepts names such as busybox, my-app or alpine3.20.
func checkImageName(name string) error {
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '-' || c == '.' || c == '_') && i > 0) {
			return fmt.Errorf("image name %q: use lowercase letters, digits, '-', '.' and '_'", name)
		}
	}
	if name == "" {
		return errors.New("no image name given")
	}
	return nil
}

func imagePath(name string) string { return filepath.Join(imagesDir, name+".json") }

// findImage reads the image called name.
func findImage(name string) (image, error) {
	var img image
	if checkImageName(name) != nil {
		return img, fmt.Errorf("image %q not found: list them with 'images', or import one", name)
	}
	data, err := os.ReadFile(imagePath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return img, fmt.Errorf("image %s not found: list them with 'images', or import one (make image imports busybox)", name)
	}
	if err != nil {
		return img, fmt.Errorf("read image %s: %w", name, err)
	}
	if err := json.Unmarshal(data, &img); err != nil {
		return img, fmt.Errorf("image %s is damaged (%v): remove it with rmi", name, err)
	}
	return img, nil
}

// listImages returns every image, sorted by name.
func listImages() ([]image, error) {
	entries, err := os.ReadDir(imagesDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", imagesDir, err)
	}
	var images []image
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			img, err := findImage(name)
			if err != nil {
				return nil, err
			}
			images = append(images, img)
		}
	}
	sort.Slice(images, func(i, j int) bool { return images[i].Name < images[j].Name })
	return images, nil
}

// removeImage removes the image called name, and those of its layers no
// other image uses; not while a container uses it.
func removeImage(name string) error {
	return withStoreLock(func() error {
		img, err := findImage(name)
		if err != nil {
			return err
		}
		live, err := reclaim()
		if err != nil {
			return err
		}
		for _, rec := range live {
			if rec.Layer != nil && rec.Layer.Image == name {
				return fmt.Errorf("image %s is in use by container %s: stop it first", name, rec.ID)
			}
		}
		if err := os.Remove(imagePath(name)); err != nil {
			return fmt.Errorf("remove image %s: %w", name, err)
		}
		// reclaim may have torn containers down: their bridge may go.
		return errors.Join(removeUnusedLayers(img), settle(live))
	})
}

// removeUnusedLayers removes the layers of img that no image uses.
func removeUnusedLayers(img image) error {
	images, err := listImages()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, other := range images {
		for _, l := range other.Layers {
			used[l] = true
		}
	}
	for _, l := range img.Layers {
		if !used[l] {
			if err := os.RemoveAll(filepath.Join(layersDir, l)); err != nil {
				return fmt.Errorf("remove layer %s: %w", l, err)
			}
		}
	}
	return removeEmptyStore()
}

// containerLayer is one container's part of the store, in its record
// (state.go): a directory holding upper, work and merged.
type containerLayer struct {
	Image   string `json:"image"` // the image's name, so that rmi can refuse to remove it
	Dir     string `json:"dir"`
	Lower   string `json:"lower"`             // lowerdir= of the mount: the image's layers, top first
	Mounted bool   `json:"mounted,omitempty"` // the overlay may be mounted on Dir/merged, on the host
}

// prepareLayers looks up the image called name, records the container's
// layer in rec, makes its upper, work and merged directories, and mounts
// the overlay on merged, on the host: the bundle's root (spec.go), as
// containerd's snapshotter mounts it for runc. The caller holds the lock;
// on error, teardown removes what was made.
func prepareLayers(rec *record, name string) error {
	if err := reclaimImports(); err != nil {
		return err
	}
	img, err := findImage(name)
	if err != nil {
		return err
	}
	// overlayfs stacks lowerdir's directories left over right: the top
	// layer comes first (filesystems/overlayfs.rst, "Multiple lower layers").
	var lower []string
	for i := len(img.Layers) - 1; i >= 0; i-- {
		lower = append(lower, filepath.Join(layersDir, img.Layers[i]))
	}
	rec.Layer = &containerLayer{Image: name, Dir: filepath.Join(containerLayerDir, rec.ID), Lower: strings.Join(lower, ":")}
	if err := rec.save(); err != nil {
		return err
	}
	if err := makeStore(); err != nil {
		return err
	}
	for _, sub := range []string{"upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(rec.Layer.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Join(rec.Layer.Dir, sub), err)
		}
	}
	rec.Layer.Mounted = true // before the mount: the record says at least what exists
	if err := rec.save(); err != nil {
		return err
	}
	return mountOverlay(rec.Layer.Lower, filepath.Join(rec.Layer.Dir, "merged"))
}

// remove unmounts the container's overlay from the host, if it is still
// there, and removes its layer. It is teardown's (state.go), so the caller
// holds the lock. c may be nil. The container's own copy of the mount went
// away with its mount namespace.
func (c *containerLayer) remove() error {
	if c == nil {
		return nil
	}
	if err := c.unmountFromHost(); err != nil {
		return err
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		return fmt.Errorf("remove %s: %w", c.Dir, err)
	}
	return removeEmptyStore()
}

// unmountFromHost takes the overlay off the host's merged directory, where
// run mounted it (prepareLayers). run calls it once the container's own
// mount namespace holds a copy of it, private (initContainer): so the host
// keeps no mount of a running container, as in the steps before, and
// nothing it mounts under the rootfs can appear in the container. teardown
// calls it too, for a container that never got that far. c may be nil.
func (c *containerLayer) unmountFromHost() error {
	if c == nil || !c.Mounted {
		return nil
	}
	merged := filepath.Join(c.Dir, "merged")
	// EINVAL: not mounted (any more); ENOENT: no directory.
	err := unix.Unmount(merged, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", merged, err)
	}
	return nil
}

// makeStore creates the store's directory, root's alone (0700). Below it,
// layers keep their image's modes (a layer's top directory is the
// container's /), and what a container writes lands in its upper
// directory, setuid programs included: a store that other users of the
// host could enter would let them run, as root, a setuid-root program that
// root in a container left there (the class of CVE-2021-41091).
func makeStore() error {
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", storeDir, err)
	}
	// A store made before it was private: close it now.
	if err := os.Chmod(storeDir, 0o700); err != nil {
		return fmt.Errorf("make %s private: %w", storeDir, err)
	}
	return nil
}

// removeEmptyStore removes the store's directories that hold nothing, so
// that removing the last image leaves the host as it was.
func removeEmptyStore() error {
	for _, dir := range []string{containerLayerDir, layersDir, imagesDir, storeDir} {
		if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
	}
	return nil
}

// mountOverlay mounts the container's overlay on merged, beside its upper
// and work directories: the image's layers read-only, upper for writes.
// run mounts it on the host (prepareLayers), where teardown unmounts it.
func mountOverlay(lower, merged string) error {
	dir := filepath.Dir(merged)
	options := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	// volatile (Linux 5.10): no sync of the upper layer's filesystem, on
	// fsync(2) or when the mount goes away with the container; otherwise
	// the container's exit waits for the whole of /var/lib's filesystem to
	// be written out. The upper layer is not meant to outlive the machine:
	// rm deletes it, and commit copies it while the container is mounted.
	// (A volatile mount leaves work/incompat/volatile behind, which refuses
	// a second mount of the same upper: tinyrun never mounts one twice.)
	// nodev: a device node made in the container, or left in a layer by
	// commit, cannot be opened (security.go); import skips device nodes.
	err := unix.Mount("overlay", merged, "overlay", unix.MS_NODEV, options+",volatile")
	if errors.Is(err, unix.EINVAL) {
		err = unix.Mount("overlay", merged, "overlay", unix.MS_NODEV, options) // an older kernel
	}
	if err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("mount overlay on %s: %w: the kernel needs overlayfs, and %s must be on a filesystem that can hold an upper layer (ext4, xfs; not overlayfs itself, as inside a Docker container); dmesg says more", merged, err, storeDir)
		}
		return fmt.Errorf("mount overlay on %s: %w", merged, err)
	}
	return nil
}

// volume is one -v: a host path bind-mounted at a path in the container.
type volume struct {
	host, container string
	readOnly        bool
}

// String gives the volume back as a -v spec.
func (v volume) String() string {
	if v.readOnly {
		return v.host + ":" + v.container + ":ro"
	}
	return v.host + ":" + v.container
}

// parseVolumes checks -v HOSTPATH:CONTAINERPATH[:ro] specs in the parent.
func parseVolumes(specs []string) ([]volume, error) {
	var volumes []volume
	for _, spec := range specs {
		parts := strings.Split(spec, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
			return nil, fmt.Errorf("-v %q: want HOSTPATH:CONTAINERPATH[:ro], such as -v /srv/data:/data", spec)
		}
		v := volume{host: parts[0], container: filepath.Clean(parts[1]), readOnly: len(parts) == 3 && parts[2] == "ro"}
		if !filepath.IsAbs(v.host) || !filepath.IsAbs(v.container) || v.container == "/" {
			return nil, fmt.Errorf("-v %q: both paths must be absolute, and the container's not /", spec)
		}
		// The container's own /proc, /dev and /sys are the spec's first
		// mounts (spec.go), and masked and checked as the kernel's
		// (security.go): a volume there would hide them.
		for _, own := range []string{"/proc", "/dev", "/sys"} {
			if v.container == own || strings.HasPrefix(v.container, own+"/") {
				return nil, fmt.Errorf("-v %q: %s is the container's own: choose another container path", spec, own)
			}
		}
		if _, err := os.Stat(v.host); err != nil {
			return nil, fmt.Errorf("-v %q: host path %s does not exist: create it first", spec, v.host)
		}
		volumes = append(volumes, v)
	}
	return volumes, nil
}

// bindHostPath bind-mounts the host's path source (a -v volume, or a
// network file, net.go) on destination in root, with the attributes attr.
// Its mount point is opened once, inside root, refusing symlinks
// (openMountPoint, mount.go): a container sharing a volume with this one
// could swap a directory of it for a symlink at any moment, to the host's
// /etc say, and a path resolved again on the host would follow it. The
// attributes are set before the mount is attached (bindMount, net.go), so
// that a :ro volume is never writable, not even for a moment, nor another
// mount made read-only in its place.
func bindHostPath(root *os.File, sourcePath, destination string, attr uint64) error {
	// The host's side is opened once too: its type decides the mount point's.
	source, err := os.OpenFile(sourcePath, unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("open the host path: %w", err)
	}
	defer source.Close()
	info, err := source.Stat()
	if err != nil {
		return fmt.Errorf("stat the host path: %w", err)
	}
	var target *os.File
	if info.IsDir() {
		target, err = openMountPoint(root, destination)
	} else {
		target, err = openVolumeFile(root, destination)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	// The whole tree, submounts of the source too, keeping the source's
	// other attributes (bindMount, net.go). A volume is nodev (spec.go):
	// the host's device nodes in it (-v /dev:/hostdev) open nothing.
	return bindMount(source, target, attr)
}

// openVolumeFile opens the file mount point path in root, made empty if
// missing, in its directory, made if missing.
func openVolumeFile(root *os.File, path string) (*os.File, error) {
	dir, err := openMountPoint(root, filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return openFileMountPoint(dir, filepath.Dir(path), filepath.Base(path))
}

// withStoreLock runs fn holding the state lock (state.go), then removes the
// state directory, lock included, if no container uses it, whether fn
// failed or not.
func withStoreLock(fn func() error) error {
	return withLock(func() error { return errors.Join(fn(), removeStateDir()) })
}
