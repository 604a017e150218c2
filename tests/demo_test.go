package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDemoShowsEveryStep runs 'make demo”s script, without its pauses, and
// checks that it succeeds and tours every step.
func TestDemoShowsEveryStep(t *testing.T) {
	before, err := takeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	// In a network namespace of its own, like the transcripts.
	netnsName, err := addScratchNetns()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nsenter", inNetns(netnsName, "sh", "scripts/demo.sh")...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "DEMO_PAUSE=0")
	out, err := cmd.CombinedOutput()
	deleteScratchNetns(t, netnsName)
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out)
	}
	steps, err := findSteps()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if !strings.Contains(string(out), "== "+s.name+":") {
			t.Errorf("the demo does not show %s: want a heading '== %s: ...'", s.name, s.name)
		}
	}
	if diff := before.diffSettled(); diff != "" {
		t.Errorf("the demo left the host changed:\n%s", diff)
	}
}
