package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The checks of step 07 on what a container's record leaves when it is
// damaged or lost: neither may stop the runtime from looking after the rest.

// checkDamagedRecordDoesNotStopRuns damages one container's record and
// starts another container: reclaim, which every run does first, must go
// past the damaged record instead of failing on it (a runtime that returns
// readRecord's error from reclaim fails the run here), and cleanup must
// name it and say what to do.
func checkDamagedRecordDoesNotStopRuns(t *testing.T, s step) {
	damaged := s.detached(t, nil, "sleep", markedSleep())
	path := filepath.Join("/run/tinyrun/containers", damaged, "state.json")
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the container's record: %v", err)
	}
	// Put back before the container is removed (cleanups run last first).
	t.Cleanup(func() {
		if err := os.WriteFile(path, original, 0o600); err != nil {
			t.Errorf("restore %s: %v", path, err)
		}
	})
	if err := os.WriteFile(path, []byte("{\"id\": not json at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := s.runContainer(t, []string{"--network", "none"}, "echo", "ran"); r.status != 0 || r.stdout != "ran\n" {
		t.Errorf("run beside a damaged record: want it to run and print \"ran\", got %v", r)
	}
	r := s.run(t, "cleanup")
	if r.status == 0 || !strings.Contains(r.stderr, path) || !oneLine(r.stderr) {
		t.Errorf("cleanup beside a damaged record: want status 125 and one line naming %s, got %v", path, r)
	}
}

// checkLayerWithoutRecordIsReclaimed leaves what a reboot leaves: a
// container's layer and log under /var/lib/tinyrun with no record in /run
// (a tmpfs, emptied by the reboot). cleanup must remove it, as it removes
// what a killed runtime left; without it, nothing ever would.
func checkLayerWithoutRecordIsReclaimed(t *testing.T, s step) {
	id := s.detached(t, []string{"--network", "none"}, "true")
	// The container's layer is made; remove its record as a reboot would,
	// after the container has exited (its record says so).
	waitUntil(10*time.Second, func() bool {
		return strings.Contains(s.run(t, "ps", "-a", "--format", "{{.ID}} {{.Status}}").stdout, id[:12]+" Exited")
	})
	layer := filepath.Join("/var/lib/tinyrun/containers", id)
	if _, err := os.Stat(filepath.Join(layer, "upper")); err != nil {
		t.Fatalf("the exited container's layer: %v", err)
	}
	if err := os.RemoveAll(filepath.Join("/run/tinyrun/containers", id)); err != nil {
		t.Fatal(err)
	}
	if r := s.run(t, "cleanup"); r.status != 0 {
		t.Fatalf("cleanup: %v", r)
	}
	if _, err := os.Stat(layer); err == nil {
		t.Errorf("cleanup left %s, a layer no record names (as after a reboot): remove the layers of /var/lib/tinyrun/containers that no record in /run/tinyrun names, under the lock", layer)
	}
}
