#!/bin/sh
# vagrant-provision.sh: makes a Debian 12 or Ubuntu 24.04 machine ready to run
# the demo and the workshop with the network unplugged. The Vagrantfile runs it
# as root when the classroom VM is first brought up; it works the same on any
# such machine (sudo sh scripts/vagrant-provision.sh). In order, it:
#
#   1. installs the packages (scripts/provision.sh);
#   2. installs Go in /usr/local/go, unless a Go new enough for go.mod is there;
#   3. puts that Go on the PATH of login shells, if no go is on it;
#   4. lets root's git (and so go build's version stamp) read a checkout that
#      another user owns, as /vagrant is the vagrant user's;
#   5. downloads the Go modules, for root (sudo make ...) and for the owner of
#      the checkout (make exercise, go build by hand);
#   6. builds the steps, the rootfs and the chroot escape (make, as root, as
#      sudo make demo would), and compiles the grader and the workshop's tool
#      once, so that nothing is left to download.
#
# It imports no image (/var/lib/tinyrun is left alone) and writes nothing in
# the checkout but what make builds (bin/, rootfs/: git ignores them). Every
# step checks first, so a second run changes nothing.
#
# TINYRUN_GO_DIR (default /usr/local/go) is where Go is looked for and put.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd -P)
go_dir=${TINYRUN_GO_DIR:-/usr/local/go}
go=$go_dir/bin/go

# The Go installed when none new enough is found: the release the project is
# developed and tested with. It comes from the Go module proxy as the module
# golang.org/toolchain (the files of go.dev/dl's tarball, in a zip), and must
# match these SHA-256 sums of the zip, taken from a 'go mod download -json
# golang.org/toolchain@v0.0.1-goVERSION.linux-ARCH' that checked it against
# the checksum database sum.golang.org. To move to another release, download
# both zips that way and replace the three lines.
go_release=1.26.8
go_sha256_amd64=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
go_sha256_arm64=02b36b6787b3ac767668f630e2998df45a3b1f9ffee08d1bf3ef6487cd658d99

say() { echo "vagrant-provision: $*"; }
fail() { echo "vagrant-provision: $*" >&2; exit 1; }

# version_at_least HAVE NEED succeeds when Go version HAVE (1.26.8) is NEED
# (1.22) or newer.
version_at_least() {
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

# go_version prints the version of $go (1.26.8), or nothing if it does not run.
# From / and with GOTOOLCHAIN=local, so that no go.mod makes it switch to, and
# download, another toolchain.
go_version() {
	(cd / && GOTOOLCHAIN=local "$go" env GOVERSION 2>/dev/null) | sed -n 's/^go\([0-9][0-9.]*\).*/\1/p'
}

# apt_install_missing PACKAGE...: installs those not installed, the way
# scripts/provision.sh does (updating the lists only if installing fails),
# waiting for the package database if a freshly booted box's daily apt job
# holds it.
apt_install_missing() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	say "installing$missing with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt="apt-get -o DPkg::Lock::Timeout=300"
	$apt install -y -qq $missing >/dev/null ||
		{ $apt update -qq >/dev/null && $apt install -y -qq $missing >/dev/null; } ||
		fail "apt-get install$missing failed: see apt-get's messages above"
}

# as_root and as_owner CMD...: run CMD in the checkout with the user's own
# HOME, where Go keeps its module and build caches (a 'sudo -E' would
# otherwise let root fill the owner's caches). GIT_OPTIONAL_LOCKS=0: the git
# status that go build runs to stamp the binaries' version leaves .git/index
# alone (root would otherwise rewrite the owner's).
as_root() { env HOME="$root_home" GOTOOLCHAIN=local GIT_OPTIONAL_LOCKS=0 "$@"; }
as_owner() { runuser -u "$owner" -- env HOME="$owner_home" GOTOOLCHAIN=local GIT_OPTIONAL_LOCKS=0 "$@"; }

install_packages() {
	sh "$repo/scripts/provision.sh"
}

# install_go puts Go $go_release in $go_dir, unless a Go at least as new as
# go.mod's go line is there already.
install_go() {
	need=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$repo/go.mod")
	[ -n "$need" ] || fail "no go line in $repo/go.mod"
	have=$(go_version)
	if [ -n "$have" ] && version_at_least "$have" "$need"; then
		say "Go $have in $go_dir: go.mod needs $need or newer: nothing to install"
		return 0
	fi
	version_at_least "$go_release" "$need" || fail "go.mod needs Go $need, newer than the $go_release this script installs: update go_release"
	case $(uname -m) in
	x86_64) arch=amd64 sum=$go_sha256_amd64 ;;
	aarch64 | arm64) arch=arm64 sum=$go_sha256_arm64 ;;
	*) fail "no Go release pinned for $(uname -m): install Go $need or newer in $go_dir by hand (https://go.dev/doc/install)" ;;
	esac
	say "installing Go $go_release in $go_dir${have:+ (replacing Go $have)}"
	apt_install_missing curl ca-certificates unzip

	# Downloaded and unpacked beside $go_dir, and moved there only once complete.
	mkdir -p "$(dirname "$go_dir")"
	work=$(mktemp -d "$(dirname "$go_dir")/.go-install.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	module=golang.org/toolchain@v0.0.1-go$go_release.linux-$arch
	url=https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$go_release.linux-$arch.zip
	curl -fsSL --retry 3 -o "$work/go.zip" "$url" || fail "downloading $url failed"
	echo "$sum  $work/go.zip" | sha256sum -c --quiet - || fail "$url: SHA-256 is not $sum: not installed"
	unzip -q "$work/go.zip" -d "$work" || fail "unzip $work/go.zip failed"
	# The programs in bin/ and pkg/tool/ must be executable. unzip keeps the
	# modes the zip records, but module zips need not record any: the go
	# command sets these itself on the toolchains it downloads, and so do we.
	chmod 755 "$work/$module"/bin/* "$work/$module"/pkg/tool/*/*
	rm -rf "$go_dir"
	mv "$work/$module" "$go_dir"
	rm -rf "$work"
	trap - EXIT
	have=$(go_version)
	[ "$have" = "$go_release" ] || fail "$go does not run after installing it"
	say "installed Go $have in $go_dir"
}

# put_go_on_path makes login shells (vagrant ssh) find go and gofmt, when the
# owner's login shell finds no go yet. sudo has its own PATH: the Makefile
# looks in /usr/local/go/bin itself.
put_go_on_path() {
	if as_owner bash -lc 'command -v go' >/dev/null 2>&1; then
		return 0
	fi
	say "adding $go_dir/bin to login shells' PATH (/etc/profile.d/tinyrun-go.sh)"
	# $PATH stays as written: the login shell expands it.
	printf 'PATH="$PATH:%s/bin"\n' "$go_dir" >/etc/profile.d/tinyrun-go.sh
}

# trust_checkout: git refuses to read a repository that another user owns
# ("detected dubious ownership"), and so go build, run as root in it, fails
# with "error obtaining VCS status" when it stamps the binaries' version.
trust_checkout() {
	[ "$owner" != root ] && [ -e "$repo/.git" ] || return 0
	if git config --system --get-all safe.directory 2>/dev/null | grep -Fqx "$repo"; then
		return 0
	fi
	say "letting root's git read $repo, which $owner owns (git config --system safe.directory)"
	git config --system --add safe.directory "$repo"
}

download_modules() {
	say "go mod download: every module go.mod needs, into the module cache of root${owner_is_other:+ and of $owner}"
	as_root "$go" mod download
	if [ -n "$owner_is_other" ]; then as_owner "$go" mod download; fi
}

# build: what sudo make demo and sudo make check build, built now; then the
# grader and make exercise's tool compiled once, into Go's build cache.
build() {
	as_root make --no-print-directory GO="$go" build rootfs bin/chroot-escape
	as_root "$go" test -c -o /dev/null ./tests
	if [ -n "$owner_is_other" ]; then as_owner "$go" build -o /dev/null ./scripts/exercise; fi
}

[ "$(id -u)" = 0 ] || fail "run it as root: sudo sh scripts/vagrant-provision.sh"
cd "$repo"
root_home=$(getent passwd root | cut -d: -f6)
owner=$(stat -c %U "$repo")
owner_home=$(getent passwd "$owner" | cut -d: -f6) ||
	fail "$repo belongs to $owner, who has no account here: chown it to a user"
owner_is_other=
[ "$owner" = root ] || owner_is_other=1

install_packages
install_go
put_go_on_path
trust_checkout
download_modules
build
say "ready: everything the demo and the workshop need is here; no network is needed from now on"
