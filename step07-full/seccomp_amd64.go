package main

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nativeArchitecture is the number the kernel gives amd64's system calls
// in seccomp_data (linux/audit.h). A 64-bit process can still make 32-bit
// calls (int 0x80), with another table and AUDIT_ARCH_I386: tinyrun has
// no i386 table to filter them by name, so the filter kills a process
// that makes one.
const nativeArchitecture = unix.AUDIT_ARCH_X86_64

// nativeArchitectureName is its name in the spec's linux.seccomp.
const nativeArchitectureName = specs.ArchX86_64

// foreignCallsFrom: amd64's numbers from 0x40000000 on are the x32 ABI's,
// another table under the same architecture number.
const foreignCallsFrom = 0x40000000
