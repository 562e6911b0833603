#!/usr/bin/env bash
# Whole-pipeline benchmark (issue 9, item 6): pipelines/docker-build run by
# `trustline run pipeline` (clone, build, sbom, scans, attest, Chains'
# signing and provenance, verify-policy; every task from a bundle) against a
# plain `buildah bud` + `buildah push` of the same Containerfile, vfs
# storage for both, both pushing to the same in-process registry
# (`trustline run registry`) on 127.0.0.1.
#
# 1. Sample app (test/sample-app, FROM scratch + a static Go binary), per
#    round: a fresh registry (bundles pushed again), the pipeline cold (first
#    run into that registry) then warm (second run); buildah cold (fresh
#    storage) then warm (same storage, the image kept).
# 2. Large image (unless LARGE=0): FROM the Debian 12 root file system of
#    scripts/bench/sbom.sh (debootstrap minbase + 21 packages, pushed by
#    digest as a one-layer base), ADD its npm tree (react-scripts 5.0.1) and
#    ADD its Go binary layer: 1,684 packages. One untimed round warms the
#    registry and buildah's storage; then N rounds of pipeline (warm) and
#    buildah (warm: base image in storage). The first buildah run is also
#    reported (cold: base pulled, as the pipeline's build step does on
#    every run, its storage being an emptyDir).
#
# "after build" = PipelineRun duration - clone - build TaskRuns: sbom, scans,
# attest, verify-policy, and Chains' signing of the build TaskRun (which the
# runner does between build and sbom). "wall" is the whole command, which
# adds bundle resolution and validation before the run, and the
# PipelineRun's provenance and the records after it.
#
# Usage: scripts/bench/pipeline.sh [N]        (default 3 rounds; medians)
# Environment:
#   LARGE=0         sample app only; SAMPLE=0: large image only
#   CACHES=1        binds docker-build's optional workspaces sbom-cache (the
#                   sbom task's layer cache) and db-cache (the scan's compiled
#                   OSV index), unbound by default, to directories kept
#                   between runs; labels get "-cached"
#   SKIP_BUILD=1    do not run `make build`; use the binaries in bin/ as they are
#   BENCH_DIR       scripts/bench/sbom.sh's cache (base.tar, npm.tar, app1.tar);
#                   default /tmp/trustline-bench-sbom, filled by running sbom.sh
#   PIPELINE_BENCH_DIR  this script's work dir (default /tmp/trustline-bench-pipeline)
#   TRUSTLINE_OSV_DB    OSV database directory (default ../shared/osv)
# Needs root (buildah), apt-get install -y buildah; for the large image also
# what scripts/bench/sbom.sh needs (debootstrap, npm, syft, crane) unless
# BENCH_DIR already holds its tars; python3, git, go.
set -euo pipefail

N=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
WORK=${PIPELINE_BENCH_DIR:-/tmp/trustline-bench-pipeline}
BENCH_DIR=${BENCH_DIR:-/tmp/trustline-bench-sbom}
LARGE=${LARGE:-1}
SAMPLE=${SAMPLE:-1}
CACHES=${CACHES:-0}
V=""
[ "$CACHES" = 1 ] && V=-cached
export GOFLAGS=-tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper CGO_ENABLED=1
export GONOSUMDB=github.com/tektoncd/chains,github.com/tektoncd/cli
export PATH=$PATH:$(go env GOPATH)/bin

. "$ROOT/scripts/bench/lib.sh"
die() { echo "bench: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (buildah and the build step need it)"
command -v buildah >/dev/null || die "buildah missing: apt-get install -y buildah"
command -v python3 >/dev/null || die "python3 missing"
OSV=${TRUSTLINE_OSV_DB:-$ROOT/../shared/osv}
[ -d "$OSV" ] || die "no OSV database at $OSV: set TRUSTLINE_OSV_DB"
OSV=$(cd "$OSV" && pwd)

# shellcheck source=../lib/mounts.sh
source "$ROOT/scripts/lib/mounts.sh"
# shellcheck source=../lib/registry.sh
source "$ROOT/scripts/lib/registry.sh"

# Only ever empty a directory this script made.
if [ -d "$WORK" ] && [ -n "$(ls -A "$WORK")" ]; then
	[ -f "$WORK/.trustline-bench-pipeline" ] || die "$WORK is not empty and not this script's"
	for d in "$WORK"/buildah-*; do
		[ -d "$d" ] && buildah --storage-driver vfs --root "$d/root" --runroot "$d/run" rm --all >/dev/null 2>&1 || true
	done
	for d in "$WORK"/* "$WORK"/.[!.]*; do
		[ "$(basename "$d")" = large-src ] || safe_rm "$d"
	done
fi
mkdir -p "$WORK/bin" "$WORK/logs"
touch "$WORK/.trustline-bench-pipeline"
TIMES=$WORK/times.tsv
: >"$TIMES"

# The binaries: `make build`, then a private copy so that another build of
# bin/ during the benchmark does not change what is measured.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
	echo "bench: make build" >&2
	make -s build >&2
fi
cp bin/* "$WORK/bin/"
BIN=$WORK/bin
T=$BIN/trustline

REGISTRY_PID=""
cleanup() {
	[ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null || true
	for d in "$WORK"/buildah-*; do
		[ -d "$d" ] && buildah --storage-driver vfs --root "$d/root" --runroot "$d/run" rm --all >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT
export DOCKER_CONFIG="$WORK/docker" REGISTRY_AUTH_FILE="$WORK/docker/config.json"
mkdir -p "$DOCKER_CONFIG" && echo '{}' >"$DOCKER_CONFIG/config.json"

now() { date +%s%N; }
load() { cut -d' ' -f1 /proc/loadavg; }

# registry_start: a fresh in-memory registry, the task bundles pushed to it,
# and the policy trusting exactly them (as scripts/demo.sh does).
registry_start() {
	[ -n "$REGISTRY_PID" ] && { kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true; }
	start_trustline_registry "$T" "$WORK"
	REG=$REGISTRY_ADDR
	REPO=$REG/bench
	local trusted="$WORK/policy/trusted_tasks.yaml"
	mkdir -p "$WORK/policy"
	push_task_bundles "$T" "$REPO" "$trusted" >/dev/null
	sed "${BUNDLE_SED_ARGS[@]}" pipelines/docker-build/0.1/docker-build.yaml >"$WORK/pipeline.yaml"
	release_policy "$ROOT" "$trusted" >"$WORK/policy/policy.yaml"
	cp "$WORK/keys/cosign.pub" "$WORK/policy/cosign.pub"
}

# pipeline LABEL SRC IMAGE: one timed `trustline run pipeline`; appends
# "LABEL wall_ms load_before load_after log" to $TIMES.
pipeline() {
	local label=${1/pipeline/pipeline$V} src=$2 image=$3 out l0 s e rc cache=()
	out=$WORK/runs/$label
	[ "$CACHES" = 1 ] && { mkdir -p "$WORK/sbom-cache" "$WORK/db-cache"; cache=(-w "sbom-cache=$WORK/sbom-cache" -w "db-cache=$WORK/db-cache"); }
	safe_rm "$out" && mkdir -p "$out/source"
	l0=$(load)
	s=$(now)
	set +e
	COSIGN_PASSWORD="" "$T" run pipeline --bin-dir "$BIN" --key "$WORK/keys/cosign.key" --secret "signing-secrets=$WORK/keys" \
		--build-type https://tekton.dev/chains/v2/slsa-tekton --output "$out/run" \
		-p "git-url=file://$src" -p "output-image=$image" -p "policy-configuration=$WORK/policy/policy.yaml" \
		-w "source=$out/source" -w "signing-key=$WORK/keys" -w "keys=$WORK/keys" -w "policy=$WORK/policy" -w "osv-db=$OSV" "${cache[@]}" \
		"$WORK/pipeline.yaml" >"$WORK/logs/$label.log" 2>&1
	rc=$?
	set -e
	e=$(now)
	# Exit 1 is a policy or scan verdict: every task ran and is timed.
	[ "$rc" -le 1 ] && grep -q '^PipelineRun .* in ' "$WORK/logs/$label.log" ||
		{ tail -30 "$WORK/logs/$label.log" >&2; die "pipeline $label failed (exit $rc)"; }
	printf '%s\t%d\t%s\t%s\t%s\n' "$label" $(((e - s) / 1000000)) "$l0" "$(load)" "$WORK/logs/$label.log" >>"$TIMES"
	echo "bench: $label $(((e - s) / 1000000)) ms (exit $rc, load $l0)" >&2
	safe_rm "$out/source"
}

# plain LABEL STORE CTX IMAGE: buildah bud then push, timed separately;
# appends "LABEL total_ms load_before load_after - bud_ms push_ms".
plain() {
	local label=$1 store=$WORK/buildah-$2 ctx=$3 image=$4 l0 s m e
	local b=(buildah --storage-driver vfs --root "$store/root" --runroot "$store/run")
	l0=$(load)
	s=$(now)
	"${b[@]}" bud --isolation chroot --tls-verify=false --format oci -q -f "$ctx/Containerfile" -t "$image" "$ctx" >"$WORK/logs/$label.log" 2>&1 ||
		{ tail -20 "$WORK/logs/$label.log" >&2; die "buildah bud $label failed"; }
	m=$(now)
	"${b[@]}" push --tls-verify=false -q "$image" >>"$WORK/logs/$label.log" 2>&1 ||
		{ tail -20 "$WORK/logs/$label.log" >&2; die "buildah push $label failed"; }
	e=$(now)
	printf '%s\t%d\t%s\t%s\t-\t%d\t%d\n' "$label" $(((e - s) / 1000000)) "$l0" "$(load)" $(((m - s) / 1000000)) $(((e - m) / 1000000)) >>"$TIMES"
	echo "bench: $label $(((e - s) / 1000000)) ms (bud $(((m - s) / 1000000)), push $(((e - m) / 1000000)); load $l0)" >&2
}

gitrepo() { # DIR: commit everything in DIR
	(cd "$1" && { [ -d .git ] || git init -q -b main; } && git add -A &&
		git -c user.name=bench -c user.email=bench@trustline.invalid -c commit.gpgsign=false -c core.compression=1 \
			commit -q --allow-empty -m bench)
}

echo "bench: machine $(machine); buildah $(buildah --version | awk '{print $3}'); N=$N" >&2

mkdir -p "$WORK/keys"
COSIGN_PASSWORD="" "$T" key generate --dir "$WORK/keys" >/dev/null 2>&1
: >"$WORK/keys/cosign.password"

# The sample app, as scripts/demo.sh makes it.
SAMPLE_SRC=$WORK/sample-app
cp -r test/sample-app "$SAMPLE_SRC"
(cd "$SAMPLE_SRC" && GOFLAGS="" GOWORK=off CGO_ENABLED=0 go build -trimpath -o sample-app .)
gitrepo "$SAMPLE_SRC"

for r in $(seq "$N"); do
	[ "$SAMPLE" != 0 ] || break
	echo "bench: sample app, round $r/$N" >&2
	registry_start
	pipeline "sample-pipeline-cold-$r" "$SAMPLE_SRC" "$REPO/sample-app:cold-$r"
	pipeline "sample-pipeline-warm-$r" "$SAMPLE_SRC" "$REPO/sample-app:warm-$r"
	safe_rm "$WORK/buildah-sample"
	plain "sample-buildah-cold-$r" sample "$SAMPLE_SRC" "$REPO/plain-sample-app:cold-$r"
	plain "sample-buildah-warm-$r" sample "$SAMPLE_SRC" "$REPO/plain-sample-app:warm-$r"
	buildah --storage-driver vfs --root "$WORK/buildah-sample/root" --runroot "$WORK/buildah-sample/run" rm --all >/dev/null 2>&1 || true
	safe_rm "$WORK/buildah-sample"
done

if [ "$LARGE" != 0 ]; then
	# The large image's layers, from scripts/bench/sbom.sh's cache; sbom.sh
	# assembles them when missing (its own comparison then needs RUNS > 0,
	# so its exit status with RUNS=0 is not ours to judge).
	if [ ! -f "$BENCH_DIR/base.tar" ] || [ ! -f "$BENCH_DIR/npm.tar" ] || [ ! -f "$BENCH_DIR/app1.tar" ]; then
		echo "bench: assembling the large image's layers with scripts/bench/sbom.sh" >&2
		BENCH_DIR=$BENCH_DIR scripts/bench/sbom.sh 0 >&2 || true
	fi
	for f in base.tar npm.tar app1.tar; do [ -f "$BENCH_DIR/$f" ] || die "$BENCH_DIR/$f missing after scripts/bench/sbom.sh"; done
	command -v crane >/dev/null || die "crane missing: GOFLAGS= go install github.com/google/go-containerregistry/cmd/crane@v0.22.1"

	registry_start
	echo "bench: large image: pushing the Debian base to $REG" >&2
	crane append --insecure --oci-empty-base -f "$BENCH_DIR/base.tar" -t "$REG/bench/debian:12" >/dev/null 2>&1
	crane mutate --insecure --set-platform linux/amd64 -e PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		-t "$REG/bench/debian:12" "$REG/bench/debian:12" >/dev/null 2>&1
	BASE=$REG/bench/debian@$(crane digest --insecure "$REG/bench/debian:12")

	# The context: the two tars (ADD unpacks them: layers 2 and 3 of
	# sbom.sh's image) in a Git repository, kept between runs of this script.
	LSRC=$WORK/large-src
	mkdir -p "$LSRC"
	for f in npm.tar app1.tar; do
		cmp -s "$BENCH_DIR/$f" "$LSRC/$f" || cp "$BENCH_DIR/$f" "$LSRC/$f"
	done
	printf 'FROM %s\nADD npm.tar /\nADD app1.tar /\nENTRYPOINT ["/usr/local/bin/app"]\n' "$BASE" >"$LSRC/Containerfile"
	echo "bench: large image: committing its context ($(du -sh "$LSRC" --exclude=.git | cut -f1))" >&2
	gitrepo "$LSRC"

	echo "bench: large image, untimed warm-up (pipeline) and buildah cold" >&2
	pipeline "large-pipeline-warmup" "$LSRC" "$REPO/large:warmup"
	safe_rm "$WORK/buildah-large"
	plain "large-buildah-cold-1" large "$LSRC" "$REPO/plain-large:cold"
	for r in $(seq "$N"); do
		echo "bench: large image, round $r/$N" >&2
		pipeline "large-pipeline-warm-$r" "$LSRC" "$REPO/large:warm-$r"
		plain "large-buildah-warm-$r" large "$LSRC" "$REPO/plain-large:warm-$r"
	done
	# What was built: the package count of the pipeline's SBOM.
	grep -h -o 'packages: [0-9,]*\|[0-9,]* packages' "$WORK"/runs/large-pipeline-warm-"$N"/run/work/*-sbom/logs/*.log 2>/dev/null | head -3 >&2 || true
fi

python3 - "$TIMES" <<'PY'
import os, re, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
UNIT = {"h": 3600e3, "m": 60e3, "s": 1e3, "ms": 1, "µs": 1e-3, "us": 1e-3, "ns": 1e-6}
def dur(s):
    return sum(float(v) * UNIT[u] for v, u in re.findall(r"([0-9.]+)(ms|µs|us|ns|h|m|s)", s))
TASKS = ["clone", "build", "sbom", "scan-vulnerabilities", "scan-config", "attest", "verify-policy"]
def parse(log):
    t, total, verdict = {}, None, ""
    for line in open(log, encoding="utf-8", errors="replace"):
        m = re.match(r"^(\S+)\s+(succeeded|FAILED) in (\S+?)(:|$)", line.rstrip())
        if m and m.group(1) in TASKS:
            t[m.group(1)] = dur(m.group(3))
        m = re.match(r"^PipelineRun \S+: (\S+) .* in (\S+)$", line.rstrip())
        if m:
            verdict, total = m.group(1), dur(m.group(2))
        m = re.match(r"^policy verdict: (\S+)", line)
        if m:
            verdict += "/" + m.group(1)
    t["PipelineRun"] = total
    t["after build"] = total - t.get("clone", 0) - t.get("build", 0)
    return t, verdict
groups = {}
for r in rows:
    key = re.sub(r"-(\d+|warmup)$", "", r[0])
    groups.setdefault(key, []).append(r)
def med(xs):
    return statistics.median(xs) if xs else float("nan")
print("| what | runs | wall ms (median) | load avg (1 min, at start) |")
print("|---|---|---|---|")
for k, rs in groups.items():
    loads = [float(r[2]) for r in rs]
    extra = ""
    if len(rs[0]) > 5:
        extra = f" (bud {med([int(r[5]) for r in rs]):.0f} + push {med([int(r[6]) for r in rs]):.0f})"
    print(f"| {k} | {len(rs)} | {med([int(r[1]) for r in rs]):.0f}{extra} | {min(loads):.1f}–{max(loads):.1f} |")
print()
for k, rs in groups.items():
    if "pipeline" not in k or k.endswith("warmup"):
        continue
    parsed = [parse(r[4]) for r in rs]
    cols = TASKS + ["PipelineRun", "after build"]
    each = ", ".join("%.0f" % p[0]["after build"] for p in parsed)
    print(f"{k}: per task, ms, median of {len(rs)} (after build, each run: {each} ms; verdict {parsed[-1][1]})")
    print("| " + " | ".join(cols) + " | wall |")
    print("|" + "---|" * (len(cols) + 1))
    print("| " + " | ".join(f"{med([p[0].get(c, 0) for p in parsed]):.0f}" for c in cols) + f" | {med([int(r[1]) for r in rs]):.0f} |")
    print()
    # The row of `make bench`'s table: what the pipeline adds after its
    # build against a plain buildah bud + push of the same context.
    plain = groups.get(re.sub(r"-pipeline(-cached)?-", "-buildah-", k).replace("-buildah-cold", "-buildah-warm"))
    summary = os.environ.get("BENCH_SUMMARY")
    if plain and summary:
        after = med([p[0]["after build"] for p in parsed]) / 1000
        bud = med([int(r[1]) for r in plain]) / 1000
        load = max(float(r[2]) for r in rs)
        with open(summary, "a") as f:
            f.write(f"pipeline after the build, {k}\tdocker-build (sbom, scans, attest, verify-policy, Chains)\tbuildah bud + push, warm\t{bud:.2f}\t{after:.2f}\ts\t{load}\n")
PY
# buildah's vfs storage of the large image holds several GiB.
safe_rm "$WORK"/buildah-*
echo "bench: logs and TaskRun records in $WORK (times.tsv, logs/, runs/)" >&2
