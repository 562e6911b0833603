#!/usr/bin/env bash
# Whole-command comparison for the attest step (issue 6, item 10): one
# `attest attest --sign` call that signs an image and attaches three
# attestations (SLSA v1 provenance, CycloneDX SBOM, vuln report), against
# the four cosign v2.6.5 invocations that do the same (sign + 3 x attest),
# with the same cosign-made key and the same registry on 127.0.0.1
# (go-containerregistry's registry). Every run signs a fresh image.
#
#   scripts/bench/attest.sh            # N=10 rounds
#   N=20 scripts/bench/attest.sh
#
# Needs cosign v2.6.5 on PATH or in $(go env GOPATH)/bin:
#   GOFLAGS= go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5
set -euo pipefail

cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
N="${N:-10}"
export GOFLAGS="${GOFLAGS:--tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper}"
export CGO_ENABLED=1 GONOSUMDB=github.com/tektoncd/chains,github.com/tektoncd/cli

cosign="$(command -v cosign || true)"
[ -n "$cosign" ] || cosign="$(go env GOPATH)/bin/cosign"
if ! [ -x "$cosign" ]; then
  echo "cosign not found; install it: GOFLAGS= go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5" >&2
  exit 2
fi

work="$(mktemp -d)"
regpid=""
cleanup() { [ -n "$regpid" ] && kill "$regpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "building attest, registry and crane..." >&2
go build -trimpath -o "$work/" ./steps/attest github.com/google/go-containerregistry/cmd/registry github.com/google/go-containerregistry/cmd/crane

start_registry "$work"
reg="localhost:$port"

export HOME="$work/home" DOCKER_CONFIG="$work/home" TUF_ROOT="$work/home/tuf" COSIGN_PASSWORD=bench
mkdir -p "$HOME"
"$cosign" generate-key-pair --output-key-prefix "$work/cosign" >/dev/null 2>&1
key="$work/cosign.key"

td=steps/attest/testdata
push() { # push a one-layer image with unique content, print repo@digest
  local name="$1"
  mkdir -p "$work/l/$name" && echo "$name $RANDOM" >"$work/l/$name/f"
  tar -C "$work/l/$name" -cf "$work/l/$name.tar" f
  "$work/crane" append --insecure -f "$work/l/$name.tar" -t "$reg/bench/$name:latest" 2>/dev/null
}

ours() {
  "$work/attest" attest --image "$1" --key "$key" --sign --results-dir "" \
    "slsaprovenance1=$td/slsa1.json" "cyclonedx=$td/cyclonedx.json" "vuln=$td/vuln.json" 2>/dev/null
}
theirs() {
  local c=("$cosign")
  "${c[@]}" sign --key "$key" --tlog-upload=false --yes --allow-insecure-registry "$1" >/dev/null 2>&1
  "${c[@]}" attest --key "$key" --tlog-upload=false --yes --allow-insecure-registry --type slsaprovenance1 --predicate "$td/slsa1.json" "$1" >/dev/null 2>&1
  "${c[@]}" attest --key "$key" --tlog-upload=false --yes --allow-insecure-registry --type cyclonedx --predicate "$td/cyclonedx.json" "$1" >/dev/null 2>&1
  "${c[@]}" attest --key "$key" --tlog-upload=false --yes --allow-insecure-registry --type vuln --predicate "$td/vuln.json" "$1" >/dev/null 2>&1
}

echo "pushing $((2 * N + 2)) images to $reg..." >&2
declare -a A B
for i in $(seq 0 "$N"); do A[i]="$(push "ours-$i")"; B[i]="$(push "cosign-$i")"; done

# Warm up (page cache, first-run costs) on image 0, and check the work is
# real: cosign verifies what the step wrote.
ours "${A[0]}"
theirs "${B[0]}"
"$cosign" verify --key "$work/cosign.pub" --insecure-ignore-tlog --allow-insecure-registry "${A[0]}" >/dev/null 2>&1 ||
  { echo "cosign verify failed on the step's signature" >&2; exit 1; }
"$cosign" verify-attestation --key "$work/cosign.pub" --type cyclonedx --insecure-ignore-tlog --allow-insecure-registry "${A[0]}" >/dev/null 2>&1 ||
  { echo "cosign verify-attestation failed on the step's attestation" >&2; exit 1; }

now() { date +%s.%N; }
t0=$(now)
for i in $(seq 1 "$N"); do ours "${A[i]}"; done
t1=$(now)
for i in $(seq 1 "$N"); do theirs "${B[i]}"; done
t2=$(now)

awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$N" 'BEGIN {
  o = (b - a) / n; t = (c - b) / n
  printf "attest (1 call: sign + 3 attestations): %.3f s per image\n", o
  printf "cosign v2.6.5 (sign + 3 x attest):      %.3f s per image\n", t
  printf "speedup: %.1fx over %d images each\n", t / o, n
}'
ratio "attest: sign + 3 attestations, per image" "attest step (1 call)" "cosign v2.6.5 (4 calls)" \
  "$(awk -v b="$t1" -v c="$t2" -v n="$N" 'BEGIN{printf "%.3f", (c-b)/n}')" "$(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN{printf "%.3f", (b-a)/n}')" s
