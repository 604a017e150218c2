//go:build !cgo

package main

import (
	"os"
	"os/exec"
)

// waitAsMonitor, in a runtime built without cgo, waits for the container
// in Go, relaying signals as a foreground run does, and returns how it
// ended: the monitor then releases it as run does. It keeps its Go
// runtime, some megabytes, while the container runs (monitor.go).
func waitAsMonitor(cmd *exec.Cmd, rec *record, l limits, signals chan os.Signal) error {
	return wait(cmd, signals, rec.Cgroup, l)
}
