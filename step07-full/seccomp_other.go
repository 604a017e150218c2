//go:build !amd64 && !arm64

package main

import (
	"fmt"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// seccompOf and installSeccomp: seccomp.go's table has the numbers of amd64 and arm64
// only; elsewhere the filter is refused rather than built wrong.
func installSeccomp(filter *specs.LinuxSeccomp) error {
	return fmt.Errorf("no seccomp filter for %s in this runtime: run with --security-opt seccomp=unconfined", runtime.GOARCH)
}

func seccompOf(s security) *specs.LinuxSeccomp {
	if !s.Seccomp {
		return nil
	}
	return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
}
