#!/usr/bin/env bash
# scripts/cluster/up.sh: a single-node Kubernetes cluster on this machine,
# for the cluster test (issue 14). As root. docs/cluster-dev.md says more.
#
# It builds (or takes from /var/cache/trustline-cluster) Kubernetes as one
# multi-call binary (test/cluster/k8s), makes a bridge (tlbr0, 10.231.0.1/16),
# starts Debian's docker-registry on the bridge address, pushes a pause and a
# busybox image built here, makes a CA and every certificate, then starts
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd
# (its own root, state, socket; cgroupfs), the kubelet (cgroupfs, bridge CNI)
# and kube-proxy (iptables, its rules removed by down.sh), waits for the node
# to be Ready and runs a busybox pod to completion.
#
# State (config, certificates, logs, data) lives in a temporary directory,
# recorded in /run/trustline-cluster.dir; it prints the admin kubeconfig.
# scripts/cluster/down.sh stops everything and removes what this made; a
# failed up.sh runs it itself.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root"
if [ -n "$(state_dir)" ] && [ -d "$(state_dir)" ]; then
	die "a cluster is up ($(state_dir)): scripts/cluster/down.sh first"
fi

need=()
for p in etcd:etcd-server containerd:containerd runc:runc docker-registry:docker-registry \
	/usr/lib/cni/bridge:containernetworking-plugins /bin/busybox:busybox-static openssl:openssl gcc:gcc \
	python3:python3 curl:curl; do
	command -v "${p%%:*}" >/dev/null || need+=("${p#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
fi

T0=$(date +%s)
STATE=$(mktemp -d /tmp/trustline-cluster.XXXXXX)
echo "$STATE" >"$POINTER"
trap 'log "up failed: tearing down (logs kept: $STATE/logs)"; KEEP_STATE=1 "$CLUSTER_ROOT/scripts/cluster/down.sh"' EXIT
mkdir -p "$STATE"/{bin,logs,pids,pki,etcd,registry,cni/net.d,containerd,kubelet,pod-logs,images}
ls /run/netns 2>/dev/null >"$STATE/netns.before" || true
cat /proc/sys/net/ipv4/ip_forward >"$STATE/ip_forward.before"

# --- binaries ----------------------------------------------------------------
K8S=${K8S_BIN:-$(k8s_bin)} # K8S_BIN: a multi-call binary built elsewhere
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
	ln -s "$K8S" "$STATE/bin/$c"
done
KUBECTL=$STATE/bin/kubectl
PAUSE=$(pause_bin)

# --- network: the bridge pods and the registry share ---------------------------
ip link add "$BRIDGE" type bridge
ip addr add "$BRIDGE_IP/16" dev "$BRIDGE"
ip link set "$BRIDGE" up
cat >"$STATE/cni/net.d/10-trustline.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "trustline",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "10.231.1.1", "gateway": "$BRIDGE_IP"}]],
              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$STATE/cni/ipam"}},
    {"type": "loopback"}
  ]
}
EOF

# --- registry ------------------------------------------------------------------
cat >"$STATE/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $STATE/registry}
  delete: {enabled: true}
http: {addr: "$REGISTRY"}
EOF
start registry docker-registry serve "$STATE/registry.yml"
ready 30 registry curl -fsS "http://$REGISTRY/v2/"

cat >"$STATE/images/base.spec" <<EOF
pause $REGISTRY/trustline/pause:latest $PAUSE
busybox $REGISTRY/trustline/busybox:latest /bin/busybox
EOF
timed pack-base-images pack_images "$STATE/images/base.spec" "$STATE/images/base.out"
PAUSE_IMAGE=$REGISTRY/trustline/pause:latest
BUSYBOX_IMAGE=$(digest_of "$STATE/images/base.out" "$REGISTRY/trustline/busybox:latest")

# --- certificates ----------------------------------------------------------------
pki=$STATE/pki
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=trustline-cluster-ca \
	-keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
# cert NAME SUBJECT [SANS]: a key and a certificate the CA signs.
cert() {
	local ext="$pki/$1.ext"
	printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth,serverAuth\n' >"$ext"
	[ -z "${3:-}" ] || echo "subjectAltName=$3" >>"$ext"
	openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
	openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 2 -extfile "$ext" -out "$pki/$1.crt" 2>/dev/null
}
cert apiserver /CN=kube-apiserver \
	"IP:$BRIDGE_IP,IP:$SERVICE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert admin "/O=system:masters/CN=admin"
cert controller-manager /CN=system:kube-controller-manager
cert scheduler /CN=system:kube-scheduler
cert kubelet "/O=system:nodes/CN=system:node:$NODE" "IP:$BRIDGE_IP,DNS:$NODE"
cert kube-proxy /CN=system:kube-proxy
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
# kubeconfig NAME: a kubeconfig for the certificate NAME.
kubeconfig() {
	cat >"$STATE/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: trustline
  cluster: {server: "$APISERVER", certificate-authority: "$pki/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$pki/$1.crt", client-key: "$pki/$1.key"}
contexts:
- name: trustline
  context: {cluster: trustline, user: $1}
current-context: trustline
EOF
}
for k in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig $k; done

# --- containerd (first: it needs nothing of the control plane) ----------------------
ctrd=$STATE/containerd
cat >"$ctrd/config.toml" <<EOF
version = 2
root = "$ctrd/root"
state = "$ctrd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$ctrd/containerd.sock"
[ttrpc]
  address = "$ctrd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # This machine forbids a negative oom_score_adj (runc fails the kubelet's
  # -998 for sandboxes): clamp to containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$STATE/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$REGISTRY"]
    endpoint = ["http://$REGISTRY"]
EOF
start containerd containerd --config "$ctrd/config.toml"
ready 30 containerd ctr --address "$ctrd/containerd.sock" version

# --- control plane -----------------------------------------------------------------
start etcd etcd --name default --data-dir "$STATE/etcd" \
	--listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
	--listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
	--initial-cluster default=http://127.0.0.1:23800
ready 30 etcd curl -fsS "$ETCD/health"

start kube-apiserver "$STATE/bin/kube-apiserver" \
	--etcd-servers="$ETCD" \
	--bind-address="$BRIDGE_IP" --advertise-address="$BRIDGE_IP" --secure-port=6443 \
	--tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
	--client-ca-file="$pki/ca.crt" \
	--kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
	--service-cluster-ip-range="$SERVICE_CIDR" \
	--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
	--allow-privileged=true --enable-aggregator-routing=true \
	--kubelet-preferred-address-types=InternalIP \
	--profiling=false
ready 180 kube-apiserver kubectl get --raw /readyz
log "kube-apiserver: $(kubectl version -o json | awk -F'"' '/gitVersion/ {print $4; exit}')"

start kube-controller-manager "$STATE/bin/kube-controller-manager" \
	--kubeconfig="$STATE/controller-manager.kubeconfig" \
	--authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
	--authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
	--bind-address=127.0.0.1 \
	--service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
	--cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
	--use-service-account-credentials=true --service-cluster-ip-range="$SERVICE_CIDR" \
	--leader-elect=false --profiling=false
start kube-scheduler "$STATE/bin/kube-scheduler" \
	--kubeconfig="$STATE/scheduler.kubeconfig" \
	--authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
	--authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
	--bind-address=127.0.0.1 --leader-elect=false --profiling=false

# --- node: kubelet, kube-proxy ----------------------------------------------------------
cat >"$STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $BRIDGE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://$ctrd/containerd.sock
podLogsDir: $STATE/pod-logs
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 100
serializeImagePulls: false
protectKernelDefaults: false
makeIPTablesUtilChains: false
localStorageCapacityIsolation: false
EOF
start kubelet "$STATE/bin/kubelet" --config="$STATE/kubelet.yaml" \
	--kubeconfig="$STATE/kubelet.kubeconfig" --root-dir="$STATE/kubelet" \
	--hostname-override="$NODE" --node-ip="$BRIDGE_IP"

cat >"$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
hostnameOverride: $NODE
bindAddress: $BRIDGE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $POD_CIDR
mode: iptables
# Service traffic is masqueraded to the bridge address, so replies come back
# through the host (no br_netfilter needed for pod→service→pod).
iptables: {masqueradeAll: true, localhostNodePorts: false}
nodePortAddresses: ["$BRIDGE_IP/32"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
start kube-proxy "$STATE/bin/kube-proxy" --config="$STATE/kube-proxy.yaml"

for p in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy registry; do alive $p; done
ready 180 kubelet kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
log "node $NODE Ready after $(($(date +%s) - T0))s"

# --- smoke test: a pod from a locally built image runs to completion -----------------
wait_for 60 "default service account" kubectl get serviceaccount default
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: smoke, namespace: default}
spec:
  restartPolicy: Never
  containers:
  - name: smoke
    image: $BUSYBOX_IMAGE
    command: [sh, -c, 'echo "smoke: hello from \$(hostname)"; wget -qO- --no-check-certificate https://$SERVICE_IP/healthz && echo " (the API through the kubernetes service)"']
EOF
t=$(date +%s)
for ((i = 0; ; i++)); do
	phase=$(kubectl get pod smoke -o jsonpath='{.status.phase}')
	[ "$phase" = Succeeded ] && break
	if [ "$phase" = Failed ] || ((i >= 180)); then
		kubectl describe pod smoke >&2
		kubectl logs smoke >&2 || true
		die "smoke pod: $phase"
	fi
	sleep 1
done
kubectl logs smoke >&2
kubectl delete pod smoke --wait=false >/dev/null
log "smoke pod Succeeded in $(($(date +%s) - t))s; cluster up in $(($(date +%s) - T0))s"
trap - EXIT
echo "export KUBECONFIG=$STATE/admin.kubeconfig PATH=$STATE/bin:\$PATH"
