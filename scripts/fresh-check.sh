#!/usr/bin/env bash
# fresh-check: does the README's "make demo" and "make test" pass on a new
# Debian 12 machine with only Go, gcc and git? It builds a clean bookworm
# root with debootstrap, copies in this machine's Go toolchain and a clean
# clone of one commit of this repository, and runs both commands in it
# (chroot, with /proc, /sys and /dev mounted, a fresh GOCACHE and
# GOMODCACHE; Debian's archive and the Go module proxy must be reachable).
#
#   scripts/fresh-check.sh                 # HEAD of this repository
#   scripts/fresh-check.sh --ref i12build  # a branch, tag or commit
#   scripts/fresh-check.sh --only demo     # skip make test
#   scripts/fresh-check.sh --shared DIR    # the test data make test reads
#
# "make demo" runs on the clone alone. "make test" also reads the
# project's shared test data (real OSV exports, JSON schemas) from
# ../shared beside the repository, where CI lays a copy: the check copies
# --shared DIR (default: ../shared beside this repository, if present)
# there after the demo has run, never before it.
#
# Run as root. Prints (on stderr) the time of every phase and a summary; exits 0 only
# when every command it ran passed. The bootstrapped root (before Go and the
# clone are added) is cached as a tarball under $FRESH_CHECK_CACHE
# (default /var/cache/trustline-fresh-check); --no-cache rebuilds it.
#
# Safety: every mount is made in a private mount namespace (unshare), so
# nothing the commands mount inside the root is visible on the host and all
# of it goes away with the namespace; /dev in the root is a tmpfs with its
# own device nodes, so a command that replaces /dev/null in the root cannot
# damage the host's. On exit (normal, error, Ctrl-C, TERM) the trap kills
# what still runs in the root, unmounts anything left under it, and deletes
# it with rm --one-file-system only when no mount is left below it.
set -euo pipefail


repo="${FRESH_CHECK_REPO:-$(cd "$(dirname "$0")/.." && pwd)}"
# Bash reads a script as it runs it: run from a private copy, so that a
# checkout or an edit in the repository during the (long) check cannot
# change what the check does half-way.
if [[ -z ${FRESH_CHECK_SELF:-} ]]; then
  self="$(mktemp /tmp/fresh-check.XXXXXX)"
  cp "$0" "$self"
  FRESH_CHECK_SELF="$self" FRESH_CHECK_REPO="$repo" exec bash "$self" "$@"
fi
# Bash keeps the copy open: it can go now.
usage_text="$(awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0")"
rm -f "$FRESH_CHECK_SELF"
usage() { echo "$usage_text"; }
ref=HEAD
only="demo test"
shared="$repo/../shared"
use_cache=1
keep=0
suite=bookworm
cache="${FRESH_CHECK_CACHE:-/var/cache/trustline-fresh-check}"
work_parent="${FRESH_CHECK_WORK:-/var/tmp}"
# A fresh machine as the issue describes it: Go (copied in), gcc and git,
# plus make to type the README's commands. apt installs their recommends
# too (ca-certificates among them), as it would for a user.
packages=(gcc git make)

while (($#)); do
  case "$1" in
    --ref) ref="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --shared) shared="$2"; shift 2 ;;
    --no-cache) use_cache=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fresh-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/mounts.sh
source "$repo/scripts/lib/mounts.sh"

[[ $(id -u) == 0 ]] || { echo "fresh-check: run as root" >&2; exit 2; }
commit="$(git -C "$repo" rev-parse --verify "$ref^{commit}")" || {
  echo "fresh-check: $ref is not a commit of $repo" >&2; exit 2; }
goroot="$(go env GOROOT)"
gover="$(go env GOVERSION)"

# The Debian mirror this machine's apt uses (deb822 or one-line format).
mirror="$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
[[ -n $mirror ]] || mirror="$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\/debian\)\/\{0,1\} .*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)"
mirror="${mirror:-http://deb.debian.org/debian}"

phase_names=()
phase_secs=()
phase_status=()
phase() { # phase NAME COMMAND...: runs and times one phase
  local name="$1" start rc=0; shift
  echo "== fresh-check: $name ($(date -u +%H:%M:%S) UTC)" >&2
  start=$(date +%s)
  # In the background so that set -e holds inside the phase's functions
  # (bash ignores it in a function called as "f || …").
  "$@" &
  phase_pid=$!
  wait "$phase_pid" || rc=$?
  phase_pid=""
  phase_names+=("$name"); phase_secs+=($(($(date +%s) - start)))
  if ((rc == 0)); then phase_status+=(ok); else phase_status+=("failed (exit $rc)"); fi
  echo "== fresh-check: $name: ${phase_status[-1]} in ${phase_secs[-1]}s" >&2
  return $rc
}
summary() {
  exec >&2
  echo "== fresh-check summary: commit $commit ($ref), $gover, Debian $suite from $mirror"
  local i
  for i in "${!phase_names[@]}"; do
    printf '   %-10s %6ss  %s\n' "${phase_names[$i]}" "${phase_secs[$i]}" "${phase_status[$i]}"
  done
}

root=""
phase_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Cleanup must run to its end whatever fails in it.
  set +e
  [[ -n $phase_pid ]] && { kill -TERM "$phase_pid" 2>/dev/null; wait "$phase_pid" 2>/dev/null; }
  if [[ -n $root && -d $root ]]; then
    # What still runs inside the root (a registry a test left behind, a
    # build's RUN) was started by this script: end it before unmounting.
    local p pids=()
    for p in /proc/[0-9]*; do
      [[ $(readlink "$p/root" 2>/dev/null) == "$root" ]] && pids+=("${p#/proc/}")
    done
    if ((${#pids[@]})); then
      echo "fresh-check: ending ${#pids[@]} process(es) still running in the root" >&2
      kill -TERM "${pids[@]}" 2>/dev/null || true; sleep 2; kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    if ((keep)); then
      unmount_under "$root"
      echo "fresh-check: kept $root" >&2
    else
      safe_rm "$root" || true
    fi
  fi
  if ((${#phase_names[@]})); then summary; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$cache" "$work_parent"
root="$(mktemp -d "$work_parent/trustline-fresh.XXXXXX")"
chmod 755 "$root"
echo "fresh-check: root $root, commit $commit ($ref), $gover from $goroot" >&2

# Phase 1: the Debian root with gcc, git and make, from the cache when it
# was built for the same suite, mirror and packages.
key="$(printf '%s\n' "$suite" "$mirror" "$(uname -m)" "${packages[@]}" | sha256sum | cut -c1-16)"
tarball="$cache/$suite-$key.tar"
bootstrap() {
  debootstrap --variant=minbase "$suite" "$root" "$mirror"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # Host mounts are not needed for apt: run it in the private namespace
  # with /proc only.
  in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${packages[*]} >/dev/null && apt-get clean"
  tar -C "$root" --one-file-system -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
}
unpack() {
  tar -C "$root" -xf "$tarball"
}

# in_root COMMAND: runs a bash command in the root as a fresh login would,
# in a private mount namespace with /proc, /sys and a private /dev.
in_root() {
  unshare --mount --propagation private -- bash -euo pipefail -c '
    r="$1"; shift
    # The root of a machine or of a pod is a mount point; a directory
    # made by debootstrap is not, and the build step (which makes its
    # mounts private from "/") would fail where no user does.
    mount --bind "$r" "$r"
    mount -t proc proc "$r/proc"
    mount --rbind /sys "$r/sys"
    mount -t tmpfs -o mode=755,nosuid,size=64m dev "$r/dev"
    while read -r name major minor; do
      mknod -m 666 "$r/dev/$name" c "$major" "$minor"
    done <<<"null 1 3
zero 1 5
full 1 7
random 1 8
urandom 1 9
tty 5 0"
    mkdir -p "$r/dev/pts" "$r/dev/shm" "$r/dev/mqueue"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$r/dev/pts"
    ln -s pts/ptmx "$r/dev/ptmx"
    mount -t tmpfs -o mode=1777,nosuid,nodev shm "$r/dev/shm"
    ln -s /proc/self/fd "$r/dev/fd"
    ln -s /proc/self/fd/0 "$r/dev/stdin"
    ln -s /proc/self/fd/1 "$r/dev/stdout"
    ln -s /proc/self/fd/2 "$r/dev/stderr"
    exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
      PATH=/usr/local/go/bin:/root/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      /bin/bash -euo pipefail -c "$1"
  ' fresh-check "$root" "$1" </dev/null
}

if ((use_cache)) && [[ -f $tarball ]]; then
  phase root unpack
else
  phase root bootstrap
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"

# Phase 2: Go (this machine's toolchain) and a clean clone of the commit.
#
# Where this machine reaches the network through a TLS-inspecting proxy,
# its CA bundle holds certificates Debian's does not; without them nothing
# in the root could reach the Go module proxy. They describe the network,
# not the machine under test, so they are added to the root's trust store
# the way an administrator would (/usr/local/share/ca-certificates).
host_only_cas() {
  local host=/etc/ssl/certs/ca-certificates.crt guest="$root/etc/ssl/certs/ca-certificates.crt" n
  [[ -f $host && -f $guest ]] || return 0
  mkdir -p "$root/usr/local/share/ca-certificates"
  n=$(awk -v dir="$root/usr/local/share/ca-certificates" '
    /-----BEGIN CERTIFICATE-----/ { pem = ""; inside = 1 }
    inside { pem = pem $0 "\n" }
    /-----END CERTIFICATE-----/ {
      inside = 0
      if (FILENAME == ARGV[1]) { known[pem] = 1 }
      else if (!(pem in known)) { n++; f = dir "/fresh-check-host-" n ".crt"; printf "%s", pem > f; close(f) }
    }
    END { print n + 0 }' "$guest" "$host")
  if ((n)); then
    echo "fresh-check: adding $n CA certificate(s) this machine trusts beyond Debian's (its network's TLS proxy)" >&2
    in_root 'update-ca-certificates >/dev/null'
  fi
}
setup() {
  mkdir -p "$root/usr/local"
  cp -a "$goroot" "$root/usr/local/go"
  git clone -q --no-hardlinks "$repo" "$root/root/trustline"
  git -C "$root/root/trustline" -c advice.detachedHead=false checkout -q "$commit"
  host_only_cas
  in_root 'go version; gcc --version | head -1; git --version; cd /root/trustline && git log -1 --format="%h %s"; go env GOCACHE GOMODCACHE; test ! -e "$(go env GOCACHE)" && test ! -e "$(go env GOMODCACHE)"'
}
phase setup setup

# Phases 3 and 4: the README's two commands, each run even when the other
# failed. /dev/null must still be a character device afterwards, in the
# root (checked before its /dev goes away) and on the host.
# A command must not change the clone either (bin/ and out/ are ignored).
failed=0
for cmd in demo test; do
  [[ " $only " == *" $cmd "* ]] || continue
  if [[ $cmd == test && -d $shared ]]; then
    echo "fresh-check: copying $shared to /root/shared in the root for make test" >&2
    cp -a "$shared" "$root/root/shared"
  fi
  phase "$cmd" in_root "cd /root/trustline && rc=0 && nice make $cmd || rc=\$?
    test -c /dev/null || { echo 'fresh-check: make $cmd replaced /dev/null in the root' >&2; rc=3; }
    if [ -n \"\$(git status --porcelain)\" ]; then echo 'fresh-check: make $cmd changed the clone:' >&2; git status --short >&2; rc=3; fi
    exit \$rc" || failed=1
  [[ -c /dev/null ]] || { echo "fresh-check: the host's /dev/null is no longer a character device" >&2; failed=1; }
done
exit "$failed"
