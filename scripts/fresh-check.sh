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
#
# Run as root. Prints the time of every phase and a summary; exits 0 only
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

usage() { sed -n '2,24s/^# \{0,1\}//p' "$0"; }

repo="$(cd "$(dirname "$0")/.." && pwd)"
ref=HEAD
only="demo test"
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
    --no-cache) use_cache=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fresh-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

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
  echo "== fresh-check: $name ($(date -u +%H:%M:%S) UTC)"
  start=$(date +%s)
  # In the background so that set -e holds inside the phase's functions
  # (bash ignores it in a function called as "f || …").
  "$@" &
  phase_pid=$!
  wait "$phase_pid" || rc=$?
  phase_pid=""
  phase_names+=("$name"); phase_secs+=($(($(date +%s) - start)))
  if ((rc == 0)); then phase_status+=(ok); else phase_status+=("failed (exit $rc)"); fi
  echo "== fresh-check: $name: ${phase_status[-1]} in ${phase_secs[-1]}s"
  return $rc
}
summary() {
  echo "== fresh-check summary: commit $commit ($ref), $gover, Debian $suite from $mirror"
  local i
  for i in "${!phase_names[@]}"; do
    printf '   %-10s %6ss  %s\n' "${phase_names[$i]}" "${phase_secs[$i]}" "${phase_status[$i]}"
  done
}

root=""
phase_pid=""
mounts_under() { # the mount points at or below $1 in this mount namespace, deepest first
  awk -v r="$1" '{ m = $5; gsub(/\\040/, " ", m); if (m == r || index(m, r "/") == 1) print m }' /proc/self/mountinfo |
    awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
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
    local m
    while read -r m; do
      [[ -n $m ]] || continue
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(mounts_under "$root")
    if [[ -n $(mounts_under "$root") ]]; then
      echo "fresh-check: mounts remain under $root; not deleting it:" >&2
      mounts_under "$root" >&2
    elif ((keep)); then
      echo "fresh-check: kept $root" >&2
    else
      rm -rf --one-file-system "$root"
    fi
  fi
  ((${#phase_names[@]})) && summary
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$cache" "$work_parent"
root="$(mktemp -d "$work_parent/trustline-fresh.XXXXXX")"
chmod 755 "$root"
echo "fresh-check: root $root, commit $commit ($ref), $gover from $goroot"

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
setup() {
  mkdir -p "$root/usr/local"
  cp -a "$goroot" "$root/usr/local/go"
  git clone -q --no-hardlinks "$repo" "$root/root/trustline"
  git -C "$root/root/trustline" -c advice.detachedHead=false checkout -q "$commit"
  in_root 'go version; gcc --version | head -1; git --version; cd /root/trustline && git log -1 --format="%h %s"; go env GOCACHE GOMODCACHE; test ! -e "$(go env GOCACHE)" && test ! -e "$(go env GOMODCACHE)"'
}
phase setup setup

# Phases 3 and 4: the README's two commands, each run even when the other
# failed. /dev/null must still be a character device afterwards, in the
# root (checked before its /dev goes away) and on the host.
failed=0
for cmd in demo test; do
  [[ " $only " == *" $cmd "* ]] || continue
  phase "$cmd" in_root "cd /root/trustline && rc=0 && nice make $cmd || rc=\$?
    test -c /dev/null || { echo 'fresh-check: make $cmd replaced /dev/null in the root' >&2; rc=3; }
    exit \$rc" || failed=1
  [[ -c /dev/null ]] || { echo "fresh-check: the host's /dev/null is no longer a character device" >&2; failed=1; }
done
exit "$failed"
