#!/usr/bin/env bash
# Benchmark of the prefetch step beside the package managers' own
# downloads, cold (empty caches) and warm (the prefetch step's
# content-addressed cache, or the package manager's own cache, filled by an
# earlier run):
#   gomod  the sample application (test/sample-app) against `go mod download`
#   npm    a lockfile of about 1,400 packages (react-scripts 5.0.1, resolved
#          once with `npm install --package-lock-only`) against `npm ci
#          --ignore-scripts` (which also unpacks into node_modules)
# Both fetch from the real Go module proxy and npm registry (GOPROXY and
# the npm registry as configured on the machine). Wall time, median of RUNS.
#
# Usage: scripts/bench/prefetch.sh [RUNS]   (default 3)
# Needs: go, npm, network to the Go module proxy and the npm registry.
# BENCH_DIR keeps the resolved lockfile between runs.
set -euo pipefail

RUNS=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${BENCH_DIR:-/tmp/trustline-bench-prefetch}
mkdir -p "$WORK/bin"
export GOFLAGS=-tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper CGO_ENABLED=1
(cd "$ROOT" && go build -o "$WORK/bin/prefetch" ./steps/prefetch)
P="$WORK/bin/prefetch"

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>"$WORK/last.log" || { cat "$WORK/last.log" >&2; exit 2; }; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The npm project: resolved once, kept.
NPM="$WORK/npm-app"
if [ ! -f "$NPM/package-lock.json" ]; then
	mkdir -p "$NPM"
	(cd "$NPM" && echo '{"name":"bench","version":"1.0.0","dependencies":{"react-scripts":"5.0.1"}}' >package.json &&
		npm install --package-lock-only --ignore-scripts --no-audit --no-fund >/dev/null)
fi
PKGS=$(grep -c '"integrity":' "$NPM/package-lock.json" || true)
echo "bench: npm lockfile with $PKGS packages pinned by integrity" >&2

run_round() {
	local kind=$1 r=$2 tmp="$WORK/round"
	rm -rf "$tmp"; mkdir -p "$tmp"
	case $kind in
	gomod-prefetch-cold) ms "$P" --input gomod --source "$ROOT/test/sample-app" --output-dir "$tmp/out" --results-dir "$tmp/res" ;;
	gomod-prefetch-warm) ms "$P" --input gomod --source "$ROOT/test/sample-app" --output-dir "$tmp/out" --results-dir "$tmp/res" --cache-dir "$WORK/cache-go" ;;
	gomod-download-cold) (cd "$ROOT/test/sample-app" && GOFLAGS= GOMODCACHE="$tmp/modcache" ms go mod download); chmod -R u+w "$tmp" ;;
	gomod-download-warm) (cd "$ROOT/test/sample-app" && GOFLAGS= GOMODCACHE="$WORK/modcache-warm" ms go mod download) ;;
	npm-prefetch-cold) ms "$P" --input npm --source "$NPM" --output-dir "$tmp/out" --results-dir "$tmp/res" ;;
	npm-prefetch-warm) ms "$P" --input npm --source "$NPM" --output-dir "$tmp/out" --results-dir "$tmp/res" --cache-dir "$WORK/cache-npm" ;;
	npm-ci-cold) cp "$NPM"/package*.json "$tmp/" && (cd "$tmp" && npm_config_cache="$tmp/npmcache" ms npm ci --ignore-scripts --no-audit --no-fund) ;;
	npm-ci-warm) cp "$NPM"/package*.json "$tmp/" && (cd "$tmp" && npm_config_cache="$WORK/npmcache-warm" ms npm ci --ignore-scripts --no-audit --no-fund --prefer-offline) ;;
	esac
}

# Fill the warm caches once, untimed.
rm -rf "$WORK/round"; mkdir -p "$WORK/round"
"$P" --input gomod --source "$ROOT/test/sample-app" --output-dir "$WORK/round/g" --results-dir "$WORK/round/r1" --cache-dir "$WORK/cache-go" 2>/dev/null
"$P" --input npm --source "$NPM" --output-dir "$WORK/round/n" --results-dir "$WORK/round/r2" --cache-dir "$WORK/cache-npm" 2>/dev/null
(cd "$ROOT/test/sample-app" && GOFLAGS= GOMODCACHE="$WORK/modcache-warm" go mod download)
cp "$NPM"/package*.json "$WORK/round/" && (cd "$WORK/round" && npm_config_cache="$WORK/npmcache-warm" npm ci --ignore-scripts --no-audit --no-fund >/dev/null 2>&1)

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), npm $(npm --version)"
printf '%-22s %s\n' "what" "median ms (runs)"
for kind in gomod-prefetch-cold gomod-download-cold gomod-prefetch-warm gomod-download-warm npm-prefetch-cold npm-ci-cold npm-prefetch-warm npm-ci-warm; do
	times=()
	for r in $(seq "$RUNS"); do times+=("$(run_round "$kind" "$r")"); done
	printf '%-22s %s (%s)\n' "$kind" "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
done
rm -rf "$WORK/round"
