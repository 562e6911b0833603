#!/usr/bin/env bash
# scripts/cluster/down.sh: stop the cluster scripts/cluster/up.sh started and
# remove what it made: its pods' containers (through their runc root), every
# process it started (by the pids it recorded), mounts under its state
# directory, the kubelet's cgroups, the network namespaces containerd made,
# kube-proxy's iptables rules, the bridge; ip_forward is restored. The state
# directory goes too unless KEEP_STATE=1 (up.sh keeps it when it fails, for
# its logs). Safe to run twice.
. "$(dirname "$0")/lib.sh"
set +e

STATE=$(state_dir)
if [ -z "$STATE" ] || [ ! -d "$STATE" ]; then
	log "no cluster is up"
	rm -f "$POINTER"
	exit 0
fi
log "stopping the cluster in $STATE"
KUBECTL=$STATE/bin/kubectl

# Pods first, through the kubelet while it still runs: their sandboxes'
# networks and namespaces go the ordinary way.
if [ -f "$STATE/pids/kubelet" ] && kill -0 "$(cat "$STATE/pids/kubelet")" 2>/dev/null; then
	timeout 20 "$KUBECTL" --kubeconfig "$STATE/admin.kubeconfig" delete pods --all -A --grace-period=1 --wait=false >/dev/null 2>&1
	for ((i = 0; i < 30; i++)); do
		[ -z "$(ls "$STATE/runc/k8s.io" 2>/dev/null)" ] && break
		sleep 1
	done
fi
stop kube-proxy
stop kubelet
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd

# Whatever containers are left: killed and deleted through their runc root.
if [ -d "$STATE/runc/k8s.io" ]; then
	for id in $(ls "$STATE/runc/k8s.io"); do
		runc --root "$STATE/runc/k8s.io" kill "$id" KILL 2>/dev/null
		runc --root "$STATE/runc/k8s.io" delete --force "$id" 2>/dev/null
	done
fi
stop containerd
# The shims of this containerd (their command line names its socket).
for p in /proc/[0-9]*; do
	if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "-address $STATE/containerd/containerd.sock"; then
		kill -KILL "${p#/proc/}" 2>/dev/null
	fi
done
stop gitserver
stop registry

# Mounts under the state directory (overlay root filesystems, shm, volumes),
# deepest first; then the network namespaces containerd made.
awk -v s="$STATE/" 'index($2, s) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
	umount "$m" 2>/dev/null || umount -l "$m"
done
for ns in $(ls /run/netns 2>/dev/null); do
	if ! grep -qx "$ns" "$STATE/netns.before" 2>/dev/null && [[ $ns == cni-* ]]; then
		umount "/run/netns/$ns" 2>/dev/null
		rm -f "/run/netns/$ns"
	fi
done
# The kubelet's cgroups (cgroupfs driver: kubepods under each hierarchy).
for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
	[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done

# kube-proxy's iptables chains and rules, then the bridge and ip_forward.
if [ -x "$STATE/bin/kube-proxy" ]; then
	"$STATE/bin/kube-proxy" --cleanup >"$STATE/logs/kube-proxy-cleanup.log" 2>&1
fi
# The kubelet's KUBE-FIREWALL chain (kube-proxy --cleanup leaves it).
for ipt in iptables ip6tables; do
	if "$ipt" -w -t filter -L KUBE-FIREWALL -n >/dev/null 2>&1; then
		"$ipt" -w -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null
		"$ipt" -w -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null
		"$ipt" -w -t filter -F KUBE-FIREWALL
		"$ipt" -w -t filter -X KUBE-FIREWALL
	fi
done
ip link del "$BRIDGE" 2>/dev/null
[ -f "$STATE/ip_forward.before" ] && cat "$STATE/ip_forward.before" >/proc/sys/net/ipv4/ip_forward

rm -f "$POINTER"
if [ "${KEEP_STATE:-}" = 1 ]; then
	log "stopped; state kept in $STATE"
else
	rm -rf "$STATE"
	log "stopped"
fi
