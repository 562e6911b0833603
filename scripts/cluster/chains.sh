#!/usr/bin/env bash
# scripts/cluster/chains.sh: install Tekton Chains on the cluster (after
# scripts/cluster/tekton.sh), from its module's source, configured as the
# library expects, and check that it signs a TaskRun.
#
# It builds github.com/tektoncd/chains@$CHAINS_VERSION's cmd/controller
# (cached), packs it at /ko-app/controller, applies the module's config/
# with the ko:// reference replaced by its digest, puts a fresh cosign key
# pair in signing-secrets, sets chains-config (SLSA v1.0 provenance, OCI
# storage), and waits until Chains marks a new TaskRun signed; then checks
# the DSSE envelope it wrote in the TaskRun's annotations with openssl.
. "$(dirname "$0")/lib.sh"

running_cluster
T0=$(date +%s)

BINS=$(chains_bins)
ko_images chains "github.com/tektoncd/chains@$CHAINS_VERSION" "$BINS" controller
cfg=$STATE/chains/config
release_config "github.com/tektoncd/chains@$CHAINS_VERSION" "$cfg" "${KO_SED_ARGS[@]}" \
	-e "s/\(version\): \"devel\"/\1: \"$CHAINS_VERSION\"/g"
kubectl apply -R -f "$cfg" >"$STATE/logs/chains-apply.log"

# The signing key: a cosign key pair (trustline key generate), which Chains
# reads from signing-secrets (cosign.key, cosign.password) and the library's
# attest task from the same files; cosign.pub is what verify-policy and
# cosign verify with.
[ -x "$CLUSTER_ROOT/bin/trustline" ] || die "$CLUSTER_ROOT/bin/trustline is missing: run make build"
rm -f "$STATE"/pki/cosign.*
# No newline: Chains uses the file's bytes as they are.
printf %s "$(head -c 18 /dev/urandom | base64)" >"$STATE/pki/cosign.password"
COSIGN_PASSWORD=$(cat "$STATE/pki/cosign.password") "$CLUSTER_ROOT/bin/trustline" key generate --dir "$STATE/pki" >/dev/null
kubectl -n tekton-chains create secret generic signing-secrets --from-file="$STATE/pki/cosign.key" \
	--from-file="$STATE/pki/cosign.password" --from-file="$STATE/pki/cosign.pub" \
	--dry-run=client -o yaml | kubectl apply -f - >/dev/null
# What the library expects of Chains (docs/cluster.md): SLSA v1.0 provenance
# (slsa/v2alpha4, Tekton's build type, so the policy sees every TaskRun of
# a PipelineRun), the image signed and the PipelineRun's provenance attached
# beside it in the registry, and each TaskRun's provenance beside the images
# it built (so a gate inside the pipeline sees the build's provenance) and in
# its annotations.
kubectl -n tekton-chains patch configmap chains-config --type merge -p '{"data": {
	"artifacts.taskrun.format": "slsa/v2alpha4", "artifacts.taskrun.storage": "tekton,oci",
	"artifacts.oci.storage": "oci",
	"artifacts.pipelinerun.format": "slsa/v2alpha4", "artifacts.pipelinerun.storage": "oci",
	"artifacts.pipelinerun.enable-deep-inspection": "true",
	"builddefinition.buildtype": "https://tekton.dev/chains/v2/slsa-tekton"}}' >/dev/null
kubectl -n tekton-chains rollout restart deployment/tekton-chains-controller >/dev/null
kubectl -n tekton-chains rollout status deployment/tekton-chains-controller --timeout=300s >&2 ||
	{ kubectl -n tekton-chains get pods -o wide >&2; die "tekton-chains-controller not available"; }
log "Tekton Chains $CHAINS_VERSION ready in $(($(date +%s) - T0))s"

BUSYBOX=$(digest_of "$STATE/images/base.out" "$REGISTRY/trustline/busybox:latest")
t=$(date +%s)
kubectl delete taskrun signed --ignore-not-found >/dev/null
kubectl create -f - >/dev/null <<EOT
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: signed, namespace: default}
spec:
  taskSpec:
    steps:
    - name: hello
      image: $BUSYBOX
      script: echo signed by Chains
EOT
kubectl wait taskrun/signed --for=condition=Succeeded --timeout=300s >&2 || die "TaskRun signed did not succeed"
kubectl wait taskrun/signed --for=jsonpath='{.metadata.annotations.chains\.tekton\.dev/signed}'=true --timeout=120s >&2 ||
	{ kubectl get taskrun signed -o jsonpath='{.metadata.annotations}' >&2; die "Chains did not sign TaskRun signed"; }
log "Chains signed TaskRun signed in $(($(date +%s) - t))s (public key: $STATE/pki/cosign.pub)"

# Check what Chains wrote with tools that are not Chains': the DSSE envelope
# in the TaskRun's signature annotation verifies against the public key
# (openssl over DSSE's pre-authentication encoding), and fails once the
# payload is changed by one byte.
kubectl get taskrun signed -o json | python3 -c '
import base64, json, sys
a = json.load(sys.stdin)["metadata"]["annotations"]
sig = [v for k, v in a.items() if k.startswith("chains.tekton.dev/signature-taskrun-")]
if len(sig) != 1: sys.exit("want one chains.tekton.dev/signature-taskrun-* annotation, got %d" % len(sig))
env = json.loads(base64.b64decode(sig[0]))
p, t = base64.b64decode(env["payload"]), env["payloadType"].encode()
stmt = json.loads(p)
print("cluster: Chains wrote %s / %s" % (stmt["_type"], stmt["predicateType"]), file=sys.stderr)
open(sys.argv[1] + ".pae", "wb").write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(p), p))
open(sys.argv[1] + ".sig", "wb").write(base64.b64decode(env["signatures"][0]["sig"]))
' "$STATE/chains/signed" || die "TaskRun signed: no readable Chains signature"
openssl dgst -sha256 -verify "$STATE/pki/cosign.pub" -signature "$STATE/chains/signed.sig" "$STATE/chains/signed.pae" >&2 ||
	die "Chains' signature of TaskRun signed does not verify with $STATE/pki/cosign.pub"
printf x >>"$STATE/chains/signed.pae"
if openssl dgst -sha256 -verify "$STATE/pki/cosign.pub" -signature "$STATE/chains/signed.sig" "$STATE/chains/signed.pae" >/dev/null 2>&1; then
	die "Chains' signature verifies over a changed payload"
fi
log "Chains' DSSE signature of TaskRun signed verifies with its public key (and not over a changed payload)"
