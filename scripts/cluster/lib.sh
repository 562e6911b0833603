# scripts/cluster/lib.sh: what the scripts in scripts/cluster share. Sourced.
#
# Addresses: everything listens on 127.0.0.1 or on the bridge this script
# makes (tlbr0, $BRIDGE_IP); pods get addresses in $POD_CIDR on it, services
# in $SERVICE_CIDR (kube-proxy's iptables rules, removed by down.sh).
set -euo pipefail

CLUSTER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
K8S_VERSION=v1.34.4
TEKTON_VERSION=v1.10.0
CHAINS_VERSION=v0.26.0
CACHE=${CLUSTER_CACHE:-/var/cache/trustline-cluster}
# The state directory of the running cluster is recorded here for down.sh.
POINTER=/run/trustline-cluster.dir

BRIDGE=tlbr0
BRIDGE_IP=10.231.0.1
POD_CIDR=10.231.0.0/16
SERVICE_CIDR=10.232.0.0/16
SERVICE_IP=10.232.0.1
REGISTRY=$BRIDGE_IP:5000
APISERVER=https://$BRIDGE_IP:6443
ETCD=http://127.0.0.1:23790
NODE=trustline-node

log() { printf '%s cluster: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# state_dir prints the running cluster's state directory.
state_dir() { [ -f "$POINTER" ] && cat "$POINTER"; }

# running_cluster sets STATE and KUBECTL for the scripts that work on the
# cluster up.sh started, or dies when none is up.
running_cluster() {
	STATE=$(state_dir) || true
	[ -n "$STATE" ] && [ -d "$STATE" ] || die "no cluster is up: scripts/cluster/up.sh first"
	KUBECTL=$STATE/bin/kubectl
}

# wait_for SECONDS WHAT CMD...: run CMD every second until it succeeds.
wait_for() {
	poll_until "$1" "$2" "" "${@:3}"
}

# start NAME CMD...: run CMD in its own session, logging to $STATE/logs/NAME.log;
# down.sh stops it by the pid recorded in $STATE/pids/NAME.
start() {
	local name=$1
	shift
	setsid "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
	echo $! >"$STATE/pids/$name"
	log "started $name (pid $!)"
}
# stop NAME: TERM, then KILL after 10s, the process start recorded.
stop() {
	local f=$STATE/pids/$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for ((i = 0; i < 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -f "$f"
}

alive() { kill -0 "$(cat "$STATE/pids/$1")" 2>/dev/null || die "$1 exited: $(tail -5 "$STATE/logs/$1.log")"; }
# ready SECONDS NAME CMD...: wait for CMD to succeed while process NAME lives.
ready() {
	poll_until "$1" "$2" "$2" "${@:3}"
}

# poll_until SECONDS WHAT PROCESS CMD...: what wait_for and ready share: run
# CMD every second until it succeeds; die when it has not after SECONDS or,
# PROCESS being a name start recorded (empty: none), as soon as that
# process has exited.
poll_until() {
	local n=$1 what=$2 process=$3 i
	shift 3
	for ((i = 0; i < n; i++)); do
		[ -z "$process" ] || alive "$process"
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 1
	done
	local hint=""
	[ -z "$process" ] || hint=" (log: $STATE/logs/$process.log)"
	die "$what: not ready after ${n}s$hint"
}

# timed NAME CMD...: run CMD, logging its wall and CPU time (children's).
timed() {
	local name=$1
	shift
	local TIMEFORMAT="cluster: timing: $name: %0Rs wall, %0Us user + %0Ss sys CPU"
	time "$@"
}

# k8s_bin prints the multi-call Kubernetes binary, building it into the
# cache when the wrapper module (test/cluster/k8s) changed.
k8s_bin() {
	local src=$CLUSTER_ROOT/test/cluster/k8s key dir
	key=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
	dir=$CACHE/k8s-$K8S_VERSION-$key
	if [ ! -x "$dir/k8s" ]; then
		log "building Kubernetes $K8S_VERSION (cold: tens of CPU-minutes) into $dir"
		mkdir -p "$dir.tmp"
		local ld="-s -w" p
		for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=34 -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
		done
		(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly timed k8s-build nice -n 15 go build -trimpath -ldflags "$ld" -o "$dir.tmp/k8s" .) >&2
		rm -rf "$dir" && mv "$dir.tmp" "$dir"
	fi
	echo "$dir/k8s"
}

# pause_bin prints the static pause binary (test/cluster/pause/pause.c).
pause_bin() {
	local src=$CLUSTER_ROOT/test/cluster/pause/pause.c key dir
	key=$(sha256sum "$src" | cut -c1-12)
	dir=$CACHE/pause-$key
	if [ ! -x "$dir/pause" ]; then
		mkdir -p "$dir"
		nice -n 15 gcc -static -O2 -Wall -o "$dir/pause.tmp" "$src"
		mv "$dir/pause.tmp" "$dir/pause"
	fi
	echo "$dir/pause"
}

# pack_images SPEC OUT: build and push the images SPEC lists (see
# test/cluster/images), writing "reference reference@digest" lines to OUT.
pack_images() {
	# The Makefile's build tags: the main module needs them.
	(cd "$CLUSTER_ROOT" && CLUSTER_IMAGES_SPEC=$1 CLUSTER_IMAGES_OUT=$2 CGO_ENABLED=1 \
		GOFLAGS=-tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper \
		nice -n 15 go test -count=1 -run '^TestPack$' ./test/cluster/images) >&2
}

# digest_of OUT REFERENCE prints REFERENCE@digest from pack_images' OUT.
digest_of() { awk -v r="$2" '$1 == r {print $2}' "$1"; }

kubectl() { "$KUBECTL" --kubeconfig "$STATE/admin.kubeconfig" "$@"; }

# module_dir MODULE@VERSION prints the module's source directory (downloaded
# through the Go module proxy).
module_dir() {
	local out
	out=$(cd "$CLUSTER_ROOT/test/cluster/k8s" && GOFLAGS=-mod=mod go mod download -json "$1") || die "go mod download $1"
	awk -F'"' '$2 == "Dir" {print $4}' <<<"$out"
}

# ko_images NAME MODULE@VERSION BINS CMDS: what `ko resolve` does for the
# commands MODULE/cmd/CMD (CMDS space-separated, each built as BINS/CMD):
# each packed at /ko-app/CMD as the image $REGISTRY/tektoncd/.../CMD:VERSION
# (MODULE's path without its host) and pushed to the cluster's registry,
# spec and references in $STATE/images/NAME.*. Sets KO_SED_ARGS, the sed
# expressions that replace each ko://MODULE/cmd/CMD with its image's digest.
ko_images() {
	local name=$1 module=${2%@*} version=${2#*@} bins=$3 cmds=$4 out=$STATE/images/$1 c ref digest
	: >"$out.spec"
	for c in $cmds; do
		echo "ko $REGISTRY/${module#*/}/$c:$version $bins/$c" >>"$out.spec"
	done
	timed "pack-$name-images" pack_images "$out.spec" "$out.out"
	KO_SED_ARGS=()
	for c in $cmds; do
		ref=$REGISTRY/${module#*/}/$c:$version
		digest=$(digest_of "$out.out" "$ref")
		[ -n "$digest" ] || die "no image $ref in $out.out"
		# A reference ends at a quote or at the end of the line: cmd/CMD is
		# not to match the start of a longer command's name.
		KO_SED_ARGS+=(-e "s|ko://$module/cmd/$c\"|$digest\"|g" -e "s|ko://$module/cmd/$c\$|$digest|g")
	done
}

# release_config MODULE@VERSION DEST SED_ARGS...: the module's config/ (what
# its release resolves with `ko resolve -R -f config/`) copied to DEST,
# writable, with SED_ARGS applied to every YAML file in it; dies when a
# ko:// reference is left (an image SED_ARGS did not replace).
release_config() {
	local src cfg=$2
	src=$(module_dir "$1")
	shift 2
	rm -rf "$cfg" && mkdir -p "$(dirname "$cfg")" && cp -r "$src/config" "$cfg" && chmod -R u+w "$cfg"
	find "$cfg" -name '*.yaml' -exec sed -i "$@" {} +
	if grep -rn 'ko://' "$cfg"; then die "ko:// references left in $cfg"; fi
}

# tekton_bins prints the directory of Tekton Pipelines' binaries (every
# cmd/* of the module), building them into the cache the first time. The
# module's own directory is the build directory: its go.mod's replace
# directives apply.
TEKTON_CMDS="controller webhook entrypoint nop sidecarlogresults workingdirinit resolvers events"
tekton_bins() {
	local dir=$CACHE/tekton-pipeline-$TEKTON_VERSION src c pkgs=()
	if [ ! -f "$dir/.done" ]; then
		src=$(module_dir "github.com/tektoncd/pipeline@$TEKTON_VERSION")
		log "building Tekton Pipelines $TEKTON_VERSION ($TEKTON_CMDS) into $dir"
		rm -rf "$dir" && mkdir -p "$dir"
		for c in $TEKTON_CMDS; do pkgs+=("./cmd/$c"); done
		(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly timed tekton-build nice -n 15 go build -trimpath -ldflags "-s -w" -o "$dir/" "${pkgs[@]}") >&2
		touch "$dir/.done"
	fi
	echo "$dir"
}

# chains_bins prints the directory of Tekton Chains' controller, building it
# into the cache the first time, inside a writable copy of its module (its
# go.mod's replace directives apply; go may need to complete go.sum).
chains_bins() {
	local dir=$CACHE/tekton-chains-$CHAINS_VERSION src
	if [ ! -f "$dir/.done" ]; then
		src=$(module_dir "github.com/tektoncd/chains@$CHAINS_VERSION")
		log "building Tekton Chains $CHAINS_VERSION into $dir"
		rm -rf "$dir" && mkdir -p "$dir/src"
		cp -r "$src/." "$dir/src" && chmod -R u+w "$dir/src"
		(cd "$dir/src" && CGO_ENABLED=0 GOFLAGS=-mod=mod GONOSUMDB=github.com/tektoncd/chains \
			timed chains-build nice -n 15 go build -trimpath -ldflags "-s -w" -o "$dir/controller" ./cmd/controller) >&2
		touch "$dir/.done"
	fi
	echo "$dir"
}
