#!/usr/bin/env bash
# Run a command with the host's container tooling hidden, as on a machine
# that never had podman, buildah, netavark, CNI plugins or /etc/containers.
#
#   scripts/hidden-host.sh go test ./internal/build/...
#   scripts/hidden-host.sh --self-test [COMMAND...]
#
# The command runs in a private mount namespace (unshare -m, as root) where
#   - an empty tmpfs covers every helper directory buildah and podman search
#     (/usr/lib/podman, /usr/libexec/podman, CNI plugin directories, ...);
#   - /etc/containers and /usr/share/containers, where they exist, hold only
#     files that cannot be parsed (containers.conf, storage.conf,
#     registries.conf, policy.json): code that reads the host's containers
#     configuration fails instead of passing by luck;
#   - every buildah/podman/netavark/crun/runc/conmon/... binary on PATH is
#     covered by an empty, non-executable file.
# Nothing changes outside that namespace.
#
# --self-test proves the hiding works: in a namespace of its own it fakes a
# host with that tooling installed (overlays over /usr and /etc, so the
# real host is untouched), checks that the fakes are visible there, then
# checks from inside the hidden view that none of them is; then it runs
# COMMAND, if given, in that hidden view (so /etc/containers and
# /usr/share/containers exist there, filled with unparsable files, even on
# a host that has neither).
set -euo pipefail

hidden_dirs=(
	/usr/lib/podman /usr/libexec/podman /usr/local/lib/podman /usr/local/libexec/podman
	/usr/lib/cni /usr/libexec/cni /opt/cni /etc/cni /etc/containers/networks
	/etc/containers /usr/share/containers
)
hidden_bins=(buildah podman netavark aardvark-dns crun runc crun-wasm conmon conmon-rs slirp4netns pasta fuse-overlayfs)
config_files=(containers.conf storage.conf registries.conf policy.json mounts.conf)

die() { echo "hidden-host: $*" >&2; exit 2; }

# hide runs inside the private namespace.
hide() {
	local d b dir f poison
	for d in "${hidden_dirs[@]}"; do
		[[ -d $d ]] || continue
		mount -t tmpfs -o size=1m,mode=0755 hidden-host "$d"
		case $d in
		/etc/containers | /usr/share/containers)
			for f in "${config_files[@]}"; do
				echo "[[[ hidden-host.sh: the host's $d/$f must not be read" >"$d/$f"
			done
			;;
		esac
	done
	poison=$(mktemp -d)
	mount -t tmpfs -o size=1m hidden-host "$poison"
	: >"$poison/not-here"
	chmod 0644 "$poison/not-here"
	IFS=: read -ra path <<<"$PATH"
	for dir in "${path[@]}" /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
		for b in "${hidden_bins[@]}"; do
			f=$dir/$b
			if [[ -e $f && ! -e "$f.hidden-host" ]]; then
				mount --bind "$poison/not-here" "$f"
			fi
		done
	done
}

# check fails if any of the tooling is still in sight.
check() {
	local d b f dir bad=0 path
	# As exec.LookPath and execvp look: an executable file on PATH (bash's
	# `command -v` would also report a non-executable one).
	IFS=: read -ra path <<<"$PATH"
	for dir in "${path[@]}"; do
		for b in "${hidden_bins[@]}"; do
			f=$dir/$b
			if [[ -f $f && -x $f ]]; then
				echo "hidden-host: $b is still on PATH: $f" >&2
				bad=1
			fi
		done
	done
	for d in "${hidden_dirs[@]}"; do
		[[ -d $d ]] || continue
		for f in "$d"/* "$d"/.[!.]*; do
			[[ -e $f ]] || continue
			case $d:${f##*/} in
			/etc/containers:* | /usr/share/containers:*)
				grep -q '^\[\[\[ hidden-host.sh' "$f" 2>/dev/null && continue ;;
			esac
			echo "hidden-host: $f is still visible" >&2
			bad=1
		done
	done
	return $bad
}

self_test() {
	local tmp top fake
	tmp=$(mktemp -d)
	mount -t tmpfs -o size=16m hidden-host-self-test "$tmp"
	# A fake "host with container tooling": overlays keep /usr and /etc
	# readable and take the new files, in this namespace only. Mounts below
	# them (a container's /etc/resolv.conf, say) are put back on top.
	local keep=() m i=0
	mkdir -p "$tmp/keep"
	while read -r m; do
		[[ $m == /usr || $m == /etc ]] && continue
		if [[ -d $m ]]; then mkdir "$tmp/keep/$i"; else : >"$tmp/keep/$i"; fi
		mount --bind "$m" "$tmp/keep/$i"
		keep+=("$m")
		i=$((i + 1))
	done < <(findmnt -rn -o TARGET | grep -E '^/(usr|etc)(/|$)' || true)
	for top in usr etc; do
		mkdir -p "$tmp/$top/upper" "$tmp/$top/work"
		mount -t overlay overlay -o "lowerdir=/$top,upperdir=$tmp/$top/upper,workdir=$tmp/$top/work" "/$top"
	done
	for i in "${!keep[@]}"; do
		mount --bind "$tmp/keep/$i" "${keep[$i]}"
	done
	mkdir -p /usr/libexec/podman /usr/lib/cni /etc/containers /usr/share/containers
	fake='#!/bin/sh
echo "fake $0 ran" >&2; exit 99'
	for f in /usr/libexec/podman/netavark /usr/lib/cni/bridge /usr/local/bin/netavark /usr/local/bin/podman /usr/bin/buildah /usr/bin/crun; do
		printf '%s\n' "$fake" >"$f"
		chmod 0755 "$f"
	done
	echo '[engine]' >/etc/containers/containers.conf
	echo '{"default":[{"type":"reject"}]}' >/etc/containers/policy.json
	echo '[storage]' >/usr/share/containers/storage.conf
	if check 2>/dev/null; then
		die "self-test: the fake tooling is not visible before hiding"
	fi
	[[ $(netavark 2>&1) == *"fake "*"netavark ran"* ]] || die "self-test: no fake netavark on PATH"
	# The hidden view of that host.
	unshare --mount --propagation private "$0" --inside --check-only
	echo "hidden-host: self-test passed: fake netavark, CNI plugins, podman, buildah, crun and /etc/containers were visible, and none was once hidden" >&2
	if [[ $# -gt 0 ]]; then
		echo "hidden-host: running $* with that tooling hidden (and unparsable files in /etc/containers, /usr/share/containers)" >&2
		exec unshare --mount --propagation private "$0" --inside "$@"
	fi
}

[[ $(id -u) == 0 ]] || die "needs root (a private mount namespace)"
case ${1:-} in
--inside)
	shift
	hide
	check || die "the host's container tooling is still visible"
	if [[ ${1:-} == --check-only ]]; then exit 0; fi
	exec "$@"
	;;
--self-test)
	shift
	exec unshare --mount --propagation private "$0" --self-test-inside "$@"
	;;
--self-test-inside)
	shift
	self_test "$@"
	;;
"" | -h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
*)
	exec unshare --mount --propagation private "$0" --inside "$@"
	;;
esac
