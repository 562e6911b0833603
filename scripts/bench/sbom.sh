#!/usr/bin/env bash
# Benchmark of the sbom step against the syft CLI v1.57.1 on the same
# images, pulled from the same loopback registry (crane's in-process
# registry). Wall time and peak RSS (GNU time), median of RUNS, and the
# package sets compared by (name, version, PURL).
#
# The images are assembled here:
#   layer 1  Debian 12 minbase + 21 packages (debootstrap)
#   layer 2  an npm tree (react-scripts 5.0.1 and its dependencies)
#   layer 3  a Go binary (the sbom step itself) and an app file
# "v2" keeps layers 1 and 2 and changes layer 3, as a rebuild after a
# code change would: the warm run has layers 1 and 2 in its cache.
#
# Usage: scripts/bench/sbom.sh [RUNS]   (default 3)
# Needs: root for debootstrap, network to Debian and npm the first time,
#   apt-get install -y debootstrap time; npm;
#   GOFLAGS= go install github.com/anchore/syft/cmd/syft@v1.57.1
#   GOFLAGS= go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
# BENCH_DIR keeps the assembled root file systems between runs.
set -euo pipefail

RUNS=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/scripts/bench/lib.sh"
WORK=${BENCH_DIR:-/tmp/trustline-bench-sbom}
PORT=${BENCH_PORT:-5055}
REG=127.0.0.1:$PORT
mkdir -p "$WORK/bin"
export GOFLAGS=-tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper CGO_ENABLED=1
export PATH=$PATH:$(go env GOPATH)/bin

need() { command -v "$1" >/dev/null || { echo "bench: $1 missing: $2" >&2; exit 2; }; }
need syft "GOFLAGS= go install github.com/anchore/syft/cmd/syft@v1.57.1"
need crane "GOFLAGS= go install github.com/google/go-containerregistry/cmd/crane@v0.22.1"
need debootstrap "apt-get install -y debootstrap"
need npm "apt-get install -y npm"
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing: apt-get install -y time" >&2; exit 2; }
go version -m "$(command -v syft)" | grep -q 'mod	github.com/anchore/syft	v1.57.1' || { echo "bench: syft is not v1.57.1" >&2; exit 2; }

# shellcheck source=../lib/mounts.sh
source "$ROOT/scripts/lib/mounts.sh"

echo "bench: work dir $WORK" >&2
(cd "$ROOT" && go build -o "$WORK/bin/sbom" ./steps/sbom)

# Layer 1: Debian minbase plus 21 packages.
EXTRA=ca-certificates,curl,git,openssl,libssl3,tzdata,wget,gnupg,less,procps,netbase,xz-utils,bzip2,unzip,zip,file,jq,nano,iproute2,iputils-ping,python3-minimal
if [ ! -f "$WORK/base.tar" ]; then
  safe_rm "$WORK/rootfs"
  debootstrap --variant=minbase --include="$EXTRA" bookworm "$WORK/rootfs" http://deb.debian.org/debian >&2
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb
  unmount_under "$WORK/rootfs"
  tar -C "$WORK/rootfs" --one-file-system --numeric-owner -cf "$WORK/base.tar" .
fi
# Layer 2: the npm tree.
if [ ! -f "$WORK/npm.tar" ]; then
  rm -rf "$WORK/npm" && mkdir -p "$WORK/npm/srv/app"
  (cd "$WORK/npm/srv/app" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --ignore-scripts --loglevel=error react-scripts@5.0.1 >&2)
  tar -C "$WORK/npm" --numeric-owner -cf "$WORK/npm.tar" srv
fi
# Layer 3, two versions.
for v in 1 2; do
  rm -rf "$WORK/app$v" && mkdir -p "$WORK/app$v/usr/local/bin"
  cp "$WORK/bin/sbom" "$WORK/app$v/usr/local/bin/app"
  echo "build $v" > "$WORK/app$v/usr/local/bin/VERSION"
  tar -C "$WORK/app$v" --numeric-owner -cf "$WORK/app$v.tar" usr
done

# The registry and the images.
crane registry serve --address "$REG" >/dev/null 2>&1 &
REGPID=$!
trap 'kill $REGPID 2>/dev/null || true' EXIT
for i in $(seq 50); do curl -fs "http://$REG/v2/" >/dev/null && break; sleep 0.2; done
crane append --insecure -f "$WORK/base.tar" -f "$WORK/npm.tar" -f "$WORK/app1.tar" -t "$REG/bench/app:v1" >/dev/null
crane append --insecure -f "$WORK/base.tar" -f "$WORK/npm.tar" -f "$WORK/app2.tar" -t "$REG/bench/app:v2" >/dev/null
V1=$REG/bench/app@$(crane digest --insecure "$REG/bench/app:v1")
V2=$REG/bench/app@$(crane digest --insecure "$REG/bench/app:v2")
SIZE=$(crane manifest --insecure "$V1" | python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))')
echo "bench: image $V1, $((SIZE / 1048576)) MiB compressed" >&2

# measure NAME CMD...: one timed run, "seconds KiB" appended to $WORK/NAME.times
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.out" "$@" >"$WORK/$name.log" 2>&1 || { cat "$WORK/$name.log" >&2; exit 1; }
  cat "$WORK/time.out" >> "$WORK/$name.times"
}
rm -f "$WORK"/*.times
export SYFT_CHECK_FOR_APP_UPDATE=false SYFT_REGISTRY_INSECURE_USE_HTTP=true
for r in $(seq "$RUNS"); do
  echo "bench: run $r/$RUNS" >&2
  rm -rf "$WORK/syft-cache" && export SYFT_CACHE_DIR=$WORK/syft-cache
  measure syft syft scan "registry:$V1" -q -o "cyclonedx-json=$WORK/syft.cdx.json"
  rm -rf "$WORK/tmp" "$WORK/cache" && mkdir -p "$WORK/tmp"
  measure cold "$WORK/bin/sbom" --image "$V1" --output "$WORK/ours.cdx.json" --results-dir "" --temp-dir "$WORK/tmp"
  # warm: v1 fills the cache (untimed), v2 shares layers 1 and 2.
  # (into a file: a step's --output is where it writes, never /dev/null)
  "$WORK/bin/sbom" --image "$V1" --output "$WORK/warmup.cdx.json" --results-dir "" --temp-dir "$WORK/tmp" --cache-dir "$WORK/cache" 2>/dev/null
  measure warm "$WORK/bin/sbom" --image "$V2" --output "$WORK/ours-v2.cdx.json" --results-dir "" --temp-dir "$WORK/tmp" --cache-dir "$WORK/cache"
done

python3 - "$WORK" <<'PY'
import json, statistics, sys
work = sys.argv[1]
def med(name):
    rows = [l.split() for l in open(f"{work}/{name}.times") if l.strip()]
    return statistics.median(float(r[0]) for r in rows), statistics.median(int(r[1]) for r in rows) / 1024
def pkgs(path):
    out = set()
    def walk(cs):
        for c in cs or []:
            if c.get("type") not in ("file", "operating-system", "container"):
                out.add((c.get("name"), c.get("version", ""), c.get("purl", "")))
            walk(c.get("components"))
    walk(json.load(open(path)).get("components"))
    return out
s, o = pkgs(f"{work}/syft.cdx.json"), pkgs(f"{work}/ours.cdx.json")
print("| what | wall time (median) | peak RSS (median) |")
print("|---|---|---|")
for name, label in (("syft", "syft CLI v1.57.1, cold"), ("cold", "sbom step, cold (no cache)"), ("warm", "sbom step, warm (v2: layers 1-2 cached)")):
    t, m = med(name)
    print(f"| {label} | {t:.1f} s | {m:.0f} MiB |")
print()
print(f"packages: syft {len(s)}, sbom step {len(o)}, in both {len(s & o)}")
miss, extra = sorted(s - o), sorted(o - s)
print(f"found by syft, not by the step ({len(miss)}):", *[f"  {p}" for p in miss[:30]], sep="\n")
print(f"found by the step, not by syft ({len(extra)}):", *[f"  {p}" for p in extra[:30]], sep="\n")
PY

# The rows of `make bench`'s table.
med() { # NAME FIELD: median of a field of NAME's runs (1 wall s, 2 peak RSS KiB)
  cut -d' ' -f"$2" "$WORK/$1.times" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
if [ "$RUNS" -gt 0 ]; then
  ratio "sbom, 1,684-package image, cold: wall" "sbom step" "syft v1.57.1" "$(med syft 1)" "$(med cold 1)" s
  ratio "sbom, 1,684-package image, cold: peak RSS" "sbom step" "syft v1.57.1" "$(( $(med syft 2) / 1024 ))" "$(( $(med cold 2) / 1024 ))" MiB
  ratio "sbom, 1,684-package image, warm (layers 1-2 cached): wall" "sbom step" "syft v1.57.1 (cold: it keeps no catalog)" "$(med syft 1)" "$(med warm 1)" s
fi
