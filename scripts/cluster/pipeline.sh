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
#    signature and the PipelineRun's SLSA provenance beside the image.
# 5. The release gate on what Chains wrote: verify-policy from the host and
#    as a TaskRun of the published verify-policy bundle, with the trusted
#    tasks of the published catalog; `cosign verify` and `cosign
#    verify-attestation` as a user would; then three tampered cases that
#    must fail (scripts/cluster/tamper.sh).
#
# Its work directory is $STATE/pipeline; the outputs of each step are kept
# there for a failing run.
. "$(dirname "$0")/lib.sh"

STATE=$(state_dir)
[ -n "$STATE" ] && [ -d "$STATE" ] || die "no cluster is up: scripts/cluster/up.sh first"
KUBECTL=$STATE/bin/kubectl
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
PIPELINE_BUNDLE=$(grep -o "$REPO/pipeline-docker-build:[^ \"']*@sha256:[0-9a-f]\{64\}" "$LIB/pipelines/docker-build/0.1/docker-build.yaml" "$LIB/catalog.yaml" "$W/publish.txt" | head -1 | cut -d: -f2-)
[ -n "$PIPELINE_BUNDLE" ] || { cat "$W/publish.txt" >&2; die "no pipeline bundle in the publish report"; }
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
start gitserver "$STATE/bin/gitserver" --addr "$GIT_ADDR" --root "$W/git"
ready 30 gitserver git ls-remote "http://$GIT_ADDR/sample-app.git"
GIT_URL=http://$GIT_ADDR/sample-app.git
GIT_COMMIT=$(git -C "$SRC" rev-parse HEAD)
log "sample application $GIT_COMMIT served at $GIT_URL"

# --- 3. the pipeline, from its bundle ---------------------------------------------
# The namespace's inputs: Chains' key files (the attest task signs with the
# same key as Chains; verify-policy reads cosign.pub), the OSV database
# (test/osv, in osv.dev's <Ecosystem>/all.zip layout) and the trusted tasks
# for the release gate; the source workspace on a hostPath volume, since the
# cluster has no storage provisioner.
kubectl delete pipelinerun,taskrun --all --wait=true >/dev/null
kubectl delete pvc source --ignore-not-found --wait=true >/dev/null
kubectl delete pv trustline-source --ignore-not-found --wait=true >/dev/null
kubectl create secret generic signing-secrets --from-file="$STATE/pki/cosign.key" --from-file="$STATE/pki/cosign.password" \
	--from-file="$STATE/pki/cosign.pub" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl create configmap osv-db --from-file=all.zip="$CLUSTER_ROOT/test/osv/Go/all.zip" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl create configmap release-policy --from-file=trusted-tasks.yaml="$W/trusted-tasks.yaml" --dry-run=client -o yaml |
	kubectl apply -f - >/dev/null
# The tasks' steps run as uid 65532 (the build step as root): the volume
# must be theirs, as fsGroup 65532 makes a provisioned volume (docs/cluster.md).
mkdir -p "$W/volumes/source" && chown 65532:65532 "$W/volumes/source"
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: trustline-source}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: $W/volumes/source, type: Directory}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: source, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: trustline-source
  resources: {requests: {storage: 1Gi}}
EOF

IMAGE=$REGISTRY/apps/sample-app:cluster
t=$(date +%s)
kubectl create -f - >/dev/null <<EOF
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: sample-app, namespace: default}
spec:
  pipelineRef:
    resolver: bundles
    params:
    - {name: bundle, value: "$PIPELINE_BUNDLE"}
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
    persistentVolumeClaim: {claimName: source}
  - name: osv-db
    configMap: {name: osv-db, items: [{key: all.zip, path: Go/all.zip}]}
  - name: signing-key
    secret: {secretName: signing-secrets}
  - name: keys
    secret: {secretName: signing-secrets}
  - name: policy
    configMap: {name: release-policy}
EOF
log "PipelineRun sample-app created"
# Progress: each TaskRun as it finishes.
seen=""
while :; do
	status=$(kubectl get pipelinerun sample-app -o jsonpath='{.status.conditions[0].status}' 2>/dev/null || true)
	for tr in $(kubectl get taskrun -l tekton.dev/pipelineRun=sample-app \
		-o jsonpath='{range .items[*]}{.metadata.labels.tekton\.dev/pipelineTask}={.status.conditions[0].reason}{" "}{end}' 2>/dev/null); do
		case "${tr#*=}" in Running | Pending | "") continue ;; esac
		case " $seen " in *" ${tr%%=*} "*) continue ;; esac
		seen="$seen ${tr%%=*}"
		log "  task ${tr%%=*}: ${tr#*=} ($(($(date +%s) - t))s)"
	done
	[ "$status" = True ] || [ "$status" = False ] && break
	[ $(($(date +%s) - t)) -lt 1200 ] || die "PipelineRun sample-app did not finish in 20 min"
	sleep 3
done
kubectl get pipelinerun sample-app -o yaml >"$W/pipelinerun.yaml"
kubectl get taskrun -l tekton.dev/pipelineRun=sample-app -o yaml >"$W/taskruns.yaml"
for pod in $(kubectl get pods -l tekton.dev/pipelineRun=sample-app -o name); do
	kubectl logs "$pod" --all-containers --prefix >>"$W/logs.txt" 2>&1 || true
done
if [ "$status" != True ]; then
	kubectl get pipelinerun sample-app -o jsonpath='{.status.conditions[0].message}{"\n"}' >&2
	grep -v '^\s*$' "$W/logs.txt" | tail -40 >&2
	die "PipelineRun sample-app failed (TaskRuns in $W/taskruns.yaml, logs in $W/logs.txt)"
fi
DIGEST=$(kubectl get pipelinerun sample-app -o jsonpath='{.status.results[?(@.name=="IMAGE_DIGEST")].value}')
[[ $DIGEST == sha256:* ]] || die "PipelineRun sample-app: no IMAGE_DIGEST result"
REF=$REGISTRY/apps/sample-app@$DIGEST
ntasks=$(kubectl get taskrun -l tekton.dev/pipelineRun=sample-app -o name | wc -l)
log "PipelineRun sample-app Succeeded in $(($(date +%s) - t))s ($ntasks TaskRuns): $REF"

# --- 4. Chains ---------------------------------------------------------------------
t=$(date +%s)
kubectl wait pipelinerun/sample-app --for=jsonpath='{.metadata.annotations.chains\.tekton\.dev/signed}'=true --timeout=300s >&2 ||
	{ kubectl get pipelinerun sample-app -o jsonpath='{.metadata.annotations}' >&2; die "Chains did not sign PipelineRun sample-app"; }
log "Chains signed PipelineRun sample-app in $(($(date +%s) - t))s"

# --- 5. the release gate on what Chains wrote --------------------------------------
SNAPSHOT="{\"components\":[{\"name\":\"sample-app\",\"containerImage\":\"$REF\",\"source\":{\"git\":{\"url\":\"$GIT_URL\",\"revision\":\"$GIT_COMMIT\"}}}]}"
echo "$SNAPSHOT" >"$W/snapshot.json"
log "the library on the cluster: everything checked in $(($(date +%s) - T0))s"
