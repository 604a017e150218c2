# tinyrun: a container runtime built one kernel primitive at a time.
# 'make help' lists the targets. Every target that runs a container needs root.

# sudo resets PATH to its secure_path, which usually lacks Go's directory, so
# 'sudo make ...' also looks where Go's installers put it. Override with GO=...
GO ?= $(shell command -v go 2>/dev/null || ls /usr/local/go/bin/go /usr/lib/go/bin/go 2>/dev/null | head -n 1)

# No version-control stamp in the binaries: git refuses a checkout that
# another user owns (the classroom VM's, built by root), and the stamp
# serves nothing here. Exported, so the test suite's builds get it too.
export GOFLAGS := $(strip $(GOFLAGS) -buildvcs=false)

# Every stepNN-* directory with a main.go is a step, built to bin/stepNN-*.
STEPS := $(patsubst %/,%,$(sort $(dir $(wildcard step[0-9][0-9]-*/main.go))))
ROOTFS := rootfs

# make shell STEP=3 (or 03): the step directory whose number is STEP.
STEP ?= $(lastword $(STEPS))
STEP_DIR = $(firstword $(filter step$(shell printf '%02d' $(patsubst step%,%,$(firstword $(subst -, ,$(STEP)))) 2>/dev/null)-%,$(STEPS)) $(filter $(STEP),$(STEPS)))

# make exercise STEP=7 PART=3: step 07's exercise comes in parts, the lines
# STEP/PART of scripts/exercise/exercises.txt; PARTS are the step's.
PARTS = $(shell sed -n 's|^$(STEP_DIR)/\([^:]*\):.*|\1|p' scripts/exercise/exercises.txt)

.PHONY: all build deps rootfs image demo shell test test-vm bench exercise check lint diffs clean help go-found step-found

all: build

help: ## list the targets
	@echo 'usage: make TARGET   (run the targets that start containers as root: sudo make TARGET)'
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  %-8s %s\n", $$1, $$2}'

go-found:
	@test -n "$(GO)" || { echo "make: Go not found: install Go 1.22 or newer (https://go.dev/doc/install), or run make GO=/path/to/go" >&2; exit 1; }

# step-found: STEP names a step, and PART, if given, one of its parts.
step-found:
	@test -n "$(STEP_DIR)" || { echo "make: no step $(STEP): choose one of $(STEPS)" >&2; exit 1; }
	@test -z "$(PART)" -o -n "$(PARTS)" || { echo "make: step $(STEP) comes in one piece: PART is for step 7 only, e.g. make exercise STEP=7 PART=3" >&2; exit 1; }
	@test -z "$(PART)" -o "$(words $(PART)) $(filter $(PART),$(PARTS))" = "1 $(strip $(PART))" || { echo "make: step $(STEP) has no part '$(PART)': choose one of $(PARTS)" >&2; exit 1; }

# deps: what the targets that start containers need (iptables, iproute2,
# nsenter, busybox-static...), installed with apt-get when missing, with one
# line saying so; nothing is printed when all is there.
deps: ## install the packages the demo and the tests need, when missing (root)
	@sh scripts/provision.sh --quiet

build: go-found ## build every step into bin/, and step 07 also as bin/tinyrun
	@if [ -d step07-full ] && ! command -v gcc >/dev/null && ! command -v cc >/dev/null; then \
	  echo "make: step 07 needs a C compiler (its exec joins namespaces in C): run 'sudo make deps', or install gcc" >&2; exit 1; fi
	$(GO) build -o bin/ $(addprefix ./,$(STEPS))
	@if [ -x bin/step07-full ]; then ln -f bin/step07-full bin/tinyrun; fi

# The chroot escape of docs/03-mount.md, linked statically (no C library in the rootfs).
bin/chroot-escape: examples/chroot-escape/main.go | go-found
	CGO_ENABLED=0 $(GO) build -o $@ ./examples/chroot-escape

# The escape attempts of docs/08-security.md, run inside containers by the
# step 07 checks: static too, bind-mounted into the busybox rootfs.
bin/attacks: examples/attacks/main.go | go-found
	CGO_ENABLED=0 $(GO) build -o $@ ./examples/attacks

# The attacker's half of the races of tests/races_test.go: it swaps two
# paths in a shared volume, from inside a container; static too.
bin/swap: examples/swap/main.go | go-found
	CGO_ENABLED=0 $(GO) build -o $@ ./examples/swap

# The system calls the seccomp checks make inside containers (tests/security_test.go):
# C for its int $0x80, linked statically (no C library in the rootfs).
bin/syscall-probe: examples/syscall-probe/main.c
	@mkdir -p bin
	gcc -static -O2 -Wall -o $@ examples/syscall-probe/main.c

# Docker's own seccomp profile, default.json, which a check loads with
# --security-opt seccomp=FILE: the file of the module step07-full's default
# is generated from (scripts/seccompgen), from the module cache.
DOCKER_PROFILE_MODULE = github.com/moby/profiles/seccomp@v0.1.0
bin/docker-default.json: | go-found
	@mkdir -p bin
	dir=$$($(GO) mod download -json $(DOCKER_PROFILE_MODULE) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p') && \
	  test -n "$$dir" && cp "$$dir/default.json" $@ && chmod 644 $@

# The failed setns(2) from Go of docs/07-full.md; no C library needed either.
bin/setns-from-go: examples/setns-from-go/main.go | go-found
	CGO_ENABLED=0 $(GO) build -o $@ ./examples/setns-from-go

rootfs: $(ROOTFS)/etc/os-release ## build the busybox root filesystem in rootfs/ (installs busybox-static if missing)

# The image of steps 06 on: the rootfs as a tarball, imported as "busybox".
IMAGE_STEP = $(lastword $(filter step06-% step07-%,$(STEPS)))
image: deps build rootfs ## import rootfs/ as the image "busybox" of steps 06 on (root)
	@test -n "$(IMAGE_STEP)" || { echo "make: no step with images yet" >&2; exit 1; }
	@if bin/$(IMAGE_STEP) images | grep -q '^busybox	'; then echo "image busybox: imported already"; else \
	  tar -C $(ROOTFS) -cf bin/rootfs.tar . && bin/$(IMAGE_STEP) import bin/rootfs.tar busybox && echo "image busybox: imported"; fi

$(ROOTFS)/etc/os-release: scripts/mkrootfs.sh
	sh scripts/mkrootfs.sh $(ROOTFS)

demo: deps build rootfs ## a narrated tour of every step, for a classroom screen (root)
	@sh scripts/demo.sh

shell: deps build rootfs ## an interactive shell in a container of step STEP, e.g. make shell STEP=3 (root)
	@test -n "$(STEP_DIR)" || { echo "make: no step $(STEP): choose one of $(STEPS)" >&2; exit 1; }
	@echo "$(STEP_DIR): a shell in a new container; type exit to leave"
	@if [ "$(STEP_DIR)" \> "step07" ]; then $(MAKE) -s image && bin/$(STEP_DIR) run -it --rm --hostname $(STEP_DIR) busybox sh; \
	  elif [ "$(STEP_DIR)" \> "step06" ]; then $(MAKE) -s image && bin/$(STEP_DIR) run --hostname $(STEP_DIR) busybox sh; \
	  else bin/$(STEP_DIR) run --hostname $(STEP_DIR) sh; fi

test: deps build rootfs bin/chroot-escape bin/setns-from-go bin/attacks bin/swap bin/syscall-probe bin/docker-default.json ## run the whole test suite: unit tests, every step's checks, the chapters' transcripts (root)
	$(GO) test -count=1 $(addprefix ./,$(STEPS))
	cd tests && $(GO) test -count=1 -timeout 20m

bench: deps build rootfs ## time a container start, side by side: the kernel floor, runc, each step (root)
	@bash scripts/bench.sh

test-vm: deps build rootfs bin/chroot-escape bin/attacks bin/swap bin/syscall-probe bin/docker-default.json ## the steps' checks in a VM booting Debian 12's stock kernel with cgroup v2 (root)
	GO=$(GO) bash scripts/test-vm.sh

# The workshop: make exercise STEP=3 writes exercise/step03-mount, step 03's
# code with its key parts (scripts/exercise/exercises.txt) left TODO; make
# check STEP=3 then grades that workspace, or bin/step03-* when there is none.
# With PART=3, step 07's workspace is exercise/step07-full-part-3, where only
# part 3 is TODO, and make check grades part 3's checks alone; a part with
# nothing to write makes no workspace, and says what to read instead.
WORKSPACE = exercise/$(STEP_DIR)$(if $(PART),-part-$(strip $(PART)))
exercise: go-found step-found ## make your workspace exercise/stepNN-*: step STEP with its key parts left TODO [PART=N: one part of step 7]
	@if [ -e $(WORKSPACE) ]; then echo "make: $(WORKSPACE) exists and holds your work: remove it to start again" >&2; exit 1; fi
	@$(GO) run ./scripts/exercise $(if $(PART),-part '$(strip $(PART))') $(STEP_DIR) $(WORKSPACE)
	@if [ -d $(WORKSPACE) ]; then echo "Write them, then grade your work with: sudo make check STEP=$(STEP)$(if $(PART), PART=$(strip $(PART)))"; fi

# The tests run in go test's local directory mode (cd tests), which prints
# the suite's report; make check STEP=3 grades exercise/step03-mount if it
# exists, else bin/step03-*; add BIN=path/to/binary to grade another build,
# or DIR=path/to/step (a directory inside this module) to build one. With
# PART=3 it grades part 3's checks alone, of exercise/step07-full-part-3,
# else of exercise/step07-full, else of bin/step07-full.
CHECK_DIR = $(or $(DIR),$(if $(BIN),,$(patsubst %/main.go,%,$(firstword $(wildcard $(WORKSPACE)/main.go exercise/$(STEP_DIR)/main.go)))))
check: step-found deps build rootfs bin/chroot-escape bin/attacks bin/swap bin/syscall-probe bin/docker-default.json ## grade step STEP with PASS/FAIL and hints: your exercise/ workspace, or bin/ [BIN=path | DIR=path] [PART=N] (root)
	@echo "grading $(or $(BIN),$(CHECK_DIR),bin/$(STEP_DIR)) as $(STEP_DIR)$(if $(PART), (part $(strip $(PART)) alone))"
	@# The messages keep what each check saw; their place in the tests'
	@# source ("mount_test.go:157: "), which points nowhere useful, goes.
	@cd tests && status=$$(mktemp) && \
	{ $(GO) test -count=1 -timeout 20m -run 'TestSteps' -args -grade -step '$(STEP_DIR)' $(if $(PART),-part '$(strip $(PART))') $(if $(BIN),-bin '$(abspath $(BIN))') $(if $(CHECK_DIR),-dir '$(abspath $(CHECK_DIR))') 2>&1; echo $$? >"$$status"; } | \
	sed -E 's/^([[:space:]]*)[A-Za-z0-9_]+_test\.go:[0-9]+: /\1/'; \
	code=$$(cat "$$status"); rm -f "$$status"; exit $$code

lint: go-found ## go vet, and gofmt -l (fails if any file needs formatting); step 07 also builds without cgo
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./step07-full
	CGO_ENABLED=0 $(GO) build -o /dev/null ./step07-full
	@out=$$($(dir $(GO))gofmt -l $$(find . -name '*.go' -not -path './.cache/*')) || exit 1; \
	  if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi

diffs: go-found ## rewrite the step-to-step diffs (and whole-declaration excerpts) in docs/ from the code
	cd tests && $(GO) test -count=1 -run 'TestChapterDiffsAreCurrent|TestCodeExcerptsMatchSource' -args -update

clean: ## remove bin/, rootfs/ and the test VM's cache
	rm -rf bin $(ROOTFS) $(ROOTFS).new .cache
