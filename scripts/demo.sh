#!/usr/bin/env bash
# make demo: trustline's main job on one machine.
#
# Starts an in-memory OCI registry on 127.0.0.1 (trustline run registry),
# generates a throwaway cosign key, pushes every task of the library as a
# Tekton bundle, makes a Git repository of the sample application
# (test/sample-app), and runs the secure pipeline on it with
# `trustline run pipeline`: clone, build, SBOM, scans, attestations, Tekton
# Chains' provenance and signature, and the policy verdict. It ends by
# saying where the SBOM, the scan report and the provenance are.
#
# Usage: scripts/demo.sh [--registry HOST:PORT] [--out DIR] [--fixed] [--bin-dir DIR]
#   --registry HOST:PORT  push to this registry instead of an in-process one
#                         (credentials from DOCKER_CONFIG / ~/.docker)
#   --out DIR             where everything is written (default out/demo)
#   --fixed               build the sample app with golang.org/x/text v0.3.8,
#                         which fixes GO-2022-1059 (needs the Go module proxy)
#   --bin-dir DIR         trustline and the step binaries (default bin/)
# Environment: TRUSTLINE_OSV_DB, the OSV database directory (<Ecosystem>/all.zip);
#   by default test/osv, the sample application's slice of osv.dev's Go
#   database (see test/osv/README.md); `trustline db fetch DIR` gets the
#   full exports.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

REGISTRY=""
OUT="out/demo"
FIXED=0
BIN="$ROOT/bin"
while [ $# -gt 0 ]; do
	case "$1" in
	--registry) REGISTRY=${2:?--registry needs HOST:PORT}; shift 2 ;;
	--registry=*) REGISTRY=${1#*=}; shift ;;
	--out) OUT=${2:?--out needs DIR}; shift 2 ;;
	--out=*) OUT=${1#*=}; shift ;;
	--fixed) FIXED=1; shift ;;
	--bin-dir) BIN=$(cd "${2:?--bin-dir needs DIR}" && pwd); shift 2 ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "demo: $*" >&2; exit 2; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

T="$BIN/trustline"
[ -x "$T" ] || die "$T is missing: run make build (make demo does)"
command -v go >/dev/null || die "go is needed to build the sample application"
command -v git >/dev/null || die "git is needed to make the sample repository"

OSV=${TRUSTLINE_OSV_DB:-$ROOT/test/osv}
[ -d "$OSV" ] || die "no OSV database at $OSV: set TRUSTLINE_OSV_DB to a directory holding <Ecosystem>/all.zip (trustline db fetch DIR makes one)"
OSV=$(cd "$OSV" && pwd)
echo "OSV database: $OSV" >&2

OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
# Only ever empty a directory an earlier demo made.
if [ -n "$(ls -A "$OUT")" ]; then
	[ -f "$OUT/.trustline-demo" ] || die "$OUT is not empty and not an earlier demo's: choose another --out"
	# shellcheck source=lib/mounts.sh
	source "$ROOT/scripts/lib/mounts.sh"
	safe_rm "${OUT:?}"/* || die "$OUT still has mounts below it (an earlier build's?): unmount them first"
	rm -f "$OUT/.trustline-demo"
fi
touch "$OUT/.trustline-demo"
mkdir -p "$OUT/keys" "$OUT/policy" "$OUT/workspace/source" "$OUT/workspace/db-cache"

# shellcheck source=lib/registry.sh
source "$ROOT/scripts/lib/registry.sh"

step "registry"
if [ -z "$REGISTRY" ]; then
	# Set first, so that a registry which fails to come up is stopped too.
	trap 'kill "${REGISTRY_PID:-}" 2>/dev/null || true' EXIT
	start_trustline_registry "$T" "$OUT"
	REGISTRY=$REGISTRY_ADDR
	echo "in-process registry on $REGISTRY (in memory; stops with the demo)" >&2
else
	echo "using registry $REGISTRY" >&2
fi
REPO="$REGISTRY/trustline-demo"

step "throwaway signing key"
COSIGN_PASSWORD="" "$T" key generate --dir "$OUT/keys"
# Chains' signing-secrets layout, which the attest task reads.
: >"$OUT/keys/cosign.password"
export COSIGN_PASSWORD=""

step "sample application repository"
SRC="$OUT/sample-app"
cp -r test/sample-app "$SRC"
(
	cd "$SRC"
	export GOFLAGS="" GOWORK=off CGO_ENABLED=0
	if [ "$FIXED" = 1 ]; then
		go get golang.org/x/text@v0.3.8 >/dev/null
		echo "golang.org/x/text upgraded to v0.3.8 (fixes GO-2022-1059)" >&2
	fi
	go build -trimpath -o sample-app .
	git init -q -b main
	git add -A
	git -c user.name=trustline-demo -c user.email=demo@trustline.invalid \
		-c commit.gpgsign=false commit -q -m "sample app"
	echo "$(git rev-parse HEAD) in $SRC (static binary built with $(go env GOVERSION))" >&2
)

step "task bundles"
# Every task of the library, pushed as a Tekton bundle; the pipeline's
# bundle references are rewritten to these digests and the policy trusts
# exactly them.
TRUSTED="$OUT/policy/trusted_tasks.yaml"
push_task_bundles "$T" "$REPO" "$TRUSTED" >&2

step "pipeline"
PIPELINE=pipelines/docker-build/0.1/docker-build.yaml
missing=""
if [ -f "$PIPELINE" ]; then
	for t in $(grep -o 'task-[a-z0-9-]*:[0-9.]*' "$PIPELINE" | sort -u); do
		n=${t#task-}
		f="tasks/${n%%:*}/${n#*:}/${n%%:*}.yaml"
		if [ ! -f "$f" ]; then
			missing="$missing ${n%%:*}"
		elif ! "$T" validate --tekton-only "$f" >"$OUT/validate-${n%%:*}.log" 2>&1; then
			missing="$missing ${n%%:*} (invalid for Tekton: $(head -1 "$OUT/validate-${n%%:*}.log"))"
		fi
	done
else
	missing=" (the pipeline itself)"
fi
if [ -n "$missing" ]; then
	echo "pipelines/docker-build cannot run yet, tasks missing or invalid:$missing" >&2
	PIPELINE=test/e2e/testdata/local-build.yaml
	echo "running $PIPELINE instead (the tasks that exist)" >&2
fi
sed "${BUNDLE_SED_ARGS[@]}" "$PIPELINE" >"$OUT/pipeline.yaml"
echo "$PIPELINE with bundle references to $REPO, in $OUT/pipeline.yaml" >&2

# The release policy: trustline's pack, trusting the bundles just pushed.
release_policy "$ROOT" "$TRUSTED" >"$OUT/policy/policy.yaml"
cp "$OUT/keys/cosign.pub" "$OUT/policy/cosign.pub"

IMAGE="$REPO/sample-app:demo"
params=(-p "git-url=file://$SRC" -p "output-image=$IMAGE")
if grep -q 'name: policy-configuration' "$OUT/pipeline.yaml"; then params+=(-p "policy-configuration=$OUT/policy/policy.yaml"); fi
workspaces=(-w "source=$OUT/workspace/source" -w "signing-key=$OUT/keys" -w "keys=$OUT/keys" -w "policy=$OUT/policy")
# Workspaces and params that only the full pipeline declares.
if grep -q 'name: osv-db' "$OUT/pipeline.yaml"; then workspaces+=(-w "osv-db=$OSV"); fi
if grep -q 'name: db-cache' "$OUT/pipeline.yaml"; then workspaces+=(-w "db-cache=$OUT/workspace/db-cache"); fi
if grep -q 'name: sbom-cache' "$OUT/pipeline.yaml"; then mkdir -p "$OUT/workspace/sbom-cache"; workspaces+=(-w "sbom-cache=$OUT/workspace/sbom-cache"); fi

step "trustline run pipeline"
# slsa-tekton: the PipelineRun's provenance records each TaskRun (its
# labels and results), which the policy's required-tasks and test rules read.
set +e
"$T" run pipeline --bin-dir "$BIN" --key "$OUT/keys/cosign.key" --secret "signing-secrets=$OUT/keys" \
	--build-type https://tekton.dev/chains/v2/slsa-tekton \
	--output "$OUT/run" "${params[@]}" "${workspaces[@]}" "$OUT/pipeline.yaml"
rc=$?
set -e
[ -f "$OUT/run/results.json" ] || die "the pipeline did not run (exit $rc)"
json() { sed -n "s/^ *\"$1\": *\"\(.*\)\",\{0,1\}$/\1/p" "$OUT/run/results.json"; }
DIGEST=$(json IMAGE_DIGEST)
GIT_URL=$(json CHAINS-GIT_URL)
GIT_COMMIT=$(json CHAINS-GIT_COMMIT)
[ -n "$DIGEST" ] || die "the pipeline built no image (exit $rc)"
REF="$REPO/sample-app@$DIGEST"

step "release gate: verify-policy on what is in the registry now"
# Tekton Chains signs the PipelineRun's provenance only once the run has
# finished, so the policy sees the whole pipeline here, after it, as a
# deploy gate (or Konflux's integration test) does.
set +e
"$T" run task --bin-dir "$BIN" --output "$OUT/gate" \
	-p "IMAGES={\"components\":[{\"name\":\"sample-app\",\"containerImage\":\"$REF\",\"source\":{\"git\":{\"url\":\"$GIT_URL\",\"revision\":\"$GIT_COMMIT\"}}}]}" \
	-p "POLICY_CONFIGURATION=$OUT/policy/policy.yaml" \
	-w "keys=$OUT/keys" -w "policy=$OUT/policy" \
	"$REPO/task-verify-policy:0.1" 2>"$OUT/gate.log"
gate=$?
set -e
cat "$OUT"/gate/work/*/logs/*.log 2>/dev/null | grep -v '^ *$' | tail -40 >&2 || true

step "where to find what was made"
SBOM=$(ls "$OUT"/workspace/source/*sbom* "$OUT"/workspace/source/*.cdx.json "$OUT"/workspace/source/*.spdx.json 2>/dev/null | sort -u | tr '\n' ' ' || true)
REPORTS=$(ls "$OUT"/workspace/source/*scan* "$OUT"/workspace/source/*.sarif* 2>/dev/null | sort -u | tr '\n' ' ' || true)
[ -n "$SBOM" ] || SBOM="attached to the image in the registry (see the log of the sbom step in $OUT/run/work/)"
[ -n "$REPORTS" ] || REPORTS="in the logs of the scan steps, $OUT/run/work/*-scan-*/logs/"
PROV=$(ls "$OUT"/run/work/*.provenance.intoto.json "$OUT"/run/work/*/*.provenance.intoto.json 2>/dev/null | tr '\n' ' ' || true)
cat >&2 <<SUMMARY
image            $REF (tag sample-app:demo)
signature        $REPO/sample-app:sha256-${DIGEST#sha256:}.sig
attestations     $REPO/sample-app:sha256-${DIGEST#sha256:}.att (provenance, and what the attest task attached)
provenance       $PROV
SBOM             $SBOM
scan reports     $REPORTS
PipelineRun      $OUT/run/pipelinerun.yaml (TaskRuns in $OUT/run/taskruns/, step logs in $OUT/run/work/<taskrun>/logs/)
policy           $OUT/policy/policy.yaml, public key $OUT/keys/cosign.pub
release gate     $OUT/gate/ (log $OUT/gate.log)
SUMMARY
case $gate in
0) echo "policy verdict: PASS: $REF may be released" >&2 ;;
1) echo "policy verdict: FAIL: $REF must not be released (violations above)" >&2 ;;
*) echo "demo: the release gate could not decide (exit $gate, see $OUT/gate.log)" >&2; exit "$gate" ;;
esac
if [ "$rc" -gt 1 ]; then
	echo "demo: the pipeline could not run to its end (exit $rc)" >&2
	exit "$rc"
fi
