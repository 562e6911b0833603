#!/usr/bin/env bash
# Whole-command benchmark of verify-policy: N images (default 100) in a
# registry on 127.0.0.1, each signed and carrying SLSA provenance (Chains'
# formatter), CycloneDX SBOM, vulnerability scan and test-result
# attestations; the policy is the default pack with trusted-task rule data.
#
# Measures verify-policy's wall time, CPU time and peak RSS (GNU time), then,
# when cosign and opa are installed, the per-image pipeline users run
# today: cosign verify + cosign verify-attestation + opa eval, one image
# after another.
#
#   scripts/bench/verify-policy.sh            # N=100 WORKERS=8
#   N=20 WORKERS=4 scripts/bench/verify-policy.sh
#   N=1000 COMPARE=0 scripts/bench/verify-policy.sh   # memory at scale, no cosign loop
set -euo pipefail

N=${N:-100}
WORKERS=${WORKERS:-8}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. scripts/bench/lib.sh
export GOFLAGS=-tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper
export CGO_ENABLED=1 GONOSUMDB=github.com/tektoncd/chains,github.com/tektoncd/cli
PATH=$PATH:$(go env GOPATH)/bin

work=$(mktemp -d)
cleanup() {
	[[ -n ${REG_PID:-} ]] && kill "$REG_PID" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(machine)" >&2
echo "building verify-policy and the benchmark registry..." >&2
go build -o "$work/verify-policy" ./steps/verify-policy
go build -o "$work/benchregistry" ./internal/verify/fixture/benchregistry

mkfifo "$work/ctl"
"$work/benchregistry" -n "$N" -dir "$work/data" -policy-dir "$root/policy" <"$work/ctl" >"$work/ready" &
REG_PID=$!
exec 3>"$work/ctl" # holds the registry open until the script ends
for _ in $(seq 600); do
	grep -q ready "$work/ready" 2>/dev/null && break
	sleep 0.5
done
host=$(awk '/ready/ {print $2}' "$work/ready")
[[ -n $host ]] || { echo "benchmark registry did not start" >&2; exit 2; }
echo "registry 127.0.0.1 at $host with $N images" >&2

d=$work/data
set +e
/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$work/verify-policy" \
	--public-key "$d/cosign.pub" --images "$d/snapshot.json" --policy "$d/policy.yaml" \
	--workers "$WORKERS" --output json="$work/report.json" --results-dir "$work/results" 2>"$work/stderr"
rc=$?
set -e
read -r wall user sys rss <"$work/time"
tail -1 "$work/stderr" >&2
echo "verify-policy: exit $rc, $N images, workers $WORKERS: ${wall}s wall, ${user}s user + ${sys}s sys CPU, $((rss / 1024)) MiB max RSS"
[[ $rc -eq 0 ]] || { cat "$work/stderr" >&2; exit 1; }

if [[ ${COMPARE:-1} == 0 ]]; then
	exit 0
fi
if ! command -v cosign >/dev/null || ! command -v opa >/dev/null; then
	echo "cosign/opa not installed: skipping the comparison (go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5 github.com/open-policy-agent/opa@v1.22.3)" >&2
	exit 0
fi

# One policy input in Conforma's shape, built from the first image's
# attestations as cosign returns them (outside the timed loop).
refs=$(python3 -c 'import json,sys; [print(c["containerImage"]) for c in json.load(open(sys.argv[1]))["components"]]' "$d/snapshot.json")
first=$(head -1 <<<"$refs")
for t in slsaprovenance1 cyclonedx vuln https://in-toto.io/attestation/test-result/v0.1; do
	cosign verify-attestation --key "$d/cosign.pub" --insecure-ignore-tlog=true --allow-http-registry=true --type "$t" "$first" 2>/dev/null
done >"$work/atts.jsonl"
python3 - "$first" "$work/atts.jsonl" >"$work/input.json" <<'PY'
import base64, json, sys
ref, path = sys.argv[1], sys.argv[2]
atts = []
for line in open(path):
    env = json.loads(line)
    atts.append({"statement": json.loads(base64.b64decode(env["payload"])), "signatures": env["signatures"]})
print(json.dumps({"image": {"ref": ref, "signatures": [{"keyid": "", "sig": "x"}], "parent": {"ref": "quay.io/trustline/base:1"}}, "attestations": atts}))
PY

# The pack's rules without their tests (opa eval would load the fixtures).
mkdir -p "$d/rego" && for f in "$root"/policy/release/*.rego; do [[ $f == *_test.rego ]] || cp "$f" "$d/rego/"; done

start=$(date +%s.%N)
for ref in $refs; do
	cosign verify --key "$d/cosign.pub" --insecure-ignore-tlog=true --allow-http-registry=true "$ref" >/dev/null 2>&1 || { echo "cosign verify failed for $ref" >&2; exit 1; }
	cosign verify-attestation --key "$d/cosign.pub" --insecure-ignore-tlog=true --allow-http-registry=true --type slsaprovenance1 "$ref" >/dev/null 2>&1 || { echo "cosign verify-attestation failed for $ref" >&2; exit 1; }
	opa eval -d "$root/policy/lib/lib.rego" -d "$d/rego" -d "$root/policy/data" -d "$d/rule_data_config.json" \
		-i "$work/input.json" '[r | some p in ["signature","provenance","trusted_task","tasks","test","sbom","cve","base_image","source"]; some r in data[p].deny]' >/dev/null 2>&1 || { echo "opa eval failed" >&2; exit 1; }
done
end=$(date +%s.%N)
echo "cosign verify + cosign verify-attestation + opa eval per image: $(python3 -c "print(f'{$end-$start:.2f}')")s for $N images"
ratio "verify-policy: $N images, default policy pack" "verify-policy" "cosign verify + verify-attestation + opa eval, per image" \
  "$(python3 -c "print(f'{$end-$start:.2f}')")" "$wall" s
