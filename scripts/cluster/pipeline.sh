#!/usr/bin/env bash
# scripts/cluster/pipeline.sh: the library itself on the cluster (after
# tekton.sh and chains.sh), as a user runs it.
#
# 1. Publishes a copy of the library (catalog.yaml, tasks/, pipelines/) to
#    the cluster's registry with `trustline catalog publish`: step images
#    built FROM scratch, one signed bundle per task version and the
#    pipeline's bundle, digests pinned in the copy.
# 2. Serves a Git repository of the sample application (test/sample-app)
#    over smart HTTP (test/cluster/gitserver) on the bridge address.
# 3. Runs the docker-build pipeline referenced by its bundle (Tekton's
#    bundles resolver), with Chains' signing-secrets as the signing key, and
#    checks that every task succeeded.
# 4. Waits until Chains has signed the PipelineRun, which puts the image's
#    signature and the PipelineRun's SLSA provenance beside the image, then
#    runs the release gate on what Chains wrote: verify-policy from the host
#    and as a TaskRun of the published verify-policy bundle, with the
#    trusted tasks of the published catalog; `cosign verify` and `cosign
#    verify-attestation` as a user would.
# 5. Installs the deploy gate from deploy/ and deploys the signed image.
# 6. Tampered images, each refused by the release gate and, where it is
#    about deploying, by the deploy gate: provenance from another run, an
#    image re-pushed to the tag, an unsigned image, provenance naming an
#    untrusted task, a signature removed.
# Before the pipeline runs, every task, the pipeline and the PaC
# PipelineRuns go through Tekton's admission webhook (server-side dry run).
#
# Its work directory is $STATE/pipeline; the outputs of each step are kept
# there for a failing run.
. "$(dirname "$0")/lib.sh"

running_cluster
T=$CLUSTER_ROOT/bin/trustline
for b in trustline verify-policy; do
	[ -x "$CLUSTER_ROOT/bin/$b" ] || die "$CLUSTER_ROOT/bin/$b is missing: run make build"
done
[ -f "$STATE/pki/cosign.key" ] || die "no signing key in $STATE/pki: scripts/cluster/chains.sh first"
COSIGN_PASSWORD=$(cat "$STATE/pki/cosign.password")
export COSIGN_PASSWORD
W=$STATE/pipeline
rm -rf "$W" && mkdir -p "$W"
T0=$(date +%s)

# --- 1. publish ------------------------------------------------------------------
LIB=$W/library
mkdir -p "$LIB"
(cd "$CLUSTER_ROOT" && git ls-files -z -co --exclude-standard -- catalog.yaml tasks pipelines | tar --null -T - -cf -) |
	tar -xf - -C "$LIB"
COMMIT=$(git -C "$CLUSTER_ROOT" rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)
REPO=$REGISTRY/trustline
timed publish "$T" catalog publish --root "$LIB" --registry "$REPO" --insecure --bin "$CLUSTER_ROOT/bin" \
	--key "$STATE/pki/cosign.key" --commit "$COMMIT" --source https://github.com/trustline-dev/trustline \
	>"$W/publish.txt" 2>"$W/publish.log" || { tail -20 "$W/publish.log" >&2; die "trustline catalog publish failed"; }
# publish records every bundle it pushed in the copy's catalog.yaml.
PIPELINE_BUNDLE=$(grep -o "$REPO/pipeline-docker-build:[^ \"']*@sha256:[0-9a-f]\{64\}" "$LIB/catalog.yaml" | head -1)
[ -n "$PIPELINE_BUNDLE" ] || { cat "$W/publish.txt" >&2; die "no pipeline bundle recorded in $LIB/catalog.yaml"; }
if grep -rn 'sha256:0\{64\}' "$LIB/tasks" "$LIB/pipelines" >&2; then die "publish left all-zero digests"; fi
"$T" catalog trusted-tasks --catalog "$LIB/catalog.yaml" --output "$W/trusted-tasks.yaml"
log "library published to $REPO in $(($(date +%s) - T0))s: pipeline bundle $PIPELINE_BUNDLE"

# --- 2. the sample application's repository, served over HTTP ----------------------
t=$(date +%s)
SRC=$W/sample-app
cp -r "$CLUSTER_ROOT/test/sample-app" "$SRC"
(
	cd "$SRC"
	# The image is FROM scratch: the build step only copies this binary.
	GOFLAGS="" GOWORK=off CGO_ENABLED=0 go build -trimpath -o sample-app .
	git init -q -b main
	git add -A
	git -c user.name=trustline-cluster -c user.email=cluster@trustline.invalid -c commit.gpgsign=false commit -q -m "sample app"
)
mkdir -p "$W/git"
git clone -q --bare "$SRC" "$W/git/sample-app.git"
(cd "$CLUSTER_ROOT" && go build -o "$STATE/bin/gitserver" ./test/cluster/gitserver)
GIT_ADDR=$BRIDGE_IP:8418
stop gitserver # an earlier run's, on the same port
start gitserver "$STATE/bin/gitserver" --addr "$GIT_ADDR" --root "$W/git"
ready 30 gitserver git ls-remote "http://$GIT_ADDR/sample-app.git"
GIT_URL=http://$GIT_ADDR/sample-app.git
GIT_COMMIT=$(git -C "$SRC" rev-parse HEAD)
log "sample application $GIT_COMMIT served at $GIT_URL"

# --- the library through Tekton's admission webhook ----------------------------------
# Every task and pipeline of the published library, and the Pipelines-as-Code
# PipelineRuns `trustline init` writes for it, created with a server-side dry
# run; `trustline validate --tekton-only` must agree on each, and on a Task
# with two steps of one name both must refuse.
t=$(date +%s)
mkdir -p "$W/pac" "$W/refused"
"$T" init --image "$REGISTRY/apps/sample-app" --catalog "$LIB/catalog.yaml" --name sample-app "$W/pac" >/dev/null
admitted=0
for f in "$LIB"/tasks/*/*/*.yaml "$LIB"/pipelines/*/*/*.yaml "$W"/pac/.tekton/*.yaml; do
	"$T" validate --tekton-only "$f" >"$W/validate.log" 2>&1 || { cat "$W/validate.log" >&2; die "trustline validate --tekton-only refuses $f"; }
	kubectl create --dry-run=server -f "$f" >/dev/null 2>"$W/admission.log" ||
		{ cat "$W/admission.log" >&2; die "Tekton's admission webhook refuses $f, which trustline validate accepts"; }
	admitted=$((admitted + 1))
done
cat >"$W/refused/task.yaml" <<'EOF'
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: refused}
spec:
  steps:
  - {name: same, image: "10.231.0.1:5000/trustline/busybox:latest", script: "true"}
  - {name: same, image: "10.231.0.1:5000/trustline/busybox:latest", script: "true"}
EOF
if "$T" validate --tekton-only "$W/refused/task.yaml" >"$W/validate.log" 2>&1; then die "trustline validate accepts $W/refused/task.yaml"; fi
if kubectl create --dry-run=server -f "$W/refused/task.yaml" >"$W/admission.log" 2>&1; then die "Tekton's admission webhook accepts $W/refused/task.yaml"; fi
log "admission: Tekton's webhook and trustline validate --tekton-only agree on $admitted documents of the library (and both refuse a bad Task) in $(($(date +%s) - t))s"

# --- 3. the pipeline, from its bundle ---------------------------------------------
# --- 3. the pipeline, from its bundle ---------------------------------------------
# The namespace's inputs: Chains' key files (the attest task signs with the
# same key as Chains; verify-policy reads cosign.pub), the OSV database
# (test/osv, in osv.dev's <Ecosystem>/all.zip layout, as a ConfigMap volume)
# and the trusted tasks of the published catalog (the policy workspace).
kubectl delete pipelinerun,taskrun --all --wait=true >/dev/null
kubectl create secret generic signing-secrets --from-file="$STATE/pki/cosign.key" --from-file="$STATE/pki/cosign.password" \
	--from-file="$STATE/pki/cosign.pub" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl create configmap osv-db --from-file=all.zip="$CLUSTER_ROOT/test/osv/Go/all.zip" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl create configmap release-policy --from-file=trusted-tasks.yaml="$W/trusted-tasks.yaml" --dry-run=client -o yaml |
	kubectl apply -f - >/dev/null
IMAGE=$REGISTRY/apps/sample-app:cluster

# run_pipeline NAME [BUNDLE]: a PipelineRun NAME of the docker-build bundle
# (default: the published one) on the
# served repository's HEAD, with a source volume of its own (hostPath: the
# cluster has no storage provisioner); logs each TaskRun as it ends, keeps
# the runs and their logs in $W/NAME.*, waits for Chains, and sets DIGEST.
run_pipeline() {
	local name=$1 bundle=${2:-$PIPELINE_BUNDLE} t status seen="" tr
	# The steps run as uid 65532 (the build step as root): the volume must
	# be theirs, as fsGroup 65532 makes a provisioned one (docs/cluster.md).
	mkdir -p "$W/volumes/$name" && chown 65532:65532 "$W/volumes/$name"
	kubectl delete pipelinerun "$name" --ignore-not-found --wait=true >/dev/null
	kubectl delete pvc "$name-source" --ignore-not-found --wait=true >/dev/null
	kubectl delete pv "trustline-$name-source" --ignore-not-found --wait=true >/dev/null
	kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: trustline-$name-source}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: $W/volumes/$name, type: Directory}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $name-source, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: trustline-$name-source
  resources: {requests: {storage: 1Gi}}
EOF
	t=$(date +%s)
	kubectl create -f - >/dev/null <<EOF
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: $name, namespace: default}
spec:
  pipelineRef:
    resolver: bundles
    params:
    - {name: bundle, value: "$bundle"}
    - {name: name, value: docker-build}
    - {name: kind, value: pipeline}
  params:
  - {name: git-url, value: "$GIT_URL"}
  - {name: output-image, value: "$IMAGE"}
  - {name: rule-data, value: trusted-tasks.yaml}
  timeouts: {pipeline: 20m}
  taskRunTemplate:
    podTemplate:
      securityContext: {fsGroup: 65532}
  workspaces:
  - name: source
    persistentVolumeClaim: {claimName: $name-source}
  - name: osv-db
    configMap: {name: osv-db, items: [{key: all.zip, path: Go/all.zip}]}
  - name: signing-key
    secret: {secretName: signing-secrets}
  - name: keys
    secret: {secretName: signing-secrets}
  - name: policy
    configMap: {name: release-policy}
EOF
	log "PipelineRun $name created"
	while :; do
		status=$(kubectl get pipelinerun "$name" -o jsonpath='{.status.conditions[0].status}' 2>/dev/null || true)
		for tr in $(kubectl get taskrun -l "tekton.dev/pipelineRun=$name" \
			-o jsonpath='{range .items[*]}{.metadata.labels.tekton\.dev/pipelineTask}={.status.conditions[0].reason}{" "}{end}' 2>/dev/null); do
			case "${tr#*=}" in Running | Pending | "") continue ;; esac
			case " $seen " in *" ${tr%%=*} "*) continue ;; esac
			seen="$seen ${tr%%=*}"
			log "  $name: task ${tr%%=*}: ${tr#*=} ($(($(date +%s) - t))s)"
		done
		if [ "$status" = True ] || [ "$status" = False ]; then break; fi
		[ $(($(date +%s) - t)) -lt 1200 ] || die "PipelineRun $name did not finish in 20 min"
		sleep 3
	done
	kubectl get pipelinerun "$name" -o yaml >"$W/$name.pipelinerun.yaml"
	kubectl get taskrun -l "tekton.dev/pipelineRun=$name" -o yaml >"$W/$name.taskruns.yaml"
	for pod in $(kubectl get pods -l "tekton.dev/pipelineRun=$name" -o name); do
		kubectl logs "$pod" --all-containers --prefix >>"$W/$name.logs.txt" 2>&1 || true
	done
	if [ "$status" != True ]; then
		kubectl get pipelinerun "$name" -o jsonpath='{.status.conditions[0].message}{"\n"}' >&2
		grep -v '^\s*$' "$W/$name.logs.txt" | tail -40 >&2
		die "PipelineRun $name failed (TaskRuns in $W/$name.taskruns.yaml, logs in $W/$name.logs.txt)"
	fi
	DIGEST=$(kubectl get pipelinerun "$name" -o jsonpath='{.status.results[?(@.name=="IMAGE_DIGEST")].value}')
	[[ $DIGEST == sha256:* ]] || die "PipelineRun $name: no IMAGE_DIGEST result"
	log "PipelineRun $name Succeeded in $(($(date +%s) - t))s ($(grep -c '^  kind: TaskRun' "$W/$name.taskruns.yaml") TaskRuns): $REGISTRY/apps/sample-app@$DIGEST"
	t=$(date +%s)
	# Chains marks a run signed=true even when it could not sign (a bad key
	# only logs a warning): what it wrote is checked by the gate below.
	kubectl wait "pipelinerun/$name" --for=jsonpath='{.metadata.annotations.chains\.tekton\.dev/signed}'=true --timeout=300s >&2 ||
		{ kubectl get pipelinerun "$name" -o jsonpath='{.metadata.annotations}' >&2; die "Chains did not sign PipelineRun $name"; }
	log "Chains marked PipelineRun $name signed $(($(date +%s) - t))s after it ended"
}

run_pipeline sample-app
REF=$REGISTRY/apps/sample-app@$DIGEST

# --- 4. the release gate on what Chains wrote --------------------------------------
# gate NAME REF COMMIT: verify-policy from the host, the whole policy (the
# PipelineRun's provenance included) with the published trusted tasks;
# prints its exit code (0 pass, 1 violation, 2 no verdict).
gate() {
	local name=$1 ref=$2 commit=$3 rc=0
	"$CLUSTER_ROOT/bin/verify-policy" --public-key "$STATE/pki/cosign.pub" --rule-data "$W/trusted-tasks.yaml" \
		--images "{\"components\":[{\"name\":\"sample-app\",\"containerImage\":\"$ref\",\"source\":{\"git\":{\"url\":\"$GIT_URL\",\"revision\":\"$commit\"}}}]}" \
		--show-successes --output "text=$W/gate-$name.txt" --output "json=$W/gate-$name.json" 2>>"$W/gate-$name.log" || rc=$?
	echo "$rc"
}
t=$(date +%s)
rc=$(gate release "$REF" "$GIT_COMMIT")
[ "$rc" = 0 ] || { cat "$W/gate-release.txt" "$W/gate-release.log" >&2; die "release gate (host): $REF did not pass (exit $rc)"; }
# The pass must rest on Chains' PipelineRun provenance: the rules that read
# it (trusted tasks, required tasks) are among the successes.
for rule in trusted_task.trusted tasks.required_tasks_ran source.matches_snapshot; do
	grep -q "\"$rule\"" "$W/gate-release.json" || { cat "$W/gate-release.txt" >&2; die "release gate: rule $rule was not evaluated"; }
done
log "release gate (host verify-policy, whole policy): $REF passes in $(($(date +%s) - t))s"

COSIGN=$(command -v cosign || echo "$(go env GOPATH)/bin/cosign")
[ -x "$COSIGN" ] || die "cosign is missing: make test-deps installs it"
"$COSIGN" verify --key "$STATE/pki/cosign.pub" --insecure-ignore-tlog "$REF" >"$W/cosign-verify.json" 2>"$W/cosign-verify.log" ||
	{ cat "$W/cosign-verify.log" >&2; die "cosign verify $REF failed"; }
"$COSIGN" verify-attestation --key "$STATE/pki/cosign.pub" --insecure-ignore-tlog --type slsaprovenance1 "$REF" \
	>"$W/cosign-provenance.jsonl" 2>"$W/cosign-provenance.log" || { cat "$W/cosign-provenance.log" >&2; die "cosign verify-attestation $REF failed"; }
python3 - "$W/cosign-provenance.jsonl" <<'EOF' || die "cosign verify-attestation: no PipelineRun provenance by Chains"
import base64, json, sys
kinds = []
for line in open(sys.argv[1]):
    st = json.loads(base64.b64decode(json.loads(line)["payload"]))
    spec = st["predicate"]["buildDefinition"]["externalParameters"].get("runSpec", {})
    kinds.append("PipelineRun" if "pipelineRef" in spec else "TaskRun")
print("cluster: cosign verified SLSA v1.0 provenance of: " + ", ".join(kinds), file=sys.stderr)
sys.exit(0 if "PipelineRun" in kinds else 1)
EOF
log "cosign verify and verify-attestation (slsaprovenance1) pass on $REF"

# The gate as a user runs it on the cluster: a TaskRun of the published
# verify-policy bundle, the whole policy.
VERIFY_BUNDLE=$(grep -o "$REPO/task-verify-policy:[^ \"']*@sha256:[0-9a-f]\{64\}" "$LIB/pipelines/docker-build/0.1/docker-build.yaml" | head -1)
t=$(date +%s)
kubectl delete taskrun release-gate --ignore-not-found >/dev/null
kubectl create -f - >/dev/null <<EOF
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: release-gate, namespace: default}
spec:
  taskRef:
    resolver: bundles
    params:
    - {name: bundle, value: "$VERIFY_BUNDLE"}
    - {name: name, value: verify-policy}
    - {name: kind, value: task}
  params:
  - name: IMAGES
    value: '{"components":[{"name":"sample-app","containerImage":"$REF","source":{"git":{"url":"$GIT_URL","revision":"$GIT_COMMIT"}}}]}'
  - {name: RULE_DATA, value: trusted-tasks.yaml}
  workspaces:
  - name: keys
    secret: {secretName: signing-secrets}
  - name: policy
    configMap: {name: release-policy}
EOF
kubectl wait taskrun/release-gate --for=condition=Succeeded --timeout=300s >&2 ||
	{ kubectl logs -l tekton.dev/taskRun=release-gate --all-containers >&2; die "release gate (TaskRun) did not pass"; }
result=$(kubectl get taskrun release-gate -o jsonpath='{.status.results[?(@.name=="TEST_OUTPUT")].value}')
# WARNING is a pass with warnings (the scan's findings below the threshold).
[[ $result == *'"result":"SUCCESS"'* || $result == *'"result":"WARNING"'* ]] || die "release gate (TaskRun): TEST_OUTPUT $result"
log "release gate (TaskRun of $VERIFY_BUNDLE) passes in $(($(date +%s) - t))s: $result"

# Conforma's own release policy, when a checkout of conforma/policy is
# given (CONFORMA_POLICY=DIR; the repository holds no copy of it): its
# minimal and slsa3 collections, unchanged, with the data `trustline
# catalog rule-data` writes for the published library, must pass on the
# image the pipeline built.
if [ -n "${CONFORMA_POLICY:-}" ]; then
	[ -d "$CONFORMA_POLICY/policy/release" ] || die "CONFORMA_POLICY=$CONFORMA_POLICY: no policy/release in it"
	mkdir -p "$W/conforma/data"
	"$T" catalog rule-data --catalog "$LIB/catalog.yaml" --allowed-registry "$REGISTRY/" --output "$W/conforma/data/trustline.yaml"
	for c in minimal slsa3; do
		include='"@minimal"'
		[ "$c" = slsa3 ] && include='"@minimal", "@slsa3"'
		printf 'sources:\n- name: release\n  policy: ["%s/policy/lib", "%s/policy/release"]\n  data: ["%s/conforma/data"]\n  config: {include: [%s]}\n' \
			"$CONFORMA_POLICY" "$CONFORMA_POLICY" "$W" "$include" >"$W/conforma/$c.yaml"
		"$CLUSTER_ROOT/bin/verify-policy" --public-key "$STATE/pki/cosign.pub" --policy "$W/conforma/$c.yaml" \
			--images "{\"components\":[{\"name\":\"sample-app\",\"containerImage\":\"$REF\",\"source\":{\"git\":{\"url\":\"$GIT_URL\",\"revision\":\"$GIT_COMMIT\"}}}]}" \
			--output "text=$W/conforma/$c.txt" 2>"$W/conforma/$c.log" ||
			{ cat "$W/conforma/$c.txt" "$W/conforma/$c.log" >&2; die "Conforma's $c collection does not pass on $REF"; }
		log "Conforma's release policy, $c: $(grep -o 'PASSED.*' "$W/conforma/$c.txt")"
	done
fi

# --- 5. the deploy gate -------------------------------------------------------------
# deploy/ installed as docs/deploy-gate.md says, with the gate's image the
# step-verify-policy image just published, the public key and the trusted
# tasks; the namespace "apps" opts in.
t=$(date +%s)
GATE_IMAGE=$(grep -o "$REPO/step-verify-policy@sha256:[0-9a-f]\{64\}" "$LIB/tasks/verify-policy/0.1/verify-policy.yaml" | head -1)
[ -n "$GATE_IMAGE" ] || die "no step-verify-policy image in the published verify-policy task"
mkdir -p "$W/deploy"
sed "s|ghcr.io/trustline-dev/step-verify-policy@sha256:[0-9a-f]\{64\}|$GATE_IMAGE|" "$CLUSTER_ROOT/deploy/gate.yaml" >"$W/deploy/gate.yaml"
grep -q "$GATE_IMAGE" "$W/deploy/gate.yaml" || die "deploy/gate.yaml: no step-verify-policy image to replace"
kubectl apply -f "$W/deploy/gate.yaml" >"$W/deploy/apply.log"
kubectl -n trustline-gate create configmap trustline-gate-policy --from-file=cosign.pub="$STATE/pki/cosign.pub" \
	--from-file=rule-data.yaml="$W/trusted-tasks.yaml" --dry-run=client -o yaml | kubectl apply -f - >>"$W/deploy/apply.log"
kubectl apply -f "$CLUSTER_ROOT/deploy/webhooks.yaml" >>"$W/deploy/apply.log"
# The certificate (a new one each time: applying webhooks.yaml empties the
# caBundle). Gate pods already running read it only when the kubelet
# updates their volume, up to a minute later: on a second run, restart them.
rerun=$(kubectl -n trustline-gate get pods -o name 2>/dev/null | wc -l)
PATH=$STATE/bin:$PATH KUBECONFIG=$STATE/admin.kubeconfig "$CLUSTER_ROOT/deploy/self-signed-cert.sh" >>"$W/deploy/apply.log" 2>&1 ||
	{ cat "$W/deploy/apply.log" >&2; die "deploy/self-signed-cert.sh failed"; }
[ "$rerun" = 0 ] || kubectl -n trustline-gate rollout restart deployment/trustline-gate >/dev/null
kubectl -n trustline-gate rollout status deployment/trustline-gate --timeout=300s >&2 ||
	{ kubectl -n trustline-gate get pods -o wide >&2; die "the deploy gate did not become available"; }
kubectl create namespace apps --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace apps trustline.dev/deploy-gate=enabled --overwrite >/dev/null
kubectl -n apps delete deployment --all --wait=true >/dev/null
log "deploy gate installed from deploy/ ($GATE_IMAGE) in $(($(date +%s) - t))s"

# admitted NAME IMAGE: a Deployment of IMAGE in apps is admitted and
# becomes available. denied NAME IMAGE RULE...: kubectl is refused, and the
# message names the image and each RULE.
admitted() {
	kubectl -n apps create deployment "$1" --image="$2" >"$W/deploy/$1.txt" 2>&1 ||
		{ cat "$W/deploy/$1.txt" >&2; die "deploy gate: a Deployment of $2 was refused"; }
	kubectl -n apps rollout status "deployment/$1" --timeout=180s >&2 ||
		{ kubectl -n apps get pods -o wide >&2; die "deploy gate: the Deployment of $2 did not become available"; }
	log "deploy gate: Deployment $1 of $2 admitted and available (image $(kubectl -n apps get deployment "$1" -o jsonpath='{.spec.template.spec.containers[0].image}'))"
}
denied() {
	local name=$1 image=$2 rule
	shift 2
	if kubectl -n apps create deployment "$name" --image="$image" >"$W/deploy/$name.txt" 2>&1; then
		die "deploy gate: a Deployment of $image was admitted"
	fi
	grep -q 'denied the request' "$W/deploy/$name.txt" && grep -qF "${image%%@*}" "$W/deploy/$name.txt" ||
		{ cat "$W/deploy/$name.txt" >&2; die "deploy gate: $image refused, but not by the gate naming it"; }
	for rule; do
		grep -qF "$rule" "$W/deploy/$name.txt" || { cat "$W/deploy/$name.txt" >&2; die "deploy gate: $image denied, but not for $rule"; }
	done
	log "deploy gate: Deployment $name of $image denied ($*)"
}
admitted signed "$REF"

# --- 6. tampered images, each refused by both gates -----------------------------------------
# a. Provenance from another run: a second PipelineRun on a new commit makes
#    image B; B's attestations are replaced by A's (signed by the same key,
#    but about A).
t=$(date +%s)
# new_commit MESSAGE: a commit that changes the source, pushed to the served
# repository (the build is reproducible: the same commit, the same image).
new_commit() {
	(cd "$SRC" && echo "// $1" >>main.go && git -c user.name=trustline-cluster -c user.email=cluster@trustline.invalid \
		-c commit.gpgsign=false commit -q -am "$1" && git push -q "$W/git/sample-app.git" main)
	git -C "$SRC" rev-parse HEAD
}
COMMIT_B=$(new_commit "second run")
run_pipeline second
REF_B=$REGISTRY/apps/sample-app@$DIGEST
[ "$REF_B" != "$REF" ] || die "the second run built the same image $REF"
rc=$(gate second "$REF_B" "$COMMIT_B")
[ "$rc" = 0 ] || { cat "$W/gate-second.txt" >&2; die "release gate: the second run's image $REF_B did not pass (exit $rc)"; }
# refused NAME REF COMMIT RULE...: the gate exits 1 on REF, and for the
# reason the case is about (each RULE among the violations).
refused() {
	local name=$1 ref=$2 commit=$3 rc rule
	shift 3
	rc=$(gate "$name" "$ref" "$commit")
	[ "$rc" = 1 ] || { cat "$W/gate-$name.txt" "$W/gate-$name.log" >&2; die "tamper $name: gate exit $rc on $ref, want 1"; }
	for rule; do
		grep -q "✗ violation \[$rule\]" "$W/gate-$name.txt" || { cat "$W/gate-$name.txt" >&2; die "tamper $name: refused, but not by $rule"; }
	done
	log "tamper refused: $name ($ref): $(grep -c '✗ violation' "$W/gate-$name.txt") violations, $* among them"
}
att() { echo "$REGISTRY/apps/sample-app:sha256-${1#*@sha256:}.att"; }
"$COSIGN" copy --force "$(att "$REF")" "$(att "$REF_B")" >/dev/null 2>>"$W/tamper.log"
refused provenance-from-another-run "$REF_B" "$COMMIT_B" builtin.attestation.subject_check provenance.attestation_present

# b. Image re-pushed: another image pushed to the tag, with A's signatures
#    and attestations copied beside it.
BUSYBOX=$(digest_of "$STATE/images/base.out" "$REGISTRY/trustline/busybox:latest")
"$COSIGN" copy --force "$BUSYBOX" "$IMAGE" >/dev/null 2>>"$W/tamper.log"
REPUSHED=$REGISTRY/apps/sample-app@sha256:${BUSYBOX#*@sha256:}
"$COSIGN" copy --force "$REGISTRY/apps/sample-app:sha256-${REF#*@sha256:}.sig" \
	"$REGISTRY/apps/sample-app:sha256-${BUSYBOX#*@sha256:}.sig" >/dev/null 2>>"$W/tamper.log"
"$COSIGN" copy --force "$(att "$REF")" "$(att "$REPUSHED")" >/dev/null 2>>"$W/tamper.log"
refused image-re-pushed "$IMAGE" "$GIT_COMMIT" builtin.image.signature_check builtin.attestation.subject_check
denied moved-tag "$IMAGE" builtin.image.signature_check
denied unsigned "$BUSYBOX" builtin.image.signature_check

# d. Provenance naming an untrusted task: the same git-clone task pushed to
#    a bundle the trusted tasks do not list, in a copy of the pipeline.
UNTRUSTED_CLONE=$("$T" bundle push "$LIB/tasks/git-clone/0.1/git-clone.yaml" "$REGISTRY/untrusted/task-git-clone:0.1" 2>>"$W/tamper.log")
mkdir -p "$W/untrusted"
sed "s|$REPO/task-git-clone:0.1@sha256:[0-9a-f]\{64\}|$UNTRUSTED_CLONE|" "$LIB/pipelines/docker-build/0.1/docker-build.yaml" >"$W/untrusted/docker-build.yaml"
grep -q "$UNTRUSTED_CLONE" "$W/untrusted/docker-build.yaml" || die "no git-clone bundle to replace in the pipeline"
COMMIT_U=$(new_commit "untrusted run")
run_pipeline untrusted "$("$T" bundle push "$W/untrusted/docker-build.yaml" "$REGISTRY/untrusted/pipeline-docker-build:0.1" 2>>"$W/tamper.log")"
REF_U=$REGISTRY/apps/sample-app@$DIGEST
refused untrusted-task "$REF_U" "$COMMIT_U" trusted_task.trusted
denied untrusted-task "$REF_U" trusted_task.trusted

# c. Signature removed from A (Chains' and the attest task's).
"$COSIGN" clean --type signature --force "$REF" >/dev/null 2>>"$W/tamper.log"
refused signature-removed "$REF" "$GIT_COMMIT" signature.image_signed
log "tampered cases refused in $(($(date +%s) - t))s"
log "the library on the cluster: everything checked in $(($(date +%s) - T0))s"
