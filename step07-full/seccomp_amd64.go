package main

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nativeArchitecture is the number the kernel gives amd64's system calls
// in seccomp_data (linux/audit.h). A 64-bit process can still make 32-bit
// calls (int 0x80), with another table and AUDIT_ARCH_I386: the filter
// kills a process that does.
const nativeArchitecture = unix.AUDIT_ARCH_X86_64

// nativeArchitectureName is its name in the spec's linux.seccomp.
const nativeArchitectureName = specs.ArchX86_64

// foreignCallsFrom: amd64's numbers from 0x40000000 on are the x32 ABI's,
// another table under the same architecture number.
const foreignCallsFrom = 0x40000000

// archRefusedCalls are calls only amd64 has: port I/O (the host's
// hardware), and obsolete ones.
var archRefusedCalls = []refusedCall{
	{"iopl", unix.SYS_IOPL, "SYS_RAWIO"},
	{"ioperm", unix.SYS_IOPERM, "SYS_RAWIO"},
	{"create_module", unix.SYS_CREATE_MODULE, "SYS_MODULE"},
	{"get_kernel_syms", unix.SYS_GET_KERNEL_SYMS, "SYS_MODULE"},
	{"query_module", unix.SYS_QUERY_MODULE, "SYS_MODULE"},
	{"uselib", unix.SYS_USELIB, ""},
	{"ustat", unix.SYS_USTAT, ""},
	{"sysfs", unix.SYS_SYSFS, ""},
	{"_sysctl", unix.SYS__SYSCTL, ""},
}
