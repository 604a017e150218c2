// syscall-probe makes each system call named on its command line once,
// with harmless arguments, and prints what it returned: "NAME: ok", or
// "NAME: " and the error. The checks of tests/security_test.go run it in
// containers, to see what the seccomp filter lets through
// (docs/08-security.md).
//
//	getpid          any filter allows it
//	mbind           MPOL_DEFAULT on no memory: changes nothing
//	keyctl          KEYCTL_GET_KEYRING_ID of the session keyring, not created
//	io_uring_setup  with no parameters: EFAULT if the kernel gets to it
//	clock_adjtime   of CLOCK_REALTIME, with no change (modes 0): a read
//	int80-mbind     mbind again, through amd64's 32-bit door (int $0x80),
//	                where it is number 274, not 237: a filter that tested
//	                the number without the architecture would let it in
//
// C, not Go, for int $0x80; built static (make bin/syscall-probe), since
// the busybox rootfs has no C library.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

// report prints what a call returned: result, or -1 and errno.
static void report(const char *name, long result, int error) {
	if (result == -1)
		printf("%s: %s\n", name, strerror(error));
	else
		printf("%s: ok\n", name);
	fflush(stdout);
}

#ifdef __x86_64__
// int80 makes the i386 call nr with six arguments of 0, and returns what
// the kernel put in eax: a result, or minus an error number. ebp, the
// sixth argument, is saved around the call (the compiler may use it),
// below the 128 bytes under the stack pointer that the compiler may use
// too (the x86-64 ABI's red zone).
static long int80(long nr) {
	long result;
	__asm__ volatile("sub $128, %%rsp\n\tpush %%rbp\n\txor %%ebp, %%ebp\n\tint $0x80\n\tpop %%rbp\n\tadd $128, %%rsp"
			 : "=a"(result)
			 : "a"(nr), "b"(0), "c"(0), "d"(0), "S"(0), "D"(0)
			 : "memory", "r8", "r9", "r10", "r11");
	return result;
}
#endif

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++) {
		const char *name = argv[i];
		long r;
		if (strcmp(name, "getpid") == 0) {
			r = syscall(SYS_getpid);
		} else if (strcmp(name, "mbind") == 0) {
			r = syscall(SYS_mbind, 0, 0, 0 /* MPOL_DEFAULT */, 0, 0, 0);
		} else if (strcmp(name, "keyctl") == 0) {
			r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
		} else if (strcmp(name, "io_uring_setup") == 0) {
			r = syscall(SYS_io_uring_setup, 1, NULL);
		} else if (strcmp(name, "clock_adjtime") == 0) {
			struct timex t = {0};
			r = syscall(SYS_clock_adjtime, CLOCK_REALTIME, &t);
#ifdef __x86_64__
		} else if (strcmp(name, "int80-mbind") == 0) {
			r = int80(274); // __NR_mbind of asm/unistd_32.h
			report(name, r < 0 ? -1 : r, r < 0 ? (int)-r : 0);
			continue;
#endif
		} else {
			fprintf(stderr, "syscall-probe: %s: no such probe\n", name);
			return 2;
		}
		report(name, r, errno);
	}
	return 0;
}
