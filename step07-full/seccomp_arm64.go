package main

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nativeArchitecture is the number the kernel gives arm64's system calls
// in seccomp_data (linux/audit.h); 32-bit arm calls have another,
// AUDIT_ARCH_ARM, and tinyrun no table for them: the filter kills a
// process that makes one.
const nativeArchitecture = unix.AUDIT_ARCH_AARCH64

// nativeArchitectureName is its name in the spec's linux.seccomp.
const nativeArchitectureName = specs.ArchAARCH64

// foreignCallsFrom: arm64 has no second table under its number.
const foreignCallsFrom = 0
