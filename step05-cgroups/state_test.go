package main

import (
	"os/exec"
	"testing"
	"time"
)

// A process that has exited but is not reaped yet (a zombie) keeps its PID
// and its start time: it must not count as a live owner, or its record is
// never reclaimed while its parent is slow to reap it.
func TestZombieIsNotAlive(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	start, err := processStartTime(cmd.Process.Pid)
	owner := process{PID: cmd.Process.Pid, StartTime: start}
	if err != nil {
		// It may be a zombie already: then processStartTime's refusal is the point.
		return
	}
	for deadline := time.Now().Add(5 * time.Second); owner.alive(); {
		if time.Now().After(deadline) {
			t.Fatalf("process %d exited 5 s ago, unreaped, and still counts as alive", owner.PID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
