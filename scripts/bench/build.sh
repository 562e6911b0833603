#!/usr/bin/env bash
# Whole-command comparison for the build step (issue 3, item 9): the step
# (`build`, buildah library, build + push in one call) against Debian's
# buildah CLI (`buildah bud` then `buildah push`) on the same
# Containerfiles, the same storage driver (vfs, chroot isolation), both
# pushing to the same registry on 127.0.0.1 (go-containerregistry's).
# Each tool has its own storage, warmed by one untimed round, so base
# images are local and the timed rounds measure build + push.
#
#   scripts/bench/build.sh              # N=5 rounds per Containerfile
#   N=10 DRIVER=overlay scripts/bench/build.sh
#
# Needs root and: apt-get install -y buildah busybox-static
set -euo pipefail

cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
N="${N:-5}"
DRIVER="${DRIVER:-vfs}"
export GOFLAGS="${GOFLAGS:--tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper}"
export CGO_ENABLED=1 GONOSUMDB=github.com/tektoncd/chains,github.com/tektoncd/cli

[ "$(id -u)" = 0 ] || { echo "run as root (both builders need it)" >&2; exit 2; }
command -v buildah >/dev/null || { echo "buildah not found: apt-get install -y buildah" >&2; exit 2; }
[ -x /bin/busybox ] || { echo "/bin/busybox not found: apt-get install -y busybox-static" >&2; exit 2; }

# shellcheck source=../lib/mounts.sh
source scripts/lib/mounts.sh

work="$(mktemp -d)"
regpid=""
cleanup() {
  [ -n "$regpid" ] && kill "$regpid" 2>/dev/null
  for r in "$work/ours" "$work/theirs"; do
    [ -d "$r" ] && buildah --storage-driver "$DRIVER" --root "$r/root" --runroot "$r/run" rm --all >/dev/null 2>&1 || true
  done
  # overlay storage stays mounted after "rm --all" (the driver's home is a
  # private bind mount): unmount before deleting.
  safe_rm "$work"
}
trap cleanup EXIT

echo "building the step, registry and crane..." >&2
go build -trimpath -o "$work/" ./steps/build github.com/google/go-containerregistry/cmd/registry github.com/google/go-containerregistry/cmd/crane

start_registry "$work"
reg="127.0.0.1:$port"
export DOCKER_CONFIG="$work/docker" REGISTRY_AUTH_FILE="$work/docker/config.json"
mkdir -p "$DOCKER_CONFIG" && echo '{}' >"$DOCKER_CONFIG/config.json"

# A small base image assembled from Debian's busybox-static.
mkdir -p "$work/base/bin" "$work/base/etc" "$work/base/tmp"
cp /bin/busybox "$work/base/bin/"
for a in sh cat echo ls mkdir sha256sum seq true; do ln -s busybox "$work/base/bin/$a"; done
tar -C "$work/base" -cf "$work/base.tar" .
"$work/crane" append --oci-empty-base -f "$work/base.tar" -t "$reg/base/busybox:1" >/dev/null 2>&1
"$work/crane" mutate --set-platform linux/amd64 -e PATH=/bin -t "$reg/base/busybox:1" "$reg/base/busybox:1" >/dev/null 2>&1
base="$reg/base/busybox@$("$work/crane" digest "$reg/base/busybox:1")"

# Three contexts: a static binary on scratch, RUNs on the base, and a
# multi-stage build.
mkdir -p "$work/src/hello"
cat >"$work/src/hello/main.go" <<'EOF'
package main

import "fmt"

func main() { fmt.Println("hello") }
EOF
(cd "$work/src/hello" && GOFLAGS= CGO_ENABLED=0 GO111MODULE=off go build -trimpath -o hello main.go)
mkdir -p "$work/ctx/scratch" "$work/ctx/run" "$work/ctx/multi"
cp "$work/src/hello/hello" "$work/ctx/scratch/"
printf 'FROM scratch\nCOPY hello /hello\nENTRYPOINT ["/hello"]\n' >"$work/ctx/scratch/Containerfile"
head -c 4000000 /dev/urandom >"$work/ctx/run/blob"
printf 'FROM %s\nCOPY blob /data/blob\nRUN sha256sum /data/blob > /data/sum\nRUN for i in $(seq 200); do echo $i > /tmp/$i; done\n' "$base" >"$work/ctx/run/Containerfile"
cp "$work/src/hello/hello" "$work/ctx/multi/"
printf 'FROM %s AS build\nCOPY hello /src/hello\nRUN sha256sum /src/hello > /src/sum\nFROM scratch\nCOPY --from=build /src/ /app/\n' "$base" >"$work/ctx/multi/Containerfile"

ours() { # ctx tag
  "$work/build" --context "$work/ctx/$1" --image "$reg/bench/ours-$1:$2" \
    --storage-driver "$DRIVER" --storage-root "$work/ours/root" --storage-runroot "$work/ours/run" \
    --results-dir "" >/dev/null 2>"$work/ours.log" || { cat "$work/ours.log" >&2; exit 1; }
}
theirs() { # ctx tag
  local b=(buildah --storage-driver "$DRIVER" --root "$work/theirs/root" --runroot "$work/theirs/run")
  "${b[@]}" bud --isolation chroot --tls-verify=false --format oci -q \
    -f "$work/ctx/$1/Containerfile" -t "$reg/bench/theirs-$1:$2" "$work/ctx/$1" >/dev/null 2>"$work/theirs.log" ||
    { cat "$work/theirs.log" >&2; exit 1; }
  "${b[@]}" push --tls-verify=false -q "$reg/bench/theirs-$1:$2" >/dev/null 2>>"$work/theirs.log" ||
    { cat "$work/theirs.log" >&2; exit 1; }
}

now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }

echo "machine: $(machine); buildah $(buildah --version | awk '{print $3}'); driver $DRIVER; N=$N" >&2
printf '%-8s %12s %12s %8s\n' context "step ms" "buildah ms" ratio
tot_o=0 tot_t=0
for c in scratch run multi; do
  ours "$c" warm
  theirs "$c" warm
  o=0 t=0
  for i in $(seq "$N"); do
    # Alternate the order so neither tool always runs on a warmer cache.
    if ((i % 2)); then
      s=$(now); ours "$c" "r$i"; e=$(now); o=$((o + $(ms "$s" "$e")))
      s=$(now); theirs "$c" "r$i"; e=$(now); t=$((t + $(ms "$s" "$e")))
    else
      s=$(now); theirs "$c" "r$i"; e=$(now); t=$((t + $(ms "$s" "$e")))
      s=$(now); ours "$c" "r$i"; e=$(now); o=$((o + $(ms "$s" "$e")))
    fi
  done
  # Both pushed what they built.
  "$work/crane" digest "$reg/bench/ours-$c:r$N" >/dev/null
  "$work/crane" digest "$reg/bench/theirs-$c:r$N" >/dev/null
  tot_o=$((tot_o + o)) tot_t=$((tot_t + t))
  printf '%-8s %12d %12d %8s\n' "$c" $((o / N)) $((t / N)) "$(awk -v a="$o" -v b="$t" 'BEGIN{printf "%.2f", a/b}')"
done
printf '%-8s %12d %12d %8s\n' total $((tot_o / N)) $((tot_t / N)) "$(awk -v a="$tot_o" -v b="$tot_t" 'BEGIN{printf "%.2f", a/b}')"
echo "(ms per build+push, mean of $N; ratio = step / buildah CLI, below 1 is faster)" >&2
ratio "build + push, 3 Containerfiles ($DRIVER), mean per round" "build step" "buildah CLI $(buildah --version | awk '{print $3}')" \
  "$(awk -v t="$tot_t" -v n="$N" 'BEGIN{printf "%.3f", t/n/1000}')" "$(awk -v o="$tot_o" -v n="$N" 'BEGIN{printf "%.3f", o/n/1000}')" s
