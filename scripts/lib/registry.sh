# shellcheck shell=bash
# Sourced by the scripts that run the library's pipeline against a registry
# of their own (scripts/demo.sh, scripts/bench/pipeline.sh): trustline's
# in-memory registry, every task pushed to it as a Tekton bundle, and
# trustline's release policy trusting exactly those bundles. Run from the
# repository root; a failure goes through the caller's die.

# start_trustline_registry TRUSTLINE DIR: starts `trustline run registry`
# (in memory) on a free port of 127.0.0.1, logging to DIR/registry.log, and
# sets REGISTRY_PID (for the caller to stop it) and, once it serves,
# REGISTRY_ADDR. Dies when it exits first or is not up within 10 s.
start_trustline_registry() {
	local trustline=$1 dir=$2
	rm -f "$dir/registry.addr"
	"$trustline" run registry --addr 127.0.0.1:0 --addr-file "$dir/registry.addr" 2>"$dir/registry.log" &
	REGISTRY_PID=$!
	for _ in $(seq 100); do
		[ -s "$dir/registry.addr" ] && break
		kill -0 "$REGISTRY_PID" 2>/dev/null || die "the registry did not start: $(cat "$dir/registry.log")"
		sleep 0.1
	done
	[ -s "$dir/registry.addr" ] || die "the registry did not start within 10 s: $(cat "$dir/registry.log")"
	# shellcheck disable=SC2034 # the caller's
	REGISTRY_ADDR=$(cat "$dir/registry.addr")
}

# push_task_bundles TRUSTLINE REPO TRUSTED: pushes every task of the library
# (tasks/NAME/VERSION/NAME.yaml) with TRUSTLINE as the bundle
# REPO/task-NAME:VERSION and prints each reference it pushed, indented;
# writes TRUSTED, the trusted_tasks rule data listing exactly their digests;
# sets BUNDLE_SED_ARGS, the sed expressions that rewrite a pipeline's
# references to these tasks (any registry, digest or not) to the bundles
# just pushed.
push_task_bundles() {
	local trustline=$1 repo=$2 trusted=$3 f name version ref digest
	BUNDLE_SED_ARGS=()
	echo "trusted_tasks:" >"$trusted"
	for f in tasks/*/*/*.yaml; do
		name=$(basename "$(dirname "$(dirname "$f")")")
		version=$(basename "$(dirname "$f")")
		[ "$(basename "$f" .yaml)" = "$name" ] || continue
		ref=$("$trustline" bundle push "$f" "$repo/task-$name:$version" 2>/dev/null) || die "bundle push $f failed"
		digest=${ref#*@}
		echo "  $repo/task-$name:$version@$digest"
		BUNDLE_SED_ARGS+=(-e "s#[^ \"'{}]*/task-$name:$version\(@sha256:[0-9a-f]\{64\}\)\{0,1\}#$repo/task-$name:$version@$digest#g")
		# Conforma's key, oci://REPO:TAG, as `trustline catalog trusted-tasks`
		# writes it; the policy matches it to the bare repository Tekton's
		# bundles resolver records in provenance.
		printf '  "oci://%s":\n  - ref: "%s"\n    effective_on: "2020-01-01T00:00:00Z"\n' "$repo/task-$name:$version" "$digest" >>"$trusted"
	done
}

# release_policy ROOT TRUSTED: prints the release policy's configuration:
# trustline's policy pack (ROOT/policy, ROOT/policy/data) with TRUSTED as
# its rule data.
release_policy() {
	local root=$1 trusted=$2
	echo "sources:"
	echo "- name: trustline"
	echo "  policy: [\"$root/policy\"]"
	echo "  data: [\"$root/policy/data\"]"
	echo "  ruleData:"
	sed 's/^/    /' "$trusted"
}
