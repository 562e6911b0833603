#!/usr/bin/env bash
# scripts/cluster/tekton.sh: install Tekton Pipelines on the cluster
# scripts/cluster/up.sh started, from its module's source, and run a TaskRun.
#
# It builds every cmd/* of github.com/tektoncd/pipeline@$TEKTON_VERSION
# (cached in /var/cache/trustline-cluster), packs each binary into an image
# at /ko-app/<name> (test/cluster/images), pushes them to the cluster's
# registry, applies the module's config/ (what Tekton's release does with
# `ko resolve -R -f config/`) with every ko:// reference replaced by the
# image's digest and the shell image by our busybox, waits for the
# controller, webhook and resolvers, then runs a TaskRun whose step (a
# busybox script) writes a result, and checks it succeeded.
. "$(dirname "$0")/lib.sh"

running_cluster
T0=$(date +%s)

BINS=$(tekton_bins)
ko_images tekton "github.com/tektoncd/pipeline@$TEKTON_VERSION" "$BINS" "$TEKTON_CMDS"
BUSYBOX=$(digest_of "$STATE/images/base.out" "$REGISTRY/trustline/busybox:latest")
[ -n "$BUSYBOX" ] || die "no busybox image in $STATE/images/base.out"

# The release manifests: config/ with our digests, "devel" labels set to the
# version as Tekton's publish pipeline does.
cfg=$STATE/tekton/config
release_config "github.com/tektoncd/pipeline@$TEKTON_VERSION" "$cfg" "${KO_SED_ARGS[@]}" \
	-e "s|cgr.dev/chainguard/busybox@sha256:[0-9a-f]*|$BUSYBOX|g" \
	-e "s/\(pipeline.tekton.dev\/release\): \"devel\"/\1: \"$TEKTON_VERSION\"/g" \
	-e "s/\(app.kubernetes.io\/version\): \"devel\"/\1: \"$TEKTON_VERSION\"/g" \
	-e "s/\(version\): \"devel\"/\1: \"$TEKTON_VERSION\"/g"
rm -f "$cfg/dummy.go"
# Tekton's release builds the resolvers on an image with tini and git
# (.ko.yaml: ghcr.io/tektoncd/plumbing/tini-git) and starts them through
# /sbin/tini; ours is FROM scratch, so the resolvers start directly (no git:
# the git resolver cannot work yet; the bundles resolver needs none).
sed -i '/- \/sbin\/tini$/{N;d}' "$cfg/resolvers/resolvers-deployment.yaml"

kubectl apply -R -f "$cfg" >"$STATE/logs/tekton-apply.log"
for d in tekton-pipelines/tekton-pipelines-controller tekton-pipelines/tekton-pipelines-webhook \
	tekton-pipelines-resolvers/tekton-pipelines-remote-resolvers; do
	kubectl -n "${d%%/*}" rollout status "deployment/${d#*/}" --timeout=300s >&2 ||
		{ kubectl -n "${d%%/*}" get pods -o wide >&2; die "$d not available"; }
done
log "Tekton Pipelines $TEKTON_VERSION ready in $(($(date +%s) - T0))s"

# A trivial TaskRun: a busybox script step writing a result. Creating it goes
# through Tekton's admission webhook; running it through the controller.
t=$(date +%s)
kubectl delete taskrun hello --ignore-not-found >/dev/null
kubectl create -f - >/dev/null <<EOF
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: hello, namespace: default}
spec:
  taskSpec:
    results:
    - name: greeting
    steps:
    - name: hello
      image: $BUSYBOX
      script: |
        #!/bin/sh
        set -e
        echo "hello from a Tekton step on \$(hostname)"
        printf hello >\$(results.greeting.path)
EOF
if ! kubectl wait taskrun/hello --for=condition=Succeeded --timeout=300s >&2; then
	kubectl get taskrun hello -o yaml >&2
	die "TaskRun hello did not succeed"
fi
result=$(kubectl get taskrun hello -o jsonpath='{.status.results[0].value}')
[ "$result" = hello ] || die "TaskRun hello: result greeting is \"$result\", want \"hello\""
kubectl logs -l tekton.dev/taskRun=hello --all-containers=false -c step-hello >&2 || true
log "TaskRun hello Succeeded (result greeting=$result) in $(($(date +%s) - t))s"
